using Snn.Protos.V1;

namespace Snn.Server.Nir;

/// <summary>
/// Builds a network spec from a flat NIR graph. Every node with state (and every Input, Threshold) becomes
/// one or more populations, as the flavour says; a linear node (Affine, Linear, Scale, Conv, pooling)
/// becomes the projection between the populations it joins; Flatten only reinterprets a shape and Delay
/// adds steps to the projections through it. Where linear nodes follow each other, or one feeds an
/// Output, the first one's result is held in a <c>passthrough</c> population named after it, so every
/// projection is exactly one NIR operation, as the library runs them one module at a time.
/// </summary>
internal sealed class NirNetworkBuilder
{
    private readonly NirFlatGraph _graph;
    private readonly NirImportOptions _options;
    private readonly NirFlavorBase _flavor;
    private readonly List<NirConversion> _report;
    private readonly NirShapeInference _shapes;
    private readonly NetworkSpec _spec = new();

    /// <summary>Per node backed by populations: where its inputs land and which population gives its output.</summary>
    private readonly Dictionary<string, (string Entry, string Exit)> _backed = new(StringComparer.Ordinal);

    /// <summary>Linear nodes with several sources: the passthrough that sums them first.</summary>
    private readonly Dictionary<string, string> _sums = new(StringComparer.Ordinal);

    private readonly HashSet<string> _populationNames = new(StringComparer.Ordinal);
    private readonly HashSet<string> _projectionNames = new(StringComparer.Ordinal);

    public NirNetworkBuilder(NirFlatGraph graph, NirImportOptions options, List<NirConversion> report)
    {
        _graph = graph;
        _options = options;
        _report = report;
        _flavor = NirFlavorBase.For(options.Flavor);
        _shapes = new NirShapeInference(graph);
    }

    public NetworkSpec Build()
    {
        _spec.Name = _options.Name;
        _spec.Dt = _options.Dt;
        _flavor.Describe(_options, _report);
        _flavor.Check(_graph);

        foreach (var node in _graph.Nodes)
        {
            switch (node)
            {
                case NirInput input:
                    AddPopulation(input.Name, "input", _shapes.Of(input.Name));
                    _backed[input.Name] = (input.Name, input.Name);
                    _report.Add(NirReport.Note(input.Name, $"population {input.Name} (input)",
                        $"shape {NirShapes.Format(_shapes.Of(input.Name))}: send events here"));
                    break;
                case NirAffine or NirLinear or NirScale or NirConv or NirPool2d when IsMaterialized(node.Name):
                    AddPopulation(node.Name, "passthrough", _shapes.Of(node.Name));
                    _backed[node.Name] = (node.Name, node.Name);
                    _report.Add(NirReport.Note(node.Name, $"population {node.Name} (passthrough)",
                        "holds the node's result, since another operation or an Output follows it directly"));
                    break;
                case NirI or NirLI or NirIF or NirLIF or NirCubaLI or NirCubaLIF or NirThreshold:
                    AddNeuron(node);
                    break;
            }
        }

        foreach (var node in _graph.Nodes.OfType<NirOutput>())
            AddOutput(node);

        foreach (var node in _graph.Nodes)
            Connect(node);

        return _spec;
    }

    /// <summary>A linear node whose result another linear node or an Output reads needs a population to hold it.</summary>
    private bool IsMaterialized(string node) =>
        Downstream(node).Any(n => n is NirAffine or NirLinear or NirScale or NirConv or NirPool2d or NirOutput);

    /// <summary>The nodes a node's output reaches, looking through Flatten and Delay.</summary>
    private IEnumerable<NirNode> Downstream(string node, int depth = 0)
    {
        foreach (var target in _graph.Targets(node))
        {
            var t = _graph.ByName[target];
            if (t is NirFlatten or NirDelay && depth < _graph.Nodes.Count)
            {
                foreach (var further in Downstream(t.Name, depth + 1))
                    yield return further;
            }
            else
            {
                yield return t;
            }
        }
    }

    private void AddNeuron(NirNode node)
    {
        var shape = _shapes.Of(node.Name);
        var plan = _flavor.Map(node, shape, _graph, _options, _report);
        string previous = "";
        string entry = "";
        for (int s = 0; s < plan.Stages.Count; s++)
        {
            var stage = plan.Stages[s];
            string name = s == plan.Stages.Count - 1 ? node.Name : node.Name + stage.Suffix;
            var population = AddPopulation(name, stage.Model, shape, stage.Params);
            if (stage.InputScale is { } scale)
            {
                string from = previous;
                if (s == 0)
                {
                    from = AddPopulation(node.Name + ".in", "passthrough", shape);
                    entry = from;
                }

                AddProjection(node.Name + ".scale" + stage.Suffix, from, population, new ProjectionSpec
                {
                    OneToOne = new OneToOneProjection { Weights = { scale } },
                }, 0);
            }
            else if (s > 0)
            {
                AddProjection(previous + ".to" + stage.Suffix, previous, population, new ProjectionSpec { OneToOne = new OneToOneProjection() }, 0);
            }

            if (s == 0 && entry.Length == 0)
                entry = population;
            previous = population;
        }

        _backed[node.Name] = (entry, previous);
    }

