using Snn.Protos.V1;

namespace Snn.Server.Nir.Flavors;

/// <summary>
/// sinabs' <c>from_nir</c> (sinabs/nir.py): time constants are read as numbers of steps (alpha =
/// exp(-1/tau); dt is not used). IF becomes IAFSqueeze(spike_threshold = v_threshold, min_v_mem =
/// -v_threshold), LIF LIFSqueeze(tau_mem = tau, spike_threshold = v_threshold, norm_input = False), LI
/// ExpLeakSqueeze(tau_mem = tau, norm_input = False); all with sinabs' MultiSpike and subtract reset.
/// v_leak must be 0 (and r 1 for LI), as sinabs raises otherwise. SumPool2d has no padding.
/// </summary>
internal sealed class SinabsFlavor : NirFlavorBase
{
    public override string Name => "sinabs";

    public override void Describe(NirImportOptions options, List<NirConversion> report) =>
        report.Add(NirReport.Note("", "flavor sinabs",
            $"sinabs.from_nir reads tau as a number of steps (alpha = exp(-1/tau)); the network's dt = {NirReport.D(options.Dt)} s sets only the REALTIME clock"));

    public override bool Supports(NirNode op) => op is NirAffine or (NirConv { SpatialDims: 2 }) or (NirPool2d { Average: false });

    /// <summary>sinabs layers take a whole sequence per call, so a cycle would feed back once per sequence, not per step.</summary>
    public override void Check(NirFlatGraph graph)
    {
        if (graph.FindCycle() is { } node)
            throw new NirFormatException(node, "edges", "sinabs' importer cannot run a recurrent graph (its layers take the whole sequence at once); use --flavor generic");
    }

    public override NirPool2d Pool(NirPool2d pool, List<NirConversion> report)
    {
        if (pool.Padding.All(p => p == 0))
            return pool;
        report.Add(NirReport.Note(pool.Name, "padding", $"padding {NirShapes.Format(pool.Padding)} dropped: sinabs builds SumPool2d(kernel_size, stride) without it", lossy: true));
        return pool with { Padding = new int[pool.Padding.Length] };
    }

    protected override NirNeuronPlan MapNeuron(NirNode node, int[] shape, NirFlatGraph graph, NirImportOptions options, List<NirConversion> report)
    {
        NoteFloat64(node, report);
        switch (node)
        {
            case NirIF n:
            {
                NoteUnused(n.Name, "r", n.R, 1, report);
                NoteUnused(n.Name, "v_reset", n.VReset, 0, report);
                var thr = NirArray.Of(n.VThreshold).ToFloat32();
                var min = 0.0 - thr;
                report.Add(NirReport.Note(n.Name, $"population {n.Name} (sinabs.IAF)",
                    $"IAFSqueeze(spike_threshold = v_threshold = {V(thr)}, min_v_mem = -v_threshold), MultiSpike, MembraneSubtract"));
                return Single("sinabs.IAF", new() { ["spike_threshold"] = Value(thr), ["min_v_mem"] = Value(min) });
            }

            case NirLIF n:
            {
                if (n.VLeak.Values.Any(v => v != 0))
                    throw new NirFormatException(n.Name, "v_leak", "sinabs' importer supports only v_leak = 0 (it raises \"`v_leak` must be 0\")");
                NoteUnused(n.Name, "r", n.R, 1, report);
                NoteUnused(n.Name, "v_reset", n.VReset, 0, report);
                var tau = NirArray.Of(n.Tau).ToFloat32();
                var thr = NirArray.Of(n.VThreshold).ToFloat32();
                report.Add(NirReport.Note(n.Name, $"population {n.Name} (sinabs.LIF)",
                    $"LIFSqueeze(tau_mem = tau = {V(tau)} steps, spike_threshold = {V(thr)}, norm_input = False), MultiSpike, MembraneSubtract"));
                return Single("sinabs.LIF", new() { ["tau_mem"] = Value(tau), ["spike_threshold"] = Value(thr), ["norm_input"] = Flag(false) });
            }

            case NirLI n:
            {
                if (n.VLeak.Values.Any(v => v != 0))
                    throw new NirFormatException(n.Name, "v_leak", "sinabs' importer supports only v_leak = 0 (it raises \"`v_leak` must be 0\")");
                if (n.R.Values.Any(v => v != 1))
                    throw new NirFormatException(n.Name, "r", "sinabs' importer supports only r = 1 for LI (it raises \"`r` must be 1\")");
                var tau = NirArray.Of(n.Tau).ToFloat32();
                report.Add(NirReport.Note(n.Name, $"population {n.Name} (sinabs.ExpLeak)",
                    $"ExpLeakSqueeze(tau_mem = tau = {V(tau)} steps, norm_input = False): its output is v_mem"));
                return Single("sinabs.ExpLeak", new() { ["tau_mem"] = Value(tau), ["norm_input"] = Flag(false) });
            }

            default:
                throw Unsupported(node, "IF, LIF and LI");
        }
    }

}
