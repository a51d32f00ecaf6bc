using Snn.Protos.V1;
using Snn.Server.Engine;

namespace Snn.Server.Nir;

/// <summary>
/// Writes a network spec as a NIR graph: the inverse of <see cref="NirImporter"/> on what NIR can express.
/// An input population is an Input node; a <c>nir.*</c> population the node of that type with its
/// parameters; a library model the node its library's exporter writes (snntorch: LIF with tau = dt/(1-beta)
/// at dt = 1e-4 and r = tau/dt; sinabs: tau = tau_mem in steps; norse: tau = 1/tau_mem_inv). A projection is
/// its operation node (Affine, Linear, Scale, Conv2d, SumPool2d; a sparse projection as a dense Affine)
/// with a Delay node after it for delay steps; a passthrough population is the operation that feeds it.
/// Every population no projection reads gets an Output node.
/// </summary>
internal static class NirExporter
{
    public static NirGraph Export(NetworkSpec spec, List<NirConversion> report)
    {
        var nodes = new Dictionary<string, NirNode>(StringComparer.Ordinal);
        var edges = new List<NirEdge>();
        var populations = spec.Populations.ToDictionary(p => p.Name, StringComparer.Ordinal);
        double dt = spec.Dt > 0 ? spec.Dt : 0.001;

        // A passthrough fed by exactly one operation is that operation's node.
        var incoming = spec.Projections.GroupBy(j => j.Target).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var absorbed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pop in spec.Populations)
        {
            if (pop.Model == "passthrough" && incoming.TryGetValue(pop.Name, out var feeds) && feeds.Count == 1
                && feeds[0].KindCase != ProjectionSpec.KindOneofCase.OneToOne && feeds[0].DelaySteps == 0)
            {
                absorbed.Add(feeds[0].Name);
            }
        }

        foreach (var pop in spec.Populations)
        {
            int[] shape = Shape(pop);
            switch (pop.Model)
            {
                case "input":
                    nodes[pop.Name] = new NirInput(pop.Name, shape);
                    report.Add(NirReport.Note(pop.Name, "Input", $"shape {NirShapes.Format(shape)}"));
                    break;
                case "passthrough":
                    var feeds = incoming.GetValueOrDefault(pop.Name) ?? [];
                    if (feeds.Count == 1 && absorbed.Contains(feeds[0].Name))
                    {
                        nodes[pop.Name] = Operation(pop.Name, feeds[0], populations, report);
                        edges.Add(new NirEdge(feeds[0].Source, pop.Name));
                    }
                    else
                    {
                        nodes[pop.Name] = new NirScale(pop.Name, Tensor(Enumerable.Repeat(1f, (int)pop.Size).ToArray(), [(int)pop.Size]));
                        report.Add(NirReport.Note(pop.Name, "Scale", "a passthrough that sums several inputs: Scale by 1 (NIR sums the edges into a node)"));
                    }

                    break;
                default:
                    nodes[pop.Name] = Neuron(pop, shape, dt, report);
                    break;
            }
        }

        foreach (var j in spec.Projections)
        {
            if (absorbed.Contains(j.Name))
                continue;
            string from = j.Source;
            if (!(j.KindCase == ProjectionSpec.KindOneofCase.OneToOne && j.OneToOne.Weights.Count == 0))
            {
                string name = Unique(j.Name, nodes);
                nodes[name] = Operation(name, j, populations, report);
                edges.Add(new NirEdge(from, name));
                from = name;
            }

            if (j.DelaySteps > 0)
            {
                string name = Unique(j.Name + ".delay", nodes);
                int size = (int)populations[j.Target].Size;
                nodes[name] = new NirDelay(name, Tensor(Enumerable.Repeat((float)(j.DelaySteps * dt), size).ToArray(), [size]));
                report.Add(NirReport.Note(j.Name, "Delay", $"delay_steps {j.DelaySteps} × dt {NirReport.D(dt)} s = {NirReport.D(j.DelaySteps * dt)} s"));
                edges.Add(new NirEdge(from, name));
                from = name;
            }

            edges.Add(new NirEdge(from, j.Target));
        }

        // An output is a population no other population reads (its own recurrent weights do not count).
        var read = spec.Projections.Where(j => j.Source != j.Target).Select(j => j.Source).ToHashSet(StringComparer.Ordinal);
        var sinks = spec.Populations.Where(p => p.Model != "input" && !read.Contains(p.Name)).ToList();
        foreach (var sink in sinks)
        {
            string name = Unique(sinks.Count == 1 ? "output" : sink.Name + ".output", nodes);
            nodes[name] = new NirOutput(name, Shape(sink));
            edges.Add(new NirEdge(sink.Name, name));
            report.Add(NirReport.Note(sink.Name, "Output", $"node '{name}'"));
        }

