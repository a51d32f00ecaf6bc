using Snn.Protos.V1;

namespace Snn.Server.Nir.Flavors;

/// <summary>
/// snntorch's <c>import_from_nir</c> (snntorch/import_nir.py): it discretises with a fixed dt = 1e-4 s
/// whatever the network's clock, builds Leaky for LIF (beta = 1 - dt/tau, zero reset), Synaptic for
/// CubaLIF, and Leaky(beta=0.9) with subtract reset for IF. Where r·dt/tau (or w_in·dt/tau_syn) is not 1
/// it divides the threshold by it instead of scaling the input. It asserts v_leak = 0 and one threshold for
/// all neurons; those files are refused here as they fail there. A recurrent layer as snntorch exports it (a
/// nested graph lif ↔ w_rec) runs as the plain Leaky/Synaptic with w_rec's output of the previous step added
/// to its input (nirtorch recurses into the subgraph; the RLeaky branch is never reached); the same 2-cycle at
/// the top level is rewired by the importer so that the neuron never sees its input, and is refused.
/// (tests/data/nir/flavors/RULES.md §1.)
/// </summary>
internal sealed class SnntorchFlavor : NirFlavorBase
{
    /// <summary>The dt snntorch's importer hard-codes.</summary>
    private const double Dt = 1e-4;

    public override string Name => "snntorch";

    public override void Describe(NirImportOptions options, List<NirConversion> report) =>
        report.Add(NirReport.Note("", "flavor snntorch",
            $"snntorch.import_nir discretises with its fixed dt = 1e-4 s (beta = 1 - 1e-4/tau); the network's dt = {NirReport.D(options.Dt)} s sets only the REALTIME clock",
            lossy: options.Dt != Dt));

    public override bool Supports(NirNode op) => op is NirAffine or NirLinear or NirConv or NirPool2d;

    protected override NirNeuronPlan MapNeuron(NirNode node, int[] shape, NirFlatGraph graph, NirImportOptions options, List<NirConversion> report)
    {
        NoteFloat64(node, report);
        var recurrent = NirRecurrence.Find(graph, node);
        if (recurrent is not null && graph.Origins[node.Name].Length == 0 && graph.Origins[recurrent.Weights.Name].Length == 0)
        {
            throw new NirFormatException(node.Name, "edges",
                $"'{node.Name}' and '{recurrent.Weights.Name}' form a recurrent pair at the top level of the graph; snntorch's importer rewires it so " +
                "that the neuron never receives its input (RULES.md §1.7). Write the pair as a nested graph, as snntorch's export does, or use --flavor generic");
        }

        return node switch
        {
            NirIF n => If(n, graph, report),
            NirLIF n => Lif(n, recurrent, report),
            NirCubaLIF n => CubaLif(n, recurrent, report),
            _ => throw Unsupported(node, "IF, LIF and CubaLIF"),
        };
    }

    private NirNeuronPlan If(NirIF n, NirFlatGraph graph, List<NirConversion> report)
    {
        if (graph.Targets(n.Name).Any(t => graph.ByName[t] is not NirOutput))
            throw new NirFormatException(n.Name, "edges", "snntorch's importer builds IF as Leaky(init_hidden=False), whose (spk, mem) output only an Output node can take; the layer after it fails there");
        var vthr = NirArray.Of(n.VThreshold);
        var r = NirArray.Of(n.R);
        if (!vthr.IsUniform)
            throw new NirFormatException(n.Name, "v_threshold", "snntorch's importer needs one v_threshold for all neurons (it asserts np.unique(v_threshold).size == 1)");
        if (!r.IsUniform || r.Values[0] != 1)
            throw new NirFormatException(n.Name, "r", "snntorch's importer supports only r = 1 for IF (it asserts r == 1)");
        var threshold = vthr * r;
        report.Add(NirReport.Note(n.Name, $"population {n.Name} (snntorch.Leaky)",
            $"IF as Leaky(beta=0.9, threshold=v_threshold*r={NirReport.F((float)threshold.Smallest)}, reset_mechanism=subtract, reset_delay=False), as snntorch's importer builds it: the neuron leaks, unlike NIR's IF",
            lossy: true));
        NoteReset(n.Name, n.VReset, "subtracts the threshold", report);
        return new NirNeuronPlan([
            new NirStage("", "snntorch.Leaky", new()
            {
                ["beta"] = Scalar(0.9),
                ["threshold"] = Scalar(threshold.Smallest),
                ["reset_delay"] = Flag(false),
            }),
        ]);
    }

