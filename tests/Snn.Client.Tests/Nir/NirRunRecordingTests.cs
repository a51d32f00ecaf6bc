using System.Text.Json;
using Snn.Client.Nir;
using Snn.Protos.V1;
using Snn.Server.Tests.Nir;

namespace Snn.Client.Tests.Nir;

/// <summary>
/// A run's spikes and state traces written as NIR data (NIRGraphData) and read back by h5py the way
/// nir.read_data reads them (read_nir_data.py): node and observable types, EventData's idx, time,
/// n_neurons and t_max (ValuedEventData for graded spikes), TimeGriddedData's (1, steps, neurons) float32
/// data and dt.
/// </summary>
public sealed class NirRunRecordingTests : IDisposable
{
    private const double Dt = 0.001;
    private const ulong First = 100;

    private readonly string _directory = Directory.CreateTempSubdirectory("snn-nir-data-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static readonly Dictionary<string, int> Sizes = new() { ["hidden"] = 5, ["out"] = 6, ["quiet"] = 2 };

    private static RunOpened Opened() => new()
    {
        Network = "net",
        Step = First,
        SpikePopulations = { "hidden", "out", "quiet" },
        Records =
        {
            new RecordSpec { Population = "hidden", Variables = { "v", "i" }, Range = new IndexRange { Start = 0, End = 3 } },
            new RecordSpec { Population = "out", Variables = { "v" }, Indices = new IndexList { Values = { 1, 4 } }, Every = 2 },
        },
    };

    /// <summary>Steps 99 (before the first: ignored) to 104; hidden spikes plainly, out sends one graded spike.</summary>
    private static IEnumerable<StepOutput> Steps()
    {
        for (ulong s = 99; s <= 104; s++)
        {
            var step = new StepOutput { Step = s };
            int[] hidden = s switch { 99 => [3], 100 => [0, 2], 102 => [1], 104 => [0], _ => [] };
            if (hidden.Length > 0)
                step.Spikes.Add(new PopulationSpikes { Population = 0, Indices = { hidden.Select(i => (uint)i) } });
            if (s == 101)
                step.Spikes.Add(new PopulationSpikes { Population = 1, Indices = { 0 } });
            if (s == 103)
                step.Spikes.Add(new PopulationSpikes { Population = 1, Indices = { 4 }, Values = { 2.5f } });
            step.States.Add(new StateTrace { Record = 0, Variable = "v", Values = { s * 0.5f, s * 0.25f, -1f / s } });
            step.States.Add(new StateTrace { Record = 0, Variable = "i", Values = { s, 0, 1f / 3 } });
            if (s % 2 == 0)
                step.States.Add(new StateTrace { Record = 1, Variable = "v", Values = { s + 0.125f, -(float)s } });
            yield return step;
        }
    }

    private JsonElement WriteAndRead(NirRunRecording recording)
    {
        var path = Path.Combine(_directory, "run.nir");
        foreach (var step in Steps())
            recording.Add(step);
        recording.Write(path);
        return JsonDocument.Parse(NirPython.Run("read_nir_data.py", path)).RootElement;
    }

    [Fact]
    public void Spikes_and_traces_read_back_as_nir_read_data_reads_them()
    {
        var nodes = WriteAndRead(new NirRunRecording(Opened(), Sizes, Dt, First));

        Assert.Equal(["hidden", "out", "quiet"], nodes.EnumerateObject().Select(p => p.Name).Order());
        var hidden = nodes.GetProperty("hidden");
        Assert.Equal(["i", "spikes", "v"], hidden.EnumerateObject().Select(p => p.Name).Order());
        AssertEvents(hidden.GetProperty("spikes"), "EventData", [0, 2, 1, 0], [0, 0, 2, 4], neurons: 5);

        var outSpikes = nodes.GetProperty("out").GetProperty("spikes");
        AssertEvents(outSpikes, "ValuedEventData", [0, 4], [1, 3], neurons: 6);
        AssertArray(outSpikes.GetProperty("value"), "float32", [1, 2], [1.0, 2.5]);
        AssertEvents(nodes.GetProperty("quiet").GetProperty("spikes"), "EventData", [], [], neurons: 2);

        var steps = Enumerable.Range(100, 5).Select(s => (float)s).ToArray();
        AssertGrid(hidden.GetProperty("v"), Dt, [1, 5, 3], steps.SelectMany(s => new[] { s * 0.5f, s * 0.25f, -1f / s }));
        AssertGrid(hidden.GetProperty("i"), Dt, [1, 5, 3], steps.SelectMany(s => new[] { s, 0, 1f / 3 }));
        // Recorded every second step: dt is twice the network's.
        AssertGrid(nodes.GetProperty("out").GetProperty("v"), 2 * Dt, [1, 3, 2], new[] { 100f, 102f, 104f }.SelectMany(s => new[] { s + 0.125f, -s }));
    }

    [Fact]
    public void Records_before_the_first_kept_are_left_to_their_owner()
    {
        var nodes = WriteAndRead(new NirRunRecording(Opened(), Sizes, Dt, First, firstRecord: 1));

        Assert.Equal(["spikes"], nodes.GetProperty("hidden").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["spikes", "v"], nodes.GetProperty("out").EnumerateObject().Select(p => p.Name).Order());
    }

    [Fact]
    public void A_long_recording_is_written_in_many_chunks_and_reads_back_whole()
    {
        const int steps = 4000, neurons = 80; // 320 000 values: five chunks of the time axis, the last one partial
        var opened = new RunOpened { SpikePopulations = { "big" }, Records = { new RecordSpec { Population = "big", Variables = { "v" } } } };
        var recording = new NirRunRecording(opened, new Dictionary<string, int> { ["big"] = neurons }, Dt, 0);
        for (var s = 0; s < steps; s++)
        {
            var step = new StepOutput { Step = (ulong)s, Spikes = { new PopulationSpikes { Population = 0, Indices = { (uint)(s % neurons) } } } };
            step.States.Add(new StateTrace { Record = 0, Variable = "v", Values = { Enumerable.Range(0, neurons).Select(n => s + n / 128f) } });
            recording.Add(step);
        }

        var path = Path.Combine(_directory, "long.nir");
        recording.Write(path);
        using var json = JsonDocument.Parse(NirPython.Run("read_nir_data.py", path));

        var big = json.RootElement.GetProperty("big");
        var data = big.GetProperty("v").GetProperty("data");
        Assert.Equal([1, steps, neurons], data.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        var values = data.GetProperty("values").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
        Assert.Equal(Enumerable.Range(0, steps).SelectMany(s => Enumerable.Range(0, neurons).Select(n => s + n / 128f)), values);
        var idx = big.GetProperty("spikes").GetProperty("idx").GetProperty("values").EnumerateArray().Select(v => v.GetInt32());
        Assert.Equal(Enumerable.Range(0, steps).Select(s => s % neurons), idx);
    }

    [Fact]
    public void A_trace_whose_width_changes_is_refused()
    {
        var recording = new NirRunRecording(Opened(), Sizes, Dt, First);
        recording.Add(new StepOutput { Step = First, States = { new StateTrace { Record = 0, Variable = "v", Values = { 1, 2, 3 } } } });

        var e = Assert.Throws<InvalidDataException>(() =>
            recording.Add(new StepOutput { Step = First + 1, States = { new StateTrace { Record = 0, Variable = "v", Values = { 1, 2 } } } }));
        Assert.Contains("has 2 values, earlier steps 3", e.Message);
    }

    private static void AssertEvents(JsonElement events, string type, long[] idx, int[] stepsAfterFirst, int neurons)
    {
        Assert.Equal(type, events.GetProperty("type").GetString());
        AssertArray(events.GetProperty("idx"), "int64", [1, idx.Length], idx.Select(i => (double)i));
        AssertArray(events.GetProperty("time"), "float64", [1, idx.Length], stepsAfterFirst.Select(s => s * Dt));
        Assert.Equal(neurons, events.GetProperty("n_neurons").GetInt32());
        Assert.Equal(5 * Dt, events.GetProperty("t_max").GetDouble());
    }

    private static void AssertGrid(JsonElement grid, double dt, int[] shape, IEnumerable<float> values)
    {
        Assert.Equal("TimeGriddedData", grid.GetProperty("type").GetString());
        Assert.Equal(dt, grid.GetProperty("dt").GetDouble());
        AssertArray(grid.GetProperty("data"), "float32", shape, values.Select(v => (double)v));
    }

    private static void AssertArray(JsonElement array, string dtype, int[] shape, IEnumerable<double> values)
    {
        Assert.Equal(dtype, array.GetProperty("dtype").GetString());
        Assert.Equal(shape, array.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal(values, array.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()));
    }
}
