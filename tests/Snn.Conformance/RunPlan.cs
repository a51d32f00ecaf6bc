using System.Text.Json;
using Snn.Protos.V1;

namespace Snn.Conformance;

/// <summary>How one case becomes a network, its inputs, and a candidate file.</summary>
internal abstract class RunPlan
{
    public NetworkSpec? Spec { get; protected set; }

    /// <summary>Why the case cannot run (null when it can).</summary>
    public string? SkipReason { get; protected set; }

    public int Batch { get; protected set; }

    public int Steps { get; protected set; }

    /// <summary>Populations whose spikes and states are recorded, in record order.</summary>
    public List<string> Outputs { get; } = [];

    /// <summary>Adds the inputs of batch row <paramref name="b"/>, step <paramref name="t"/>, at <paramref name="offset"/>.</summary>
    public abstract void AddInputs(RunRequest request, int b, int t, int offset);

    public abstract void Write(Utf8JsonWriter writer, string name, IReadOnlyList<List<StepOutput>> rows);

    /// <summary>[batch][time][neuron] spikes of output <paramref name="o"/> (0 where none).</summary>
    protected float[][][] Spikes(IReadOnlyList<List<StepOutput>> rows, int o, int size)
    {
        return rows.Select(steps => steps.Select(step =>
        {
            var dense = new float[size];
            foreach (var ps in step.Spikes.Where(s => s.Population == o))
            {
                for (int k = 0; k < ps.Indices.Count; k++)
                {
                    dense[ps.Indices[k]] = ps.Values.Count > 0 ? ps.Values[k] : 1f;
                }
            }

            return dense;
        }).ToArray()).ToArray();
    }

    /// <summary>[variable name] -> [batch][time][neuron] for record <paramref name="r"/>.</summary>
    protected static Dictionary<string, float[][][]> States(IReadOnlyList<List<StepOutput>> rows, int r)
    {
        var names = rows[0][0].States.Where(s => s.Record == r).Select(s => s.Variable).ToList();
        return names.ToDictionary(v => v, v => rows.Select(steps => steps.Select(step =>
            step.States.First(s => s.Record == r && s.Variable == v).Values.ToArray()).ToArray()).ToArray());
    }

    protected static void WriteTensor(Utf8JsonWriter w, float[][][] t)
    {
        w.WriteStartArray();
        foreach (var b in t)
        {
            w.WriteStartArray();
            foreach (var step in b)
            {
                w.WriteStartArray();
                foreach (float v in step)
                {
                    w.WriteNumberValue(v);
                }

                w.WriteEndArray();
            }

            w.WriteEndArray();
        }

        w.WriteEndArray();
    }

    protected void WriteTraces(Utf8JsonWriter w, IReadOnlyList<List<StepOutput>> rows, int o, int size)
    {
        w.WritePropertyName("spikes");
        WriteTensor(w, Spikes(rows, o, size));
        w.WriteStartObject("states");
        foreach (var (variable, values) in States(rows, o))
        {
            w.WritePropertyName(variable);
            WriteTensor(w, values);
        }

        w.WriteEndObject();
    }
}

/// <summary><c>snn-refcase/1</c>: one layer driven by a dense current per step.</summary>
internal sealed class LayerCase : RunPlan
{
    private const string Layer = "layer";
    private float[][][] _input = [];
    private int _size;

    public static RunPlan Plan(JsonElement root, string name)
    {
        string caseModel = CaseFile.Str(root, "model") ?? "";
        if (ParameterMapping.ModelOf(caseModel) is not var (model, recurrent))
        {
            return new LayerCase { SkipReason = $"no server model for library model '{caseModel}'" };
        }

        var shape = root.GetProperty("shape");
        int size = shape.GetProperty("neurons").GetInt32();
        var pop = new PopulationSpec { Name = Layer, Model = model, Size = (uint)size };
        ParameterMapping.Add(root.GetProperty("params"), pop.Params);
        var spec = new NetworkSpec
        {
            Dt = root.TryGetProperty("dt", out var dt) && dt.ValueKind == JsonValueKind.Number ? dt.GetDouble() : 0,
            Instances = (uint)shape.GetProperty("batch").GetInt32(),
        };
        spec.Populations.Add(pop);
        if (recurrent)
        {
            spec.Projections.Add(RecurrentProjection(root.GetProperty("weights"), model));
        }

        var plan = new LayerCase
        {
            Spec = spec,
            Batch = shape.GetProperty("batch").GetInt32(),
            Steps = shape.GetProperty("time").GetInt32(),
            _input = CaseFile.Tensor3(root.GetProperty("input")),
            _size = size,
        };
        plan.Outputs.Add(Layer);
        return plan;
    }

