using Snn.Protos.V1;
using Snn.Server.Nir.Flavors;

namespace Snn.Server.Nir;

/// <summary>One population of a neuron node's plan: its model, parameters, and a one-to-one scale on its input.</summary>
internal sealed record NirStage(string Suffix, string Model, Dictionary<string, ParameterValue> Params, float[]? InputScale = null);

/// <summary>What a neuron node becomes: populations in order; the last one gives the node's output.</summary>
internal sealed record NirNeuronPlan(IReadOnlyList<NirStage> Stages);

/// <summary>
/// A flavour: how one library's NIR importer turns each continuous-time node into a discrete module. The
/// subclasses hold each library's rules (tests/data/nir/flavors/RULES.md cites their sources); this base
/// holds what they share: Threshold, parameter values, refusals and notes.
/// </summary>
internal abstract class NirFlavorBase
{
    public static NirFlavorBase For(NirFlavor flavor) => flavor switch
    {
        NirFlavor.Snntorch => new SnntorchFlavor(),
        NirFlavor.Norse => new NorseFlavor(),
        NirFlavor.Sinabs => new SinabsFlavor(),
        _ => new GenericFlavor(),
    };

    public abstract string Name { get; }

    /// <summary>The graph-level line of the report: how this flavour uses dt.</summary>
    public abstract void Describe(NirImportOptions options, List<NirConversion> report);

    /// <summary>The pooling node as this library's importer builds it (norse drops the padding).</summary>
    public virtual NirPool2d Pool(NirPool2d pool, List<NirConversion> report) => pool;

    /// <summary>
    /// Whether this library's importer maps the operation (or Delay) node. One it does not map is still
    /// imported, exactly as NIR defines it, with a flagged line: the library itself would fail on the file.
    /// </summary>
    public virtual bool Supports(NirNode op) => true;

    /// <summary>Refuses a graph this library cannot run at all (sinabs: any cycle).</summary>
    public virtual void Check(NirFlatGraph graph)
    {
    }

    public NirNeuronPlan Map(NirNode node, int[] shape, NirFlatGraph graph, NirImportOptions options, List<NirConversion> report)
    {
        if (node is NirThreshold threshold)
            return Threshold(threshold, report);
        return MapNeuron(node, shape, graph, options, report);
    }

    protected abstract NirNeuronPlan MapNeuron(NirNode node, int[] shape, NirFlatGraph graph, NirImportOptions options, List<NirConversion> report);

    /// <summary>
    /// Threshold (y = H(x - θ), no state) is snntorch.Leaky with beta 0 and no reset: mem = 0*mem + x = x,
    /// and a spike where x - θ &gt; 0. No library's importer maps it, so the line is flagged.
    /// </summary>
    private NirNeuronPlan Threshold(NirThreshold node, List<NirConversion> report)
    {
        var theta = NirArray.Of(node.Threshold).ToFloat32();
        if (theta.Values.Any(v => !(v > 0)))
            throw new NirFormatException(node.Name, "threshold", "must be > 0 to be served (as snntorch.Leaky's threshold)");
        report.Add(NirReport.Note(node.Name, $"population {node.Name} (snntorch.Leaky)",
            $"Threshold as Leaky(beta=0, threshold=θ={NirReport.Values(theta.ToFloats())}, reset_mechanism=none): spike where x - θ > 0 (strict); " +
            $"{Name}'s importer has no mapping for Threshold", lossy: true));
        return new NirNeuronPlan([
            new NirStage("", "snntorch.Leaky", new()
            {
                ["beta"] = Scalar(0),
                ["threshold"] = Value(theta),
                ["reset_mechanism"] = Text("none"),
                ["reset_delay"] = Flag(false),
            }),
        ]);
    }

    protected NirFormatException Unsupported(NirNode node, string mapped) =>
        new(node.Name, "type", $"{Name}'s NIR importer does not map '{node.Type}' nodes (it maps {mapped}); import with --flavor generic");

    protected static ParameterValue Scalar(double value) => new() { Scalar = value };

    protected static ParameterValue Text(string value) => new() { Text = value };

    protected static ParameterValue Flag(bool value) => new() { Flag = value };

    /// <summary>The array as a parameter, rounded to float32: one number where all agree, else one per neuron.</summary>
    protected static ParameterValue Value(NirArray array)
    {
        var floats = array.ToFloats();
        if (floats.All(v => v.Equals(floats[0])))
            return Scalar(floats[0]);
        var list = new FloatList();
        list.Values.AddRange(floats);
        return new ParameterValue { PerNeuron = list };
    }

    /// <summary>Notes each float64 input of a node: the served model is float32.</summary>
    protected void NoteFloat64(NirNode node, List<NirConversion> report)
    {
        foreach (var (field, tensor) in NirParameters.Of(node))
        {
            if (tensor.WasFloat64)
                report.Add(NirReport.Note(node.Name, field, "float64 in the file; the parameter the importer computes from it is rounded to float32", lossy: true));
        }
    }

    protected static NirNeuronPlan Single(string model, Dictionary<string, ParameterValue> parameters) => new([new NirStage("", model, parameters)]);

    /// <summary>Flags a field this library's importer reads past, where the file gives other than what the library assumes.</summary>
    protected void NoteUnused(string node, string field, NirTensor tensor, float expected, List<NirConversion> report)
    {
        if (tensor.Values.Any(v => v != expected))
            report.Add(NirReport.Note(node, field, $"{field} = {NirReport.Values(tensor.Values)} is not used by {Name}'s importer (it expects {NirReport.F(expected)})", lossy: true));
    }

    protected static string V(NirArray array) => NirReport.Values(array.ToFloats());
}
