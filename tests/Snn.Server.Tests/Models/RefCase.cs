using System.Globalization;
using System.Text.Json;
using Snn.Server.Models;

namespace Snn.Server.Tests.Models;

/// <summary>One reference trace (SEMANTICS.md §5), numbers parsed as float32.</summary>
internal sealed class RefCase
{
    private RefCase(string name, JsonElement root)
    {
        Name = name;
        Root = root;
        Library = root.GetProperty("library").GetString()!;
        LibraryModel = root.GetProperty("model").GetString()!;
        var shape = root.GetProperty("shape");
        Batch = shape.GetProperty("batch").GetInt32();
        Time = shape.GetProperty("time").GetInt32();
        Neurons = shape.GetProperty("neurons").GetInt32();
        Input = Cube(root.GetProperty("input"));
        Spikes = Cube(root.GetProperty("spikes"));
        foreach (var s in root.GetProperty("states").EnumerateObject())
        {
            States[s.Name] = Cube(s.Value);
        }
    }

    public string Name { get; }

    public JsonElement Root { get; }

    public string Library { get; }

    public string LibraryModel { get; }

    public int Batch { get; }

    public int Time { get; }

    public int Neurons { get; }

    /// <summary>[batch][time][neuron].</summary>
    public float[][][] Input { get; }

    public float[][][] Spikes { get; }

    public Dictionary<string, float[][][]> States { get; } = [];

    /// <summary>Traces the libraries themselves produced (SEMANTICS.md).</summary>
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "data", "refcases");

    /// <summary>
    /// Traces of models no library run covers yet, from the NumPy float32 transcription of the library
    /// source in Models/transcribed_reference.py; their names start with <see cref="TranscribedPrefix"/>.
    /// </summary>
    public static string TranscribedDirectory => Path.Combine(AppContext.BaseDirectory, "data", "transcribed");

    public const string TranscribedPrefix = "transcribed/";

    /// <summary>Every case: the library traces, then the transcribed ones (prefixed).</summary>
    public static IEnumerable<string> Names() =>
        Files(Directory).Concat(Files(TranscribedDirectory).Select(n => TranscribedPrefix + n));

    private static IEnumerable<string> Files(string directory) =>
        System.IO.Directory.GetFiles(directory, "*.json")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => n != "INDEX")
            .Order(StringComparer.Ordinal)!;

    private static string PathOf(string name) => name.StartsWith(TranscribedPrefix, StringComparison.Ordinal)
        ? Path.Combine(TranscribedDirectory, name[TranscribedPrefix.Length..] + ".json")
        : Path.Combine(Directory, name + ".json");

    private static readonly Dictionary<string, RefCase> s_cache = [];

    public static RefCase Load(string name)
    {
        lock (s_cache)
        {
            if (!s_cache.TryGetValue(name, out var c))
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(PathOf(name)));
                c = new RefCase(name, doc.RootElement.Clone());
                s_cache[name] = c;
            }

            return c;
        }
    }

    public static float F(JsonElement e) => e.ValueKind == JsonValueKind.Number
        ? float.Parse(e.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture)
        : throw new FormatException($"not a number: {e}");

    public static float[] Vector(JsonElement e) => e.EnumerateArray().Select(F).ToArray();

    public static float[][] Matrix(JsonElement e) => e.EnumerateArray().Select(Vector).ToArray();

    private static float[][][] Cube(JsonElement e) => e.EnumerateArray().Select(Matrix).ToArray();

    /// <summary>The catalogue model for this case.</summary>
    public string ServerModel => LibraryModel switch
    {
        "sinabs.layers.IAF" or "sinabs.layers.IAFRecurrent" => "sinabs.IAF",
        "sinabs.layers.LIF" or "sinabs.layers.LIFRecurrent" => "sinabs.LIF",
        "sinabs.layers.ALIF" or "sinabs.layers.ALIFRecurrent" => "sinabs.ALIF",
        "sinabs.layers.ExpLeak" => "sinabs.ExpLeak",
        "snntorch.Leaky" or "snntorch.Synaptic" or "snntorch.Alpha" or "snntorch.Lapicque" or "snntorch.RLeaky" or "snntorch.RSynaptic" => LibraryModel,
        _ when LibraryModel.StartsWith("norse.torch.IAFCell", StringComparison.Ordinal) => "norse.IAF",
        _ when LibraryModel.StartsWith("norse.torch.LIFCell", StringComparison.Ordinal) => "norse.LIF",
        _ when LibraryModel.StartsWith("norse.torch.LSNNCell", StringComparison.Ordinal) => "norse.LSNN",
        _ when LibraryModel.StartsWith("norse.torch.LIFAdExCell", StringComparison.Ordinal) => "norse.LIFAdEx",
        _ when LibraryModel.StartsWith("norse.torch.LIFBoxCell", StringComparison.Ordinal) => "norse.LIFBox",
        _ when LibraryModel.StartsWith("norse.torch.LIBoxCell", StringComparison.Ordinal) => "norse.LIBox",
        _ => throw new NotSupportedException(LibraryModel),
    };

    /// <summary>The case's constructor parameters as server parameters (the small mapping of this test).</summary>
    public Dictionary<string, ParamValue> ServerParams()
    {
        var result = new Dictionary<string, ParamValue>(StringComparer.Ordinal);
        string model = ServerModel;
        foreach (var p in Root.GetProperty("params").EnumerateObject())
        {
            string name = p.Name;
            var v = p.Value;
            switch (name)
            {
                // Backward-only, dtype notes, or expressed as the recurrent projection.
                case "spike_grad" or "state_quant" or "surrogate_grad_fn" or "train_alphas" or "rec_connect"
                    or "all_to_all" or "linear_features" or "adaptation_current_dtype":
                    continue;
                case "norm_input" when model == "sinabs.IAF":
                    continue;
                case "graded_spikes_factor" when model is "snntorch.Synaptic" or "snntorch.Alpha" or "snntorch.Lapicque":
                    Assert.Equal(1f, F(v));
                    continue;
                case "reset_fn":
                    result["reset_fn"] = ParamValue.Choice(v.GetProperty("type").GetString()!);
                    foreach (var inner in v.EnumerateObject())
                    {
                        if (inner.Name != "type" && inner.Value.ValueKind == JsonValueKind.Number)
                        {
                            result[inner.Name] = ParamValue.Number(inner.Value.GetDouble());
                        }
                    }

                    continue;
            }

            if (name.EndsWith("_arg", StringComparison.Ordinal))
            {
                name = name[..^4];
            }

            switch (v.ValueKind)
            {
                case JsonValueKind.Null:
                    break;
                case JsonValueKind.Number:
                    result[name] = ParamValue.Number(v.GetDouble());
                    break;
                case JsonValueKind.String:
                    result[name] = ParamValue.Choice(v.GetString()!);
                    break;
                case JsonValueKind.True or JsonValueKind.False:
                    result[name] = ParamValue.Switch(v.GetBoolean());
                    break;
                default:
                    throw new NotSupportedException($"{Name}: parameter {name} = {v}");
            }
        }

        if (Root.TryGetProperty("dt", out var dt) && dt.ValueKind == JsonValueKind.Number)
        {
            result["dt"] = ParamValue.Number(dt.GetDouble());
        }

        return result;
    }
}
