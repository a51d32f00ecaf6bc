using Snn.Protos.V1;

namespace Snn.Server.Nir.Flavors;

/// <summary>
/// The generic flavour: each neuron node becomes the <c>nir.*</c> model of the same name, which integrates
/// NIR's equation exactly over one step of dt with the input held (docs/nir.md). The parameters are the
/// file's, unchanged.
/// </summary>
internal sealed class GenericFlavor : NirFlavorBase
{
    public override string Name => "generic";

    public override void Describe(NirImportOptions options, List<NirConversion> report) =>
        report.Add(NirReport.Note("", "flavor generic",
            $"each neuron node becomes the nir.* model of its type: exact exponential integration over dt = {NirReport.D(options.Dt)} s with the input held over the step (docs/nir.md)"));

    protected override NirNeuronPlan MapNeuron(NirNode node, int[] shape, NirFlatGraph graph, NirImportOptions options, List<NirConversion> report)
    {
        NoteFloat64(node, report);
        var parameters = new Dictionary<string, ParameterValue>();
        foreach (var (field, tensor) in NirParameters.Of(node))
            parameters[field] = Value(NirArray.Of(tensor));
        string model = "nir." + node.Type;
        report.Add(NirReport.Note(node.Name, $"population {node.Name} ({model})",
            string.Join(", ", NirParameters.Of(node).Select(p => $"{p.Field} = {NirReport.Values(p.Tensor.Values)}"))));
        return new NirNeuronPlan([new NirStage("", model, parameters)]);
    }
}
