using System.Text.RegularExpressions;
using Snn.Server.Models;

namespace Snn.Server.Engine;

/// <summary>
/// Validates a <see cref="NetworkDefinition"/> and builds the runtime <see cref="Network"/>: compiles
/// every population's model, lays out buffers, computes the feed-forward order and which projections
/// deliver the same step's spikes. Runs on the caller's thread, so a large network is allocated
/// before the step loop sees it. Every refusal is an <see cref="EngineException"/> naming the field.
/// </summary>
internal static partial class NetworkBuilder
{
    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex NamePattern();

    public static void CheckName(string? name, string field)
    {
        if (string.IsNullOrEmpty(name) || !NamePattern().IsMatch(name))
        {
            throw EngineException.Invalid($"{field} '{name}' is not a valid name: use 1 to 64 characters of A-Z a-z 0-9 _ . -");
        }
    }

    public static void CheckFinite(float[] values, string field)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw EngineException.Invalid($"{field}[{i}] is {values[i]}; values must be finite numbers");
            }
        }
    }

    /// <summary>A bias[target]: one finite value per target neuron.</summary>
    public static void CheckTargetBias(float[] bias, Population target, string field)
    {
        if (bias.Length != target.Size)
        {
            throw EngineException.Invalid($"{field} has {bias.Length} values; it needs one per target neuron ({target.Size})");
        }

        CheckFinite(bias, field);
    }

    /// <summary>
    /// Validates <paramref name="def"/> and builds the network. <paramref name="reserve"/>, when given, is
    /// called once the populations are validated and before any buffer is allocated, with an upper bound
    /// of the bytes the network will hold (<see cref="EstimateBytes"/>); it may refuse by throwing.
    /// </summary>
    public static Network Build(NetworkDefinition def, EngineLimits limits, Action<long>? reserve = null)
    {
        // A tenant's network is named tenant:name (Security/TenantScope, which checked both parts); the engine checks the name.
        CheckName(def.Name[(def.Name.IndexOf(':', StringComparison.Ordinal) + 1)..], "spec.name");
        if (!double.IsFinite(def.Dt) || def.Dt <= 0)
        {
            throw EngineException.Invalid($"spec.dt is {def.Dt}; it must be a positive number of seconds (default 0.001)");
        }

        if (def.Dt > limits.MaxDt)
        {
            throw EngineException.Invalid($"spec.dt is {def.Dt} s; it must be at most {limits.MaxDt} s (Snn:Limits:MaxDt)");
        }

        if (!double.IsFinite(def.RealtimeFactor) || def.RealtimeFactor <= 0)
        {
            throw EngineException.Invalid($"spec.realtime_factor is {def.RealtimeFactor}; it must be positive (default 1)");
        }

        if (def.Clock == ClockMode.Realtime && def.Dt * def.RealtimeFactor < limits.MinRealtimePeriod)
        {
            throw EngineException.Invalid(
                $"spec.dt × spec.realtime_factor = {def.Dt * def.RealtimeFactor} s; a REALTIME tick period must be at least {limits.MinRealtimePeriod} s");
        }

        if (def.Clock == ClockMode.Realtime && def.Dt * def.RealtimeFactor > limits.MaxTickPeriod)
        {
            throw EngineException.Invalid(
                $"spec.dt × spec.realtime_factor = {def.Dt * def.RealtimeFactor} s; a REALTIME tick period must be at most {limits.MaxTickPeriod} s (Snn:Limits:MaxTickPeriod); lower dt or realtime_factor");
        }

        if (def.Instances < 1 || def.Instances > limits.MaxInstances)
        {
            throw EngineException.Invalid($"spec.instances is {def.RequestedInstances ?? def.Instances}; it must be 1..{limits.MaxInstances}");
        }

        if (def.Populations.Count == 0)
        {
            throw EngineException.Invalid("spec.populations is empty; a network needs at least one population");
        }

        if (def.Populations.Count > limits.MaxLayers || def.Projections.Count > limits.MaxLayers)
        {
            throw EngineException.Invalid($"a network may have at most {limits.MaxLayers} populations and {limits.MaxLayers} projections");
        }

        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        var populations = new Population[def.Populations.Count];
        var kernels = new (NeuronModel Model, NeuronKernel Kernel)[populations.Length];
        long neurons = 0;
        long stateValues = 0;
        for (int i = 0; i < populations.Length; i++)
        {
            var pd = def.Populations[i];
            string field = $"spec.populations[{i}]";
            CheckName(pd.Name, field + ".name");
            if (!byName.TryAdd(pd.Name, i))
            {
                throw new EngineException(EngineError.InvalidArgument, $"{field}.name '{pd.Name}' is used by another population");
            }

            if (pd.Size < 1 || pd.Size > limits.MaxNeuronsPerPopulation)
            {
                throw EngineException.Invalid($"{field}.size is {pd.Size}; it must be 1..{limits.MaxNeuronsPerPopulation}");
            }

            if (pd.Shape.Count > 0)
            {
                // Stops once past the size: each factor is below 2^31, so the product never overflows (it
                // did before, and a shape of 10^20 neurons whose product wrapped to its size was accepted).
                long product = 1;
                foreach (int d in pd.Shape)
                {
                    if (product > pd.Size)
                    {
                        break;
                    }

                    product *= d;
                }

                if (product != pd.Size || pd.Shape.Any(d => d < 1))
                {
                    throw EngineException.Invalid($"{field}.shape [{string.Join(',', pd.Shape)}] does not multiply to size {pd.Size}");
                }
            }

            if (!ModelCatalog.TryGet(pd.Model, out var model))
            {
                throw EngineException.Invalid(
                    $"{field}.model '{pd.Model}' is unknown; known models: {string.Join(", ", ModelCatalog.All.Select(m => m.Name))}");
            }

            neurons += pd.Size;
            stateValues += (long)pd.Size * def.Instances * (model.StateVariables.Count + 3);
            if (neurons > limits.MaxNeuronsPerNetwork)
            {
                throw EngineException.Invalid($"the network has more than {limits.MaxNeuronsPerNetwork} neurons (Snn:Limits:MaxNeuronsPerNetwork)");
            }

            if (stateValues > limits.MaxStateValuesPerNetwork)
            {
                throw EngineException.Invalid(
                    $"populations × instances need more than {limits.MaxStateValuesPerNetwork} state values (Snn:Limits:MaxStateValuesPerNetwork); use fewer instances or neurons");
            }

            kernels[i] = (model, Compile(model, pd.Parameters, pd.Size, def.Dt, field));
        }

        // Everything the network will hold is known from here: charge it before allocating any of it.
        reserve?.Invoke(EstimateBytes(def, kernels.Select(k => k.Model).ToArray(), byName, limits.MaxInputHorizon));
        for (int i = 0; i < populations.Length; i++)
        {
            populations[i] = new Population(i, def.Populations[i], kernels[i].Model, kernels[i].Kernel, def.Instances);
        }

        var projections = new Projection[def.Projections.Count];
        var projectionNames = new HashSet<string>(StringComparer.Ordinal);
        long synapses = 0;
        for (int i = 0; i < projections.Length; i++)
        {
            var jd = def.Projections[i];
            string field = $"spec.projections[{i}]";
            CheckName(jd.Name, field + ".name");
            if (!projectionNames.Add(jd.Name))
            {
                throw EngineException.Invalid($"{field}.name '{jd.Name}' is used by another projection");
            }

            var source = Resolve(byName, populations, jd.Source, field + ".source");
            var target = Resolve(byName, populations, jd.Target, field + ".target");
            if (jd.DelaySteps < 0 || jd.DelaySteps > limits.MaxDelaySteps)
            {
                throw EngineException.Invalid(
                    $"{field}.delay_steps is {jd.DelaySteps}; it must be 0..{limits.MaxDelaySteps} (Snn:Limits:MaxDelaySteps)");
            }

            Projection projection = jd.Kind switch
            {
                ProjectionKind.Dense => BuildDense(jd, i, source, target, field),
                ProjectionKind.OneToOne => BuildOneToOne(jd, i, source, target, field),
                ProjectionKind.Sparse => BuildSparse(jd, i, source, target, field),
                ProjectionKind.Conv2d => BuildConv2d(jd, i, source, target, field),
                ProjectionKind.SumPool2d => BuildSumPool2d(jd, i, source, target, field),
                _ => throw EngineException.Invalid($"{field} has an unknown kind {jd.Kind}"),
            };
            synapses += projection.Synapses;
            if (synapses > limits.MaxSynapsesPerNetwork)
            {
                throw EngineException.Invalid($"the network has more than {limits.MaxSynapsesPerNetwork} synapses (Snn:Limits:MaxSynapsesPerNetwork)");
            }

            projection.IntoRecurrentInput = source == target && target.Model.HasRecurrentInput;
            target.Incoming.Add(projection);
            projections[i] = projection;
        }

        int[] order = ComputeOrder(populations, projections);

        // Delay lines (lag × source size per instance) count as state; allocated once the lags are known.
        foreach (var j in projections)
        {
            stateValues += j.DelayLineValues * def.Instances;
            if (stateValues > limits.MaxStateValuesPerNetwork)
            {
                throw EngineException.Invalid(
                    $"spec.projections[{j.Index}].delay_steps {j.DelaySteps}: the delay lines need more than {limits.MaxStateValuesPerNetwork} state values together with the populations (Snn:Limits:MaxStateValuesPerNetwork); use shorter delays or fewer instances");
            }
        }

        foreach (var j in projections)
        {
            j.AllocateDelayLine(def.Instances);
        }

        // A stateless population's spikes are its input of the step. They can share the input buffer
        // unless a projection reads them at the next step straight from the buffer (a previous-step
        // projection without delay line: by then the buffer holds the next step's input).
        foreach (var p in populations)
        {
            if (p.Model is StatelessModel && !projections.Any(j => j.Source == p && !j.SameStep && !j.Delayed))
            {
                p.ShareSpikesWithInput();
            }
        }

        return new Network(def, populations, projections, order, limits.MaxInputHorizon);
    }

    /// <summary>
    /// An upper bound of the bytes a network of <paramref name="def"/> holds, computed from the definition
    /// alone (nothing allocated): per population, its state variables, input, spikes and recurrent input
    /// (instances × size floats each); per projection, its weights, bias and connectivity as stored, and
    /// its delay line ((delay_steps + 1) × source size × instances); plus <see cref="OverheadBytes"/>.
    /// Populations are those validated; a projection naming an unknown population counts nothing (it is
    /// refused later).
    /// </summary>
    internal static long EstimateBytes(NetworkDefinition def, NeuronModel[] models, IReadOnlyDictionary<string, int> byName, int horizon)
    {
        long instances = def.Instances;
        long bytes = 0;
        int maxSize = 1;
        for (int i = 0; i < models.Length; i++)
        {
            long size = def.Populations[i].Size;
            maxSize = Math.Max(maxSize, def.Populations[i].Size);
            bytes += 4 * size * instances * (models[i].StateVariables.Count + 2 + (models[i].HasRecurrentInput ? 1 : 0));
        }

        foreach (var jd in def.Projections)
        {
            if (!byName.TryGetValue(jd.Source, out int source) || !byName.TryGetValue(jd.Target, out int target))
            {
                continue;
            }

            long sourceSize = def.Populations[source].Size;
            long targetSize = def.Populations[target].Size;
            long bias = jd.Bias?.Length ?? 0;
            bytes += 4 * jd.Kind switch
            {
                ProjectionKind.Dense => jd.Weights.Length + bias,
                ProjectionKind.OneToOne => Math.Max(jd.Weights.Length, targetSize),
                ProjectionKind.Sparse => sourceSize + 1 + 4L * jd.Weights.Length + bias, // row starts; post, spec index, weights (+ slack)
                ProjectionKind.Conv2d => 2L * jd.Weights.Length + bias, // weights and their scatter layout
                _ => 0,
            };
            if (jd.DelaySteps > 0)
            {
                bytes += 4 * (jd.DelaySteps + 1L) * sourceSize * instances;
            }
        }

        return bytes + OverheadBytes(maxSize, def.Instances, horizon);
    }

    /// <summary>
    /// Bytes a network holds besides its buffers and weights: the projection scratch buffer (the largest
    /// population) and each instance's queue of future inputs (two references per step of the horizon).
    /// </summary>
    internal static long OverheadBytes(int maxPopulationSize, int instances, int horizon) =>
        4L * maxPopulationSize + 16L * horizon * instances;

    /// <summary>What <paramref name="network"/> is charged against the memory budget: its buffers and weights plus <see cref="OverheadBytes"/>.</summary>
    internal static long ChargedBytes(Network network, int horizon) =>
        network.Bytes + OverheadBytes(network.Scratch.Length, network.Instances.Length, horizon);

    public static NeuronKernel Compile(NeuronModel model, IReadOnlyDictionary<string, ParamValue> parameters, int size,
        double dt, string field)
    {
        foreach (var (name, value) in parameters)
        {
            if (value.PerNeuron is { } values)
            {
                if (values.Length != size)
                {
                    throw EngineException.Invalid(
                        $"{field}.params.{name} has {values.Length} values; a per-neuron parameter needs one per neuron ({size})");
                }

                CheckFinite(values, $"{field}.params.{name}");
            }
            else if (value.Kind == ParamKind.Number && !double.IsFinite(value.Scalar))
            {
                throw EngineException.Invalid($"{field}.params.{name} is {value.Scalar}; it must be a finite number");
            }
        }

        try
        {
            return model.Compile(parameters, size, dt);
        }
        catch (ModelParameterException e)
        {
            throw EngineException.Invalid($"{field}.params.{e.Parameter}: {e.Message}");
        }
    }

    private static Population Resolve(Dictionary<string, int> byName, Population[] populations, string name, string field)
    {
        if (!byName.TryGetValue(name, out int index))
        {
            throw EngineException.Invalid($"{field} '{name}' is not a population of this network");
        }

        return populations[index];
    }

    private static DenseProjection BuildDense(ProjectionDefinition jd, int index, Population source, Population target, string field)
    {
        long expected = (long)target.Size * source.Size;
        if (jd.Weights.Length != expected)
        {
            throw EngineException.Invalid(
                $"{field}.dense.weights has {jd.Weights.Length} values; it needs target.size*source.size = {target.Size}*{source.Size} = {expected} (row-major [target][source])");
        }

        CheckFinite(jd.Weights, field + ".dense.weights");
        if (jd.Bias is { Length: > 0 } bias)
        {
            CheckTargetBias(bias, target, field + ".dense.bias");
        }

        return new DenseProjection(jd.Name, index, source, target, jd.BiasOnFirstStep, jd.Weights, jd.Bias)
        {
            DelaySteps = jd.DelaySteps,
        };
    }

    private static OneToOneProjection BuildOneToOne(ProjectionDefinition jd, int index, Population source, Population target, string field)
    {
        if (source.Size != target.Size)
        {
            throw EngineException.Invalid(
                $"{field}: a one-to-one projection needs equal sizes; source '{source.Name}' has {source.Size}, target '{target.Name}' has {target.Size}");
        }

        var weights = jd.Weights;
        if (weights.Length == 1 && target.Size != 1)
        {
            weights = Enumerable.Repeat(weights[0], target.Size).ToArray(); // one weight for all
        }

        if (weights.Length != 0 && weights.Length != target.Size)
        {
            throw EngineException.Invalid(
                $"{field}.one_to_one.weights has {jd.Weights.Length} values; it needs {target.Size}, one for all, or none for weight 1");
        }

        CheckFinite(weights, field + ".one_to_one.weights");
        if (jd.Bias is { Length: > 0 })
        {
            throw EngineException.Invalid($"{field}: a one-to-one projection has no bias");
        }

        return new OneToOneProjection(jd.Name, index, source, target, jd.BiasOnFirstStep, weights)
        {
            DelaySteps = jd.DelaySteps,
        };
    }

    private static SparseProjection BuildSparse(ProjectionDefinition jd, int index, Population source, Population target, string field)
    {
        int[] pre = jd.Pre;
        int[] post = jd.Post;
        if (pre.Length != post.Length || pre.Length != jd.Weights.Length)
        {
            throw EngineException.Invalid(
                $"{field}.sparse has {pre.Length} pre, {post.Length} post and {jd.Weights.Length} weights; they must have equal lengths (one (pre, post, weight) triple per synapse)");
        }

        for (int k = 0; k < pre.Length; k++)
        {
            if ((uint)pre[k] >= (uint)source.Size)
            {
                throw EngineException.Invalid(
                    $"{field}.sparse.pre[{k}] is {pre[k]}; source '{source.Name}' has {source.Size} neurons (0..{source.Size - 1})");
            }

            if ((uint)post[k] >= (uint)target.Size)
            {
                throw EngineException.Invalid(
                    $"{field}.sparse.post[{k}] is {post[k]}; target '{target.Name}' has {target.Size} neurons (0..{target.Size - 1})");
            }
        }

        CheckFinite(jd.Weights, field + ".sparse.weights");
        if (jd.Bias is { Length: > 0 } bias)
        {
            CheckTargetBias(bias, target, field + ".sparse.bias");
        }

        return new SparseProjection(jd.Name, index, source, target, jd.BiasOnFirstStep, pre, post, jd.Weights, jd.Bias)
        {
            DelaySteps = jd.DelaySteps,
        };
    }

    private static Conv2dProjection BuildConv2d(ProjectionDefinition jd, int index, Population source, Population target, string field)
    {
        var g = Geometry(jd, source, target, field + ".conv2d", "conv2d", defaultStrideIsKernel: false, sameChannels: false);
        Conv2dProjection.CheckWeights(jd.Weights, g, field + ".conv2d.weights", "it");
        if (jd.Bias is { Length: > 0 } bias)
        {
            Conv2dProjection.CheckBias(bias, g, field + ".conv2d.bias", "it");
        }

        return new Conv2dProjection(jd.Name, index, source, target, jd.BiasOnFirstStep, g, jd.Weights, jd.Bias)
        {
            DelaySteps = jd.DelaySteps,
        };
    }

    private static SumPool2dProjection BuildSumPool2d(ProjectionDefinition jd, int index, Population source, Population target, string field)
    {
        if (jd.Weights.Length > 0 || jd.Bias is { Length: > 0 })
        {
            throw EngineException.Invalid($"{field}.sum_pool2d: a sum pooling projection has no weights or bias");
        }

        var g = Geometry(jd, source, target, field + ".sum_pool2d", "sum_pool2d", defaultStrideIsKernel: true, sameChannels: true);
        return new SumPool2dProjection(jd.Name, index, source, target, jd.BiasOnFirstStep, g)
        {
            DelaySteps = jd.DelaySteps,
        };
    }

    /// <summary>
    /// Checks kernel_size, stride and padding and that the target's shape is the window operation's
    /// output shape: [out_c (or C when <paramref name="sameChannels"/>), floor((H+2p-k)/s)+1, ...].
    /// </summary>
    private static Window2d Geometry(ProjectionDefinition jd, Population source, Population target, string field, string kind,
        bool defaultStrideIsKernel, bool sameChannels)
    {
        foreach (var (pop, role) in new[] { (source, "source"), (target, "target") })
        {
            if (pop.Shape.Count != 3)
            {
                string shape = pop.Shape.Count == 0 ? $"no shape (size {pop.Size})" : $"shape [{string.Join(',', pop.Shape)}]";
                throw EngineException.Invalid(
                    $"{field}: {role} '{pop.Name}' has {shape}; a {kind} projection needs source and target populations of shape [C,H,W]");
            }
        }

        var (kh, kw) = Pair(jd.KernelSize, null, field + ".kernel_size", 1, required: true);
        var (sy, sx) = Pair(jd.Stride, defaultStrideIsKernel ? (kh, kw) : (1, 1), field + ".stride", 1, required: false);
        var (py, px) = Pair(jd.Padding, (0, 0), field + ".padding", 0, required: false);

        int c = source.Shape[0], h = source.Shape[1], w = source.Shape[2];
        int outC = sameChannels ? c : target.Shape[0];
        long ho = Window2d.OutputSize(h, kh, sy, py);
        long wo = Window2d.OutputSize(w, kw, sx, px);
        string input =
            $"source '{source.Name}' [{c},{h},{w}] with kernel_size [{kh},{kw}], stride [{sy},{sx}], padding [{py},{px}]";
        if (ho < 1 || wo < 1)
        {
            throw EngineException.Invalid($"{field}: the kernel does not fit {input}; it needs H+2*padding >= kernel on both axes");
        }

        if (target.Shape[0] != outC || target.Shape[1] != ho || target.Shape[2] != wo)
        {
            throw EngineException.Invalid(
                $"{field}: {input} gives an output of shape [{outC},{ho},{wo}] (floor((H+2p-k)/s)+1{(sameChannels ? ", channels unchanged" : "")}); target '{target.Name}' has shape [{string.Join(',', target.Shape)}]");
        }

        return new Window2d(c, h, w, outC, (int)ho, (int)wo, kh, kw, sy, sx, py, px);
    }

    /// <summary>A [y, x] pair from 2 values, 1 value (both), or none (<paramref name="fallback"/>).</summary>
    private static (int Y, int X) Pair(int[] values, (int, int)? fallback, string field, int min, bool required)
    {
        (int, int) pair;
        switch (values.Length)
        {
            case 0 when !required && fallback is { } f:
                return f;
            case 1:
                pair = (values[0], values[0]);
                break;
            case 2:
                pair = (values[0], values[1]);
                break;
            default:
                throw EngineException.Invalid(
                    $"{field} has {values.Length} values; give [y, x] or one value for both{(required ? "" : " (or none for the default)")}");
        }

        const int max = 1 << 16;
        if (pair.Item1 < min || pair.Item2 < min || pair.Item1 > max || pair.Item2 > max)
        {
            throw EngineException.Invalid($"{field} is [{pair.Item1},{pair.Item2}]; each value must be {min}..{max}");
        }

        return pair;
    }

    /// <summary>
    /// Feed-forward order: a depth-first search from the entry points (input populations, then
    /// populations nothing projects into, then the rest, each in declaration order) marks the
    /// projections that close a cycle (to a population still on the search stack); self-projections and
    /// those are previous-step projections. The rest form a DAG, ordered topologically with ties broken
    /// by declaration order. Every same-step projection then has its source before its target.
    /// </summary>
    internal static int[] ComputeOrder(Population[] populations, Projection[] projections)
    {
        int n = populations.Length;
        var outgoing = new List<Projection>[n];
        for (int i = 0; i < n; i++)
        {
            outgoing[i] = [];
        }

        foreach (var j in projections)
        {
            outgoing[j.Source.Index].Add(j);
        }

        // Search from the network's entry points first: input populations, then populations nothing
        // projects into, then the rest; each group in declaration order.
        var fedBy = new int[n];
        foreach (var j in projections)
        {
            if (j.Source != j.Target)
            {
                fedBy[j.Target.Index]++;
            }
        }

        var roots = Enumerable.Range(0, n)
            .OrderBy(i => populations[i].Model is InputModel ? 0 : fedBy[i] == 0 ? 1 : 2)
            .ThenBy(i => i);

        var back = new bool[projections.Length];
        var state = new byte[n]; // 0 new, 1 on stack, 2 done
        var stack = new Stack<(int Node, int Next)>();
        foreach (int root in roots)
        {
            if (state[root] != 0)
            {
                continue;
            }

            stack.Push((root, 0));
            state[root] = 1;
            while (stack.Count > 0)
            {
                var (node, next) = stack.Pop();
                if (next < outgoing[node].Count)
                {
                    stack.Push((node, next + 1));
                    var j = outgoing[node][next];
                    int t = j.Target.Index;
                    if (state[t] == 1)
                    {
                        back[j.Index] = true; // closes a cycle (self-projections included)
                    }
                    else if (state[t] == 0)
                    {
                        state[t] = 1;
                        stack.Push((t, 0));
                    }
                }
                else
                {
                    state[node] = 2;
                }
            }
        }

        var indegree = new int[n];
        foreach (var j in projections)
        {
            if (!back[j.Index])
            {
                indegree[j.Target.Index]++;
            }
        }

        var ready = new SortedSet<int>();
        for (int i = 0; i < n; i++)
        {
            if (indegree[i] == 0)
            {
                ready.Add(i);
            }
        }

        var order = new int[n];
        int count = 0;
        while (ready.Count > 0)
        {
            int node = ready.Min;
            ready.Remove(node);
            order[count++] = node;
            foreach (var j in outgoing[node])
            {
                if (!back[j.Index] && --indegree[j.Target.Index] == 0)
                {
                    ready.Add(j.Target.Index);
                }
            }
        }

        foreach (var j in projections)
        {
            j.SameStep = !back[j.Index];
        }

        return order;
    }
}