    private NirNeuronPlan Lif(NirLIF n, NirRecurrence? recurrent, List<NirConversion> report)
    {
        var tau = NirArray.Of(n.Tau);
        if (!NirArray.Of(n.VLeak).AllClose(0.0))
            throw new NirFormatException(n.Name, "v_leak", "snntorch's importer supports only v_leak = 0 (it asserts np.allclose(v_leak, 0))");
        var beta = 1.0 - Dt / tau;
        var vthr = NirArray.Of(n.VThreshold);
        var wScale = NirArray.Of(n.R) * Dt / tau;
        if (!wScale.AllClose(1.0))
        {
            vthr = vthr / wScale.Smallest;
            report.Add(NirReport.Note(n.Name, "parameter threshold",
                $"r*dt/tau = {V(wScale)} is not 1: snntorch's importer divides v_threshold by it instead of scaling the input", lossy: true));
        }

        if (!vthr.IsUniform)
            throw new NirFormatException(n.Name, "v_threshold", "snntorch's importer needs one threshold for all neurons (it asserts np.unique(v_threshold).size == 1)");
        NoteReset(n.Name, n.VReset, "resets to zero", report);

        var parameters = new Dictionary<string, ParameterValue>
        {
            ["beta"] = Value(beta),
            ["threshold"] = Scalar(vthr.Smallest),
            ["reset_mechanism"] = Text("zero"),
            ["reset_delay"] = Flag(false),
        };
        const string model = "snntorch.Leaky";
        report.Add(NirReport.Note(n.Name, $"population {n.Name} ({model})",
            $"beta = 1 - dt/tau = {V(beta)}, threshold = {NirReport.F((float)vthr.Smallest)}, reset_mechanism = zero, reset_delay = False" +
            Recurrent(recurrent)));
        return new NirNeuronPlan([new NirStage("", model, parameters)]);
    }

    private NirNeuronPlan CubaLif(NirCubaLIF n, NirRecurrence? recurrent, List<NirConversion> report)
    {
        var tauSyn = NirArray.Of(n.TauSyn);
        var tauMem = NirArray.Of(n.TauMem);
        if (!NirArray.Of(n.VLeak).AllClose(0.0))
            throw new NirFormatException(n.Name, "v_leak", "snntorch's importer supports only v_leak = 0 (it asserts np.allclose(v_leak, 0))");
        if (!NirArray.Of(n.R).AllClose(tauMem / Dt))
            throw new NirFormatException(n.Name, "r", "snntorch's importer needs r = tau_mem/dt (dt = 1e-4) for CubaLIF (it asserts np.allclose(r, tau_mem/dt))");
        var alpha = 1.0 - Dt / tauSyn;
        var beta = 1.0 - Dt / tauMem;
        var vthr = NirArray.Of(n.VThreshold);
        var wScale = NirArray.Of(n.WIn) * (Dt / tauSyn);
        if (!wScale.AllClose(1.0))
        {
            vthr = vthr / wScale;
            report.Add(NirReport.Note(n.Name, "parameter threshold",
                $"w_in*dt/tau_syn = {V(wScale)} is not 1: snntorch's importer divides v_threshold by it instead of scaling the input", lossy: true));
        }

        if (!vthr.IsUniform)
            throw new NirFormatException(n.Name, "v_threshold", "snntorch's importer needs one threshold for all neurons (it asserts np.unique(v_threshold / w_scale).size == 1)");
        NoteReset(n.Name, n.VReset, "resets to zero", report);
        const string model = "snntorch.Synaptic";
        report.Add(NirReport.Note(n.Name, $"population {n.Name} ({model})",
            $"alpha = 1 - dt/tau_syn = {V(alpha)}, beta = 1 - dt/tau_mem = {V(beta)}, threshold = {NirReport.F((float)vthr.Smallest)}, reset_mechanism = zero, reset_delay = False" +
            Recurrent(recurrent)));
        return new NirNeuronPlan([
            new NirStage("", model, new()
            {
                ["alpha"] = Value(alpha),
                ["beta"] = Value(beta),
                ["threshold"] = Scalar(vthr.Smallest),
                ["reset_mechanism"] = Text("zero"),
                ["reset_delay"] = Flag(false),
            }),
        ]);
    }

    private static string Recurrent(NirRecurrence? recurrent) => recurrent is null ? "" :
        $"; recurrent input: '{recurrent.Weights.Name}' of the previous step's spikes added to the input (nirtorch's feedback; nothing at step 0)";

    private static void NoteReset(string node, NirTensor vReset, string what, List<NirConversion> report)
    {
        if (vReset.Values.Any(v => v != 0))
            report.Add(NirReport.Note(node, "v_reset", $"v_reset = {NirReport.Values(vReset.Values)} is not used: snntorch's neuron {what}", lossy: true));
    }
}

/// <summary>
/// A LIF or CubaLIF in a two-node cycle with an Affine/Linear that has no other edges: the pattern
/// snntorch's importer looks for (_replace_rnn_subgraph_with_nirgraph).
/// </summary>
internal sealed record NirRecurrence(NirNode Weights)
{
    public static NirRecurrence? Find(NirFlatGraph graph, NirNode neuron)
    {
        foreach (var target in graph.Targets(neuron.Name))
        {
            var w = graph.ByName[target];
            if (w is not (NirAffine or NirLinear))
                continue;
            var outs = graph.Targets(w.Name).ToList();
            var ins = graph.Sources(w.Name).ToList();
            if (outs.Count == 1 && ins.Count == 1 && outs[0] == neuron.Name)
                return new NirRecurrence(w);
        }

        return null;
    }
}
