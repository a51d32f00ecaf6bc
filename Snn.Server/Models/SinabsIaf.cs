namespace Snn.Server.Models;

/// <summary>
/// <c>sinabs.IAF</c>: sinabs.layers.IAF, which is LIF with alpha_mem = 1 exactly and norm_input
/// forced off (SEMANTICS.md §1.2).
/// </summary>
public sealed class SinabsIafModel : NeuronModel
{
    public override string Name => "sinabs.IAF";

    public override string LibraryClass => "sinabs.layers.IAF";

    public override string Description =>
        "Integrate-and-fire of sinabs: i_syn = alpha_syn*(i_syn + x) (or x without tau_syn); v = v + i_syn; " +
        "spikes compared after integration; reset; clip at min_v_mem.";

    public override IReadOnlyList<ParameterDescriptor> Parameters { get; } =
    [
        .. SinabsLif.CommonParameters,
        Describe.Flag("norm_input", false,
            "Fixed at false: sinabs IAF forces it off (alpha_mem = 1). false is accepted so uniform parameter sets load."),
    ];

    public override IReadOnlyList<string> StateVariables => SinabsLif.States;

    public override NeuronKernel Compile(IReadOnlyDictionary<string, ParamValue> parameters, int size, double networkDt)
    {
        var r = new ParameterReader(this, parameters, size);
        r.RequireFixed("norm_input", false, "sinabs IAF forces it off; use sinabs.LIF for a normalised input");
        return SinabsLif.Compile(r, size, NeuronValues.Of(1f), NeuronValues.Of(0f), normInput: false);
    }
}
