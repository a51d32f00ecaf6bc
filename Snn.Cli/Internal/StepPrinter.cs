using System.Globalization;
using Snn.Protos.V1;

namespace Snn.Cli.Internal;

/// <summary>
/// Prints Run/Watch responses one line per step: <c>step 12  lif: 3 17 42(2)</c>, a value in
/// parentheses where a spike is not 1; <c>step 13  -</c> for a step without spikes. Numbers are
/// formatted into a reused buffer and written straight to the (buffered) writer: a watcher of a
/// fast run prints hundreds of thousands of lines a second, and the commands flush once per response.
/// </summary>
internal sealed class StepPrinter(TextWriter output)
{
    private readonly char[] _number = new char[32];
    private IReadOnlyList<string> _populations = [];

    /// <summary>Traces of records from this index on are not printed (<c>run --nir-data</c> records them for the file).</summary>
    public int PrintedRecords { get; init; } = int.MaxValue;

    public void Opened(RunOpened opened, string what)
    {
        _populations = opened.SpikePopulations.ToList();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what} network '{opened.Network}' instance {opened.Instance} at step {opened.Step}; spikes from {(_populations.Count == 0 ? "(none)" : string.Join(", ", _populations))}"));
    }

    public void Step(StepOutput step)
    {
        output.Write("step ");
        Write(step.Step);
        output.Write(' ');
        if (step.Spikes.Count == 0)
        {
            output.Write(" -");
        }

        foreach (var spikes in step.Spikes)
        {
            output.Write(' ');
            output.Write(spikes.Population < _populations.Count ? _populations[(int)spikes.Population] : "#" + spikes.Population.ToString(CultureInfo.InvariantCulture));
            output.Write(':');
            for (int k = 0; k < spikes.Indices.Count; k++)
            {
                output.Write(' ');
                Write(spikes.Indices[k]);
                if (spikes.Values.Count > k && spikes.Values[k] != 1f)
                {
                    output.Write('(');
                    Write(spikes.Values[k]);
                    output.Write(')');
                }
            }
        }

        foreach (var state in step.States)
        {
            if (state.Record >= PrintedRecords)
            {
                continue;
            }

            output.Write(" [");
            output.Write(state.Variable);
            output.Write(':');
            foreach (var v in state.Values)
            {
                output.Write(' ');
                Write(v);
            }

            output.Write(']');
        }

        output.WriteLine();
    }

    public void Status(RunStatus status) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"status step {status.Step}: late inputs {status.LateInputs}, too early {status.InputsTooEarly}, overruns {status.Overruns}, lag {status.LagUs:0} us (max {status.MaxLagUs:0} us), dropped {status.Dropped}"));

    public void Dropped(ulong count) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"dropped {count} step(s)"));

    private void Write<T>(T value) where T : ISpanFormattable
    {
        value.TryFormat(_number, out int written, typeof(T) == typeof(float) ? "G6" : default, CultureInfo.InvariantCulture);
        output.Write(_number, 0, written);
    }
}