    /// <summary>
    /// The recurrent connection as a self-projection: sinabs rec_connect (Linear without bias; the
    /// library starts each call with no recurrent input, so a bias would not apply at step 0), snntorch
    /// RLeaky all-to-all (Linear with bias, applied from step 0) or one-to-one V.
    /// </summary>
    private static ProjectionSpec RecurrentProjection(JsonElement weights, string model)
    {
        var j = new ProjectionSpec { Name = "recurrent", Source = Layer, Target = Layer };
        if (weights.TryGetProperty("rec_weight", out var w) && w.ValueKind == JsonValueKind.Array)
        {
            j.Dense = new DenseProjection();
            j.Dense.Weights.Add(CaseFile.Flatten(w));
            if (weights.TryGetProperty("rec_bias", out var bias) && bias.ValueKind == JsonValueKind.Array)
            {
                j.Dense.Bias.Add(CaseFile.Flatten(bias));
            }

            j.BiasOnFirstStep = !model.StartsWith("sinabs.", StringComparison.Ordinal);
        }
        else
        {
            j.OneToOne = new OneToOneProjection();
            j.OneToOne.Weights.Add(CaseFile.Flatten(weights.GetProperty("V")));
        }

        return j;
    }

    public override void AddInputs(RunRequest request, int b, int t, int offset)
    {
        var input = new Input { Population = Layer, Offset = (uint)offset };
        input.Current.Add(_input[b][t]);
        request.Inputs.Add(input);
    }

    public override void Write(Utf8JsonWriter w, string name, IReadOnlyList<List<StepOutput>> rows)
    {
        w.WriteStartObject();
        w.WriteString("case", name);
        w.WriteString("implementation", "SnnService over gRPC");
        WriteTraces(w, rows, 0, _size);
        w.WriteEndObject();
    }
}

/// <summary><c>snn-refnet/1</c>: populations and projections, spikes into the input population.</summary>
internal sealed class NetCase : RunPlan
{
    private string _inputPopulation = "";
    private float[][][] _input = [];
    private readonly List<int> _sizes = [];