    private void AddOutput(NirOutput output)
    {
        var items = Resolve(output.Name);
        if (items.Count == 1 && items[0].Op is null && items[0].DelayBefore == 0 && items[0].DelayAfter == 0)
        {
            _report.Add(NirReport.Note(output.Name, $"output of population {items[0].Source}",
                $"read it with spikes_from = [\"{items[0].Source}\"] (values carry non-spiking outputs such as v)"));
            return;
        }

        var name = AddPopulation(output.Name, "passthrough", _shapes.Of(output.Name));
        _backed[output.Name] = (name, name);
        _report.Add(NirReport.Note(output.Name, $"population {name} (passthrough)", "sums what reaches the Output node"));
    }

    /// <summary>Adds the projections into a population-backed node.</summary>
    private void Connect(NirNode node)
    {
        if (!_backed.TryGetValue(node.Name, out var backed) || node is NirInput)
            return;
        if (node is NirAffine or NirLinear or NirScale or NirConv or NirPool2d)
        {
            // A materialized linear node: its operation is the projection into its own population.
            foreach (var item in ResolveOperand(node))
                AddOperation(node, item.Source, backed.Entry, item.DelayBefore, 0);
            return;
        }

        foreach (var item in Resolve(node.Name))
        {
            if (item.Op is null)
                AddProjection($"{item.Source}.to.{backed.Entry}", item.Source, backed.Entry,
                    new ProjectionSpec { OneToOne = new OneToOneProjection() }, item.DelayAfter);
            else
                AddOperation(item.Op, item.Source, backed.Entry, item.DelayBefore, item.DelayAfter);
        }
    }

    /// <summary>
    /// What feeds <paramref name="node"/>: for each source, the population it comes from, the linear
    /// operation on the way (at most one; a second would have been held in a population) and the delay steps
    /// before and after that operation.
    /// </summary>
    private List<Contribution> Resolve(string node)
    {
        var result = new List<Contribution>();
        foreach (var source in _graph.Sources(node))
            Collect(source, 0, result, 0);
        return result;
    }

    private void Collect(string node, uint delayAfter, List<Contribution> into, int depth)
    {
        if (depth > _graph.Nodes.Count)
            throw new NirFormatException(node, "edges", "a cycle through Flatten or Delay nodes only");
        var n = _graph.ByName[node];
        if (_backed.TryGetValue(node, out var backed))
        {
            into.Add(new Contribution(null, backed.Exit, 0, delayAfter));
            return;
        }

        switch (n)
        {
            case NirFlatten:
                foreach (var source in _graph.Sources(node))
                    Collect(source, delayAfter, into, depth + 1);
                break;
            case NirDelay delay:
                uint steps = DelaySteps(delay);
                foreach (var source in _graph.Sources(node))
                    Collect(source, delayAfter + steps, into, depth + 1);
                break;
            case NirAffine or NirLinear or NirScale or NirConv or NirPool2d:
                foreach (var operand in ResolveOperand(n))
                    into.Add(new Contribution(n, operand.Source, operand.DelayBefore, delayAfter));
                break;
            case NirOutput:
                throw new NirFormatException(node, "edges", "an Output node cannot feed another node");
            default:
                throw new NirFormatException(node, "type", $"node type '{n.Type}' is not supported by the import");
        }
    }

    /// <summary>The population a linear node reads: its single source, or a passthrough summing several.</summary>
    private List<Contribution> ResolveOperand(NirNode op)
    {
        var items = new List<Contribution>();
        foreach (var source in _graph.Sources(op.Name))
            Collect(source, 0, items, 0);
        if (items.Count == 0)
            throw new NirFormatException(op.Name, "edges", "the node has no input edge");
        if (items.Count == 1)
            return [new Contribution(null, items[0].Source, items[0].DelayAfter, 0)];

        if (!_sums.TryGetValue(op.Name, out var sum))
        {
            sum = AddPopulation(op.Name + ".in", "passthrough", _shapes.InputOf(op.Name));
            _sums[op.Name] = sum;
            _report.Add(NirReport.Note(op.Name, $"population {sum} (passthrough)", $"sums the node's {items.Count} inputs before the operation"));
            foreach (var item in items)
                AddProjection($"{item.Source}.to.{sum}", item.Source, sum, new ProjectionSpec { OneToOne = new OneToOneProjection() }, item.DelayAfter);
        }

        return [new Contribution(null, sum, 0, 0)];
    }

