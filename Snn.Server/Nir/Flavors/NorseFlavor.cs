using Snn.Protos.V1;

namespace Snn.Server.Nir.Flavors;

/// <summary>
/// norse's <c>from_nir</c> (norse/torch/utils/import_nir.py): the network's dt is norse's dt. IF becomes
/// IAFCell (v_th), LI LIBoxCell and LIF LIFBoxCell (tau_mem_inv = 1/tau in float32, v_leak, v_th), and
/// CubaLIF norse's own wrapper: w_in * x into a LIBoxCell synapse (1/tau_syn, v_leak), r * that into a
/// LIFBoxCell (1/tau_mem, v_th, v_leak). r of IF, LI and LIF and every v_reset are not used (norse warns
/// about r and resets to 0). SumPool2d is LPPool2d without padding.
/// </summary>
internal sealed class NorseFlavor : NirFlavorBase
{
    public override string Name => "norse";

    public override void Describe(NirImportOptions options, List<NirConversion> report) =>
        report.Add(NirReport.Note("", "flavor norse",
            $"norse.torch.from_nir with dt = {NirReport.D(options.Dt)} s: box cells (no synaptic filter) with tau_mem_inv = 1/tau in float32; reset to 0"));

    public override bool Supports(NirNode op) => op is NirAffine or NirLinear or NirConv or NirPool2d;

    public override NirPool2d Pool(NirPool2d pool, List<NirConversion> report)
    {
        if (pool.Padding.All(p => p == 0))
            return pool;
        report.Add(NirReport.Note(pool.Name, "padding", $"padding {NirShapes.Format(pool.Padding)} dropped: norse builds LPPool2d, which has none", lossy: true));
        return pool with { Padding = new int[pool.Padding.Length] };
    }

    protected override NirNeuronPlan MapNeuron(NirNode node, int[] shape, NirFlatGraph graph, NirImportOptions options, List<NirConversion> report)
    {
        NoteFloat64(node, report);
        switch (node)
        {
            case NirIF n:
                NoteUnused(n.Name, "r", n.R, 1, report);
                NoteUnused(n.Name, "v_reset", n.VReset, 0, report);
                var vth = NirArray.Of(n.VThreshold).ToFloat32();
                report.Add(NirReport.Note(n.Name, $"population {n.Name} (norse.IAF)", $"IAFCell(v_th = {V(vth)}), v_reset = 0"));
                return Single("norse.IAF", new() { ["v_th"] = Value(vth) });
            case NirLI n:
                NoteUnused(n.Name, "r", n.R, 1, report);
                return Single(Box(n.Name, "norse.LIBox", n.Tau, n.VLeak, null, report));
            case NirLIF n:
                NoteUnused(n.Name, "r", n.R, 1, report);
                NoteUnused(n.Name, "v_reset", n.VReset, 0, report);
                return Single(Box(n.Name, "norse.LIFBox", n.Tau, n.VLeak, n.VThreshold, report));
            case NirCubaLIF n:
                NoteUnused(n.Name, "v_reset", n.VReset, 0, report);
                var wIn = NirArray.Of(n.WIn).ToFloat32();
                var r = NirArray.Of(n.R).ToFloat32();
                var synapse = Box(n.Name + ".syn", "norse.LIBox", n.TauSyn, n.VLeak, null, report);
                if (n.VLeak.Values.Any(v => v != 0))
                    report.Add(NirReport.Note(n.Name, "v_leak", "norse's CubaLIF synapse relaxes to v_leak too (NIR's current relaxes to 0)", lossy: true));
                var membrane = Box(n.Name, "norse.LIFBox", n.TauMem, n.VLeak, n.VThreshold, report);
                report.Add(NirReport.Note(n.Name, $"populations {n.Name}.syn (norse.LIBox) and {n.Name} (norse.LIFBox)",
                    $"norse's CubaLIF wrapper: x * w_in ({V(wIn)}) into the synapse, its v * r ({V(r)}) into the membrane"));
                return new NirNeuronPlan([
                    synapse with { Suffix = ".syn", InputScale = wIn.AllEqual(1) ? null : wIn.ToFloats() },
                    membrane with { InputScale = r.AllEqual(1) ? null : r.ToFloats() },
                ]);
            default:
                throw Unsupported(node, "IF, LI, LIF and CubaLIF");
        }
    }

    private static NirNeuronPlan Single(NirStage stage) => new([stage]);

    /// <summary>A box cell: tau_mem_inv = 1 / torch.from_numpy(tau).float(), in float32.</summary>
    private static NirStage Box(string name, string model, NirTensor tau, NirTensor vLeak, NirTensor? vThreshold, List<NirConversion> report)
    {
        var tauMemInv = 1.0 / NirArray.Of(tau).ToFloat32();
        var leak = NirArray.Of(vLeak).ToFloat32();
        var parameters = new Dictionary<string, ParameterValue> { ["tau_mem_inv"] = Value(tauMemInv), ["v_leak"] = Value(leak) };
        string detail = $"tau_mem_inv = 1/tau = {V(tauMemInv)}, v_leak = {V(leak)}";
        if (vThreshold is not null)
        {
            var vth = NirArray.Of(vThreshold).ToFloat32();
            parameters["v_th"] = Value(vth);
            detail += $", v_th = {V(vth)}, v_reset = 0";
        }

        report.Add(NirReport.Note(name, $"population {name} ({model})", detail));
        return new NirStage("", model, parameters);
    }
}