    public static RunPlan Plan(JsonElement root, string name)
    {
        var network = root.GetProperty("network");
        var spec = new NetworkSpec
        {
            Dt = network.TryGetProperty("dt", out var dt) && dt.ValueKind == JsonValueKind.Number ? dt.GetDouble() : 0,
        };
        var plan = new NetCase();
        foreach (var p in network.GetProperty("populations").EnumerateArray())
        {
            var pop = new PopulationSpec
            {
                Name = p.GetProperty("name").GetString()!,
                Model = p.GetProperty("model").GetString()!,
                Size = (uint)p.GetProperty("size").GetInt32(),
            };
            if (p.TryGetProperty("shape", out var shape))
            {
                pop.Shape.Add(shape.EnumerateArray().Select(d => (uint)d.GetInt32()));
            }

            if (p.TryGetProperty("params", out var ps))
            {
                ParameterMapping.Add(ps, pop.Params);
            }

            spec.Populations.Add(pop);
            if (pop.Model != "input")
            {
                plan.Outputs.Add(pop.Name);
                plan._sizes.Add((int)pop.Size);
            }
        }

        foreach (var j in network.GetProperty("projections").EnumerateArray())
        {
            string kind = j.GetProperty("kind").GetString()!;
            var ps = new ProjectionSpec
            {
                Name = j.GetProperty("name").GetString()!,
                Source = j.GetProperty("source").GetString()!,
                Target = j.GetProperty("target").GetString()!,
            };
            switch (kind)
            {
                case "dense":
                    ps.Dense = new DenseProjection();
                    ps.Dense.Weights.Add(CaseFile.Flatten(j.GetProperty("weights")));
                    if (j.TryGetProperty("bias", out var bias) && bias.ValueKind == JsonValueKind.Array)
                    {
                        ps.Dense.Bias.Add(CaseFile.Flatten(bias));
                    }

                    break;
                case "one_to_one":
                    ps.OneToOne = new OneToOneProjection();
                    if (j.TryGetProperty("weights", out var ow) && ow.ValueKind == JsonValueKind.Array)
                    {
                        ps.OneToOne.Weights.Add(CaseFile.Flatten(ow));
                    }

                    break;
                case "sparse":
                    ps.Sparse = new SparseProjection();
                    ps.Sparse.Pre.Add(Sizes(j, "pre"));
                    ps.Sparse.Post.Add(Sizes(j, "post"));
                    ps.Sparse.Weights.Add(CaseFile.Flatten(j.GetProperty("weights")));
                    if (j.TryGetProperty("bias", out var sparseBias) && sparseBias.ValueKind == JsonValueKind.Array)
                    {
                        ps.Sparse.Bias.Add(CaseFile.Flatten(sparseBias));
                    }

                    break;
                case "conv2d":
                    ps.Conv2D = new Conv2dProjection();
                    ps.Conv2D.Weights.Add(CaseFile.Flatten(j.GetProperty("weights"))); // [out_c][in_c][kh][kw]
                    ps.Conv2D.KernelSize.Add(Sizes(j, "kernel_size"));
                    ps.Conv2D.Stride.Add(Sizes(j, "stride"));
                    ps.Conv2D.Padding.Add(Sizes(j, "padding"));
                    if (j.TryGetProperty("bias", out var convBias) && convBias.ValueKind == JsonValueKind.Array)
                    {
                        ps.Conv2D.Bias.Add(CaseFile.Flatten(convBias));
                    }

                    break;
                case "sumpool2d":
                    ps.SumPool2D = new SumPool2dProjection();
                    ps.SumPool2D.KernelSize.Add(Sizes(j, "kernel_size"));
                    ps.SumPool2D.Stride.Add(Sizes(j, "stride"));
                    ps.SumPool2D.Padding.Add(Sizes(j, "padding"));
                    break;
                default:
                    return new NetCase { SkipReason = $"projection '{ps.Name}' is of kind {kind}, which the API cannot express yet" };
            }

            if (j.TryGetProperty("bias_on_first_step", out var first) && first.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                ps.BiasOnFirstStep = first.GetBoolean();
            }

            if (j.TryGetProperty("delay_steps", out var delay) && delay.ValueKind == JsonValueKind.Number)
            {
                ps.DelaySteps = delay.GetUInt32();
            }

            spec.Projections.Add(ps);
        }

        var shapeOf = root.GetProperty("shape");
        plan.Batch = shapeOf.GetProperty("batch").GetInt32();
        plan.Steps = shapeOf.GetProperty("time").GetInt32();
        spec.Instances = (uint)plan.Batch;
        plan.Spec = spec;
        var input = root.GetProperty("input");
        plan._inputPopulation = input.GetProperty("population").GetString()!;
        plan._input = input.GetProperty("data").EnumerateArray()
            .Select(b => b.EnumerateArray().Select(CaseFile.Flatten).ToArray()).ToArray();
        return plan;
    }

    /// <summary>
    /// A size list such as kernel_size, stride or padding (a number or a list of numbers), or neuron
    /// indices; empty when absent or null (the server's default).
    /// </summary>
    private static IEnumerable<uint> Sizes(JsonElement projection, string name)
    {
        if (!projection.TryGetProperty(name, out var e))
        {
            return [];
        }

        return e.ValueKind switch
        {
            JsonValueKind.Number => [e.GetUInt32()],
            JsonValueKind.Array => e.EnumerateArray().Select(x => x.GetUInt32()).ToArray(),
            _ => [],
        };
    }

    public override void AddInputs(RunRequest request, int b, int t, int offset)
    {
        var frame = _input[b][t];
        var input = new Input { Population = _inputPopulation, Offset = (uint)offset };
        bool ones = true;
        for (int n = 0; n < frame.Length; n++)
        {
            if (frame[n] != 0f)
            {
                input.Indices.Add((uint)n);
                ones &= frame[n] == 1f;
            }
        }

        if (!ones)
        {
            foreach (float v in frame)
            {
                if (v != 0f)
                {
                    input.Values.Add(v);
                }
            }
        }

        if (input.Indices.Count > 0)
        {
            request.Inputs.Add(input);
        }
    }

    public override void Write(Utf8JsonWriter w, string name, IReadOnlyList<List<StepOutput>> rows)
    {
        w.WriteStartObject();
        w.WriteString("case", name);
        w.WriteString("implementation", "SnnService over gRPC");
        w.WriteStartObject("traces");
        for (int o = 0; o < Outputs.Count; o++)
        {
            w.WriteStartObject(Outputs[o]);
            WriteTraces(w, rows, o, _sizes[o]);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }
}