    private uint DelaySteps(NirDelay delay)
    {
        var values = delay.Delay.Values;
        if (values.Length == 0)
            return 0;
        foreach (var v in values)
        {
            if (v != values[0])
                throw new NirFormatException(delay.Name, "delay", "delays differ between elements; a projection here has one delay for all synapses");
        }

        if (!_flavor.Supports(delay))
            _report.Add(NirReport.Note(delay.Name, "not in the library", $"{_flavor.Name}'s NIR importer has no mapping for Delay; imported as NIR defines it", lossy: true));
        double steps = values[0] / _options.Dt;
        uint rounded = (uint)Math.Round(steps);
        bool exact = Math.Abs(steps - rounded) <= 1e-6 * Math.Max(1, steps);
        _report.Add(NirReport.Note(delay.Name, "delay_steps of the projections through it",
            $"delay_steps = round(delay/dt) = round({NirReport.F(values[0])}/{NirReport.D(_options.Dt)}) = {rounded}" +
            (exact ? "" : $" (the delay is {NirReport.D(steps)} steps; rounded)"), lossy: !exact));
        return rounded;
    }

    private void AddOperation(NirNode op, string source, string target, uint delayBefore, uint delayAfter)
    {
        var projection = NirOperations.Projection(op, _shapes.InputOf(op.Name), Shape(source), Shape(target), _flavor, _report,
            _options.Bounds.MaxSynapsesPerNetwork);
        if (!_flavor.Supports(op))
            _report.Add(NirReport.Note(op.Name, "not in the library", $"{_flavor.Name}'s NIR importer has no mapping for {op.Type}; imported as NIR defines it", lossy: true));
        if (HasBias(projection))
        {
            // The bias is there before the first delivered spikes only where a Delay precedes the operation:
            // after it, a Delay delays the bias too, and a recurrent input is zero at step 0 (nirtorch's
            // feedback starts from zeros).
            projection.BiasOnFirstStep = delayBefore > 0 && delayAfter == 0;
            if (delayBefore > 0 && delayAfter > 0)
                _report.Add(NirReport.Note(op.Name, "bias", "Delay nodes both before and after a biased operation: its bias starts with the first delivered spikes", lossy: true));
        }

        AddProjection(op.Name, source, target, projection, delayBefore + delayAfter);
    }

    private static bool HasBias(ProjectionSpec p) => p.KindCase switch
    {
        ProjectionSpec.KindOneofCase.Dense => p.Dense.Bias.Count > 0,
        ProjectionSpec.KindOneofCase.Sparse => p.Sparse.Bias.Count > 0,
        ProjectionSpec.KindOneofCase.Conv2D => p.Conv2D.Bias.Count > 0,
        _ => false,
    };

    private int[] Shape(string population)
    {
        var pop = _spec.Populations.First(p => p.Name == population);
        return pop.Shape.Count == 0 ? [(int)pop.Size] : pop.Shape.Select(d => (int)d).ToArray();
    }

    private string AddPopulation(string wanted, string model, int[] shape, IReadOnlyDictionary<string, ParameterValue>? parameters = null)
    {
        string name = UniqueName(wanted, _populationNames);
        if (name != wanted)
            _report.Add(NirReport.Note(wanted, $"population {name}", "renamed: names here are 1..64 characters of [A-Za-z0-9_.-], unique"));
        long size = 1;
        foreach (var d in shape)
            size = Math.Min(size * d, long.MaxValue / 2);
        if (size > _options.Bounds.MaxNeuronsPerPopulation)
        {
            throw new NirFormatException(wanted, "shape",
                $"{NirShapes.Format(shape)} is {size} neurons; a population here holds at most {_options.Bounds.MaxNeuronsPerPopulation} (ServerInfo.limits)");
        }

        var pop = new PopulationSpec { Name = name, Model = model, Size = (uint)size };
        if (shape.Length > 1)
            pop.Shape.AddRange(shape.Select(d => (uint)d));
        foreach (var (key, value) in parameters ?? new Dictionary<string, ParameterValue>())
            pop.Params[key] = value;
        _spec.Populations.Add(pop);
        return name;
    }

    private void AddProjection(string wanted, string source, string target, ProjectionSpec projection, uint delay)
    {
        projection.Name = UniqueName(wanted, _projectionNames);
        projection.Source = source;
        projection.Target = target;
        projection.DelaySteps = delay;
        _spec.Projections.Add(projection);
    }

    private static string UniqueName(string wanted, HashSet<string> taken)
    {
        var chars = wanted.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' ? c : '_').ToArray();
        string name = chars.Length == 0 ? "node" : new string(chars);
        if (name.Length > 64)
            name = name[..64];
        string candidate = name;
        for (int k = 2; !taken.Add(candidate); k++)
        {
            string suffix = "." + k;
            candidate = (name.Length + suffix.Length > 64 ? name[..(64 - suffix.Length)] : name) + suffix;
        }

        return candidate;
    }

    /// <summary>One way into a node: the operation on the way (null for none), the source population, and the delays.</summary>
    private readonly record struct Contribution(NirNode? Op, string Source, uint DelayBefore, uint DelayAfter);
}