        var graph = new NirGraph("0.5.0", nodes, edges);
        NirValidator.Validate(graph);
        return graph;
    }

    private static NirNode Operation(string name, ProjectionSpec j, Dictionary<string, PopulationSpec> populations, List<NirConversion> report)
    {
        var source = populations[j.Source];
        var target = populations[j.Target];
        int sourceSize = (int)source.Size, targetSize = (int)target.Size;
        switch (j.KindCase)
        {
            case ProjectionSpec.KindOneofCase.Dense:
                report.Add(NirReport.Note(j.Name, j.Dense.Bias.Count > 0 ? "Affine" : "Linear", $"weight [{targetSize}, {sourceSize}]"));
                var weight = Tensor(j.Dense.Weights.ToArray(), [targetSize, sourceSize]);
                return j.Dense.Bias.Count > 0 ? new NirAffine(name, weight, Tensor(j.Dense.Bias.ToArray(), [targetSize])) : new NirLinear(name, weight);
            case ProjectionSpec.KindOneofCase.OneToOne:
                var w = j.OneToOne.Weights;
                var scale = w.Count == 1 ? Enumerable.Repeat(w[0], sourceSize).ToArray() : w.ToArray();
                report.Add(NirReport.Note(j.Name, "Scale", $"scale {NirReport.Values(scale)}"));
                return new NirScale(name, Tensor(scale, [sourceSize]));
            case ProjectionSpec.KindOneofCase.Sparse:
                if ((long)targetSize * sourceSize > (long)NirReader.MaxElementsPerDataset)
                {
                    throw new EngineException(EngineError.FailedPrecondition,
                        $"projection '{j.Name}' is sparse over {sourceSize} x {targetSize} neurons; NIR has no sparse node, and as a dense matrix " +
                        $"it would exceed the {NirReader.MaxElementsPerDataset} elements a NIR dataset may hold here");
                }

                var dense = new float[targetSize * sourceSize];
                for (int k = 0; k < j.Sparse.Pre.Count; k++)
                    dense[j.Sparse.Post[k] * sourceSize + j.Sparse.Pre[k]] += j.Sparse.Weights[k];
                report.Add(NirReport.Note(j.Name, j.Sparse.Bias.Count > 0 ? "Affine" : "Linear",
                    $"sparse ({j.Sparse.Pre.Count} synapses) written as a dense [{targetSize}, {sourceSize}] matrix: NIR has no sparse node"));
                var matrix = Tensor(dense, [targetSize, sourceSize]);
                return j.Sparse.Bias.Count > 0 ? new NirAffine(name, matrix, Tensor(j.Sparse.Bias.ToArray(), [targetSize])) : new NirLinear(name, matrix);
            case ProjectionSpec.KindOneofCase.Conv2D:
                var c = j.Conv2D;
                int kh = (int)c.KernelSize[0], kw = (int)(c.KernelSize.Count > 1 ? c.KernelSize[1] : c.KernelSize[0]);
                int inC = (int)source.Shape[0], outC = (int)target.Shape[0];
                report.Add(NirReport.Note(j.Name, "Conv2d", $"weight [{outC}, {inC}, {kh}, {kw}]"));
                return new NirConv(name, 2, Tensor(c.Weights.ToArray(), [outC, inC, kh, kw]),
                    Tensor(c.Bias.Count > 0 ? c.Bias.ToArray() : new float[outC], [outC]),
                    Pair(c.Stride, 1), Pair(c.Padding, 0), null, [1, 1], 1, [(int)source.Shape[1], (int)source.Shape[2]]);
            case ProjectionSpec.KindOneofCase.SumPool2D:
                var p = j.SumPool2D;
                var kernel = Pair(p.KernelSize, 1);
                report.Add(NirReport.Note(j.Name, "SumPool2d", $"kernel {NirShapes.Format(kernel)}"));
                return new NirPool2d(name, false, kernel, p.Stride.Count == 0 ? kernel : Pair(p.Stride, 1), Pair(p.Padding, 0));
            default:
                throw new EngineException(EngineError.FailedPrecondition, $"projection '{j.Name}' has no NIR node");
        }
    }

    private static NirNode Neuron(PopulationSpec pop, int[] shape, double dt, List<NirConversion> report)
    {
        int size = (int)pop.Size;
        NirTensor P(string name, float fallback) => Tensor(Param(pop, name, fallback, size), shape);
        NirTensor Const(float value) => Tensor(Enumerable.Repeat(value, size).ToArray(), shape);
        NirTensor Map(string name, float fallback, Func<float, float> f) => Tensor(Array.ConvertAll(Param(pop, name, fallback, size), v => f(v)), shape);
        string n = pop.Name;
        NirNode node;
        switch (pop.Model)
        {
            case "nir.I": node = new NirI(n, P("r", 1)); break;
            case "nir.LI": node = new NirLI(n, P("tau", 1), P("r", 1), P("v_leak", 0)); break;
            case "nir.IF": node = new NirIF(n, P("r", 1), P("v_threshold", 1), P("v_reset", 0)); break;
            case "nir.LIF": node = new NirLIF(n, P("tau", 1), P("r", 1), P("v_leak", 0), P("v_threshold", 1), P("v_reset", 0)); break;
            case "nir.CubaLI": node = new NirCubaLI(n, P("tau_syn", 1), P("tau_mem", 1), P("r", 1), P("v_leak", 0), P("w_in", 1)); break;
            case "nir.CubaLIF":
                node = new NirCubaLIF(n, P("tau_syn", 1), P("tau_mem", 1), P("r", 1), P("v_leak", 0), P("v_threshold", 1), P("v_reset", 0), P("w_in", 1));
                break;
            case "snntorch.Leaky" or "snntorch.RLeaky":
            {
                // snntorch's export_to_nir: tau = dt/(1-beta), r = tau/dt with dt = 1e-4 (float32 NumPy).
                var tau = Map("beta", 0, beta => 1e-4f / (1f - beta));
                NoteReset(pop, report);
                node = new NirLIF(n, tau, Tensor(Array.ConvertAll(tau.Values, t => t / 1e-4f), shape), Const(0), P("threshold", 1), Const(0));
                break;
            }

            case "snntorch.Synaptic" or "snntorch.RSynaptic":
            {
                var tauSyn = Map("alpha", 0, alpha => 1e-4f / (1f - alpha));
                var tauMem = Map("beta", 0, beta => 1e-4f / (1f - beta));
                NoteReset(pop, report);
                node = new NirCubaLIF(n, tauSyn, tauMem, Tensor(Array.ConvertAll(tauMem.Values, t => t / 1e-4f), shape), Const(0),
                    P("threshold", 1), Const(0), Tensor(Array.ConvertAll(tauSyn.Values, t => t / 1e-4f), shape));
                break;
            }

            case "sinabs.IAF":
                node = new NirIF(n, Const(1), P("spike_threshold", 1), Const(0));
                break;
            case "sinabs.LIF":
                node = new NirLIF(n, P("tau_mem", 1), Const(1), Const(0), P("spike_threshold", 1), Const(0));
                break;
            case "sinabs.ExpLeak":
                node = new NirLI(n, P("tau_mem", 1), Const(1), Const(0));
                break;
            case "norse.IAF":
                node = new NirIF(n, Const(1), P("v_th", 1), P("v_reset", 0));
                break;
            case "norse.LIFBox":
                node = new NirLIF(n, Map("tau_mem_inv", 100, inv => 1f / inv), Const(1), P("v_leak", 0), P("v_th", 1), P("v_reset", 0));
                break;
            case "norse.LIBox":
                node = new NirLI(n, Map("tau_mem_inv", 100, inv => 1f / inv), Const(1), P("v_leak", 0));
                break;
            case "norse.LIF":
                node = new NirCubaLIF(n, Map("tau_syn_inv", 200, inv => 1f / inv), Map("tau_mem_inv", 100, inv => 1f / inv), Const(1),
                    P("v_leak", 0), P("v_th", 1), P("v_reset", 0), Const(1));
                break;
            default:
                throw new EngineException(EngineError.FailedPrecondition,
                    $"population '{pop.Name}' is a {pop.Model}, which NIR has no node for; NIR expresses I, LI, IF, LIF, CubaLI and CubaLIF neurons");
        }

        report.Add(NirReport.Note(pop.Name, node.Type, $"from {pop.Model}"));
        return node;
    }

    private static void NoteReset(PopulationSpec pop, List<NirConversion> report)
    {
        // snntorch's neurons subtract the threshold unless told otherwise.
        string reset = pop.Params.TryGetValue("reset_mechanism", out var given) ? given.Text : "subtract";
        if (reset != "zero")
            report.Add(NirReport.Note(pop.Name, "v_reset", $"reset_mechanism '{reset}' is written as NIR's reset to v_reset = 0 (as snntorch's exporter does)", lossy: true));
    }

    private static float[] Param(PopulationSpec pop, string name, float fallback, int size)
    {
        if (!pop.Params.TryGetValue(name, out var value))
            return Enumerable.Repeat(fallback, size).ToArray();
        return value.ValueCase switch
        {
            ParameterValue.ValueOneofCase.Scalar => Enumerable.Repeat((float)value.Scalar, size).ToArray(),
            ParameterValue.ValueOneofCase.PerNeuron => value.PerNeuron.Values.ToArray(),
            _ => throw new EngineException(EngineError.FailedPrecondition, $"population '{pop.Name}': parameter '{name}' is not a number"),
        };
    }

    private static int[] Shape(PopulationSpec pop) => pop.Shape.Count == 0 ? [(int)pop.Size] : pop.Shape.Select(d => (int)d).ToArray();

    private static int[] Pair(Google.Protobuf.Collections.RepeatedField<uint> values, int fallback) => values.Count switch
    {
        0 => [fallback, fallback],
        1 => [(int)values[0], (int)values[0]],
        _ => [(int)values[0], (int)values[1]],
    };

    private static NirTensor Tensor(float[] values, int[] shape) => new(values, shape, false);

    private static string Unique(string wanted, Dictionary<string, NirNode> taken)
    {
        string name = wanted;
        for (int k = 2; taken.ContainsKey(name); k++)
            name = $"{wanted}.{k}";
        return name;
    }
}
