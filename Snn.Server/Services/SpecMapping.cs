using Snn.Protos.V1;
using Snn.Server.Engine;
using Snn.Server.Models;
using EngineClock = Snn.Server.Engine.ClockMode;
using ProtoClock = Snn.Protos.V1.ClockMode;

namespace Snn.Server.Services;

/// <summary>Maps snn.v1 messages to engine types and back. Protobuf types stop here.</summary>
internal static class SpecMapping
{
    /// <summary>dt when the spec leaves it 0.</summary>
    public const double DefaultDt = 0.001;

    public static NetworkDefinition ToDefinition(NetworkSpec? spec)
    {
        if (spec is null)
        {
            throw EngineException.Invalid("spec is missing");
        }

        var populations = new List<PopulationDefinition>(spec.Populations.Count);
        for (int i = 0; i < spec.Populations.Count; i++)
        {
            var p = spec.Populations[i];
            if (p.Size > int.MaxValue)
            {
                throw EngineException.Invalid($"spec.populations[{i}].size is {p.Size}; it must be at most ServerInfo.limits.max_neurons_per_population (Snn:Limits:MaxNeuronsPerPopulation)");
            }

            populations.Add(new PopulationDefinition(
                p.Name,
                p.Model,
                (int)p.Size,
                p.Shape.Select(d => (int)Math.Min(d, int.MaxValue)).ToArray(),
                ToParameters(p.Params, $"spec.populations[{i}].params")));
        }

        var projections = new List<ProjectionDefinition>(spec.Projections.Count);
        for (int i = 0; i < spec.Projections.Count; i++)
        {
            projections.Add(ToDefinition(spec.Projections[i], $"spec.projections[{i}]"));
        }

        var clock = spec.Clock switch
        {
            ProtoClock.Unspecified or ProtoClock.Lockstep => EngineClock.Lockstep,
            ProtoClock.Realtime => EngineClock.Realtime,
            _ => throw EngineException.Invalid($"spec.clock {(int)spec.Clock} is unknown; use CLOCK_MODE_LOCKSTEP or CLOCK_MODE_REALTIME"),
        };
        return new NetworkDefinition(
            spec.Name,
            populations,
            projections,
            spec.Dt == 0 ? DefaultDt : spec.Dt,
            clock,
            spec.Instances == 0 ? 1 : (int)Math.Min(spec.Instances, int.MaxValue),
            spec.RealtimeFactor == 0 ? 1 : spec.RealtimeFactor)
        {
            RequestedInstances = spec.Instances > int.MaxValue ? spec.Instances : null,
            Placement = spec.Placement switch
            {
                Snn.Protos.V1.Placement.Auto => NetworkPlacement.Auto,
                Snn.Protos.V1.Placement.Cpu => NetworkPlacement.Cpu,
                Snn.Protos.V1.Placement.Device => NetworkPlacement.Device,
                _ => throw EngineException.Invalid($"spec.placement {(int)spec.Placement} is unknown; use PLACEMENT_AUTO, PLACEMENT_CPU or PLACEMENT_DEVICE"),
            },
        };
    }

    private static ProjectionDefinition ToDefinition(ProjectionSpec j, string field)
    {
        static float[]? Bias(Google.Protobuf.Collections.RepeatedField<float> bias) => bias.Count > 0 ? bias.ToArray() : null;

        var definition = j.KindCase switch
        {
            ProjectionSpec.KindOneofCase.Dense => new ProjectionDefinition(j.Name, j.Source, j.Target, ProjectionKind.Dense,
                j.Dense.Weights.ToArray(), Bias(j.Dense.Bias), true),
            ProjectionSpec.KindOneofCase.OneToOne => new ProjectionDefinition(j.Name, j.Source, j.Target, ProjectionKind.OneToOne,
                j.OneToOne.Weights.ToArray(), null, true),
            ProjectionSpec.KindOneofCase.Sparse => new ProjectionDefinition(j.Name, j.Source, j.Target, ProjectionKind.Sparse,
                j.Sparse.Weights.ToArray(), Bias(j.Sparse.Bias), true)
            {
                Pre = Indices(j.Sparse.Pre, field + ".sparse.pre"),
                Post = Indices(j.Sparse.Post, field + ".sparse.post"),
            },
            ProjectionSpec.KindOneofCase.Conv2D => new ProjectionDefinition(j.Name, j.Source, j.Target, ProjectionKind.Conv2d,
                j.Conv2D.Weights.ToArray(), Bias(j.Conv2D.Bias), true)
            {
                KernelSize = Sizes(j.Conv2D.KernelSize),
                Stride = Sizes(j.Conv2D.Stride),
                Padding = Sizes(j.Conv2D.Padding),
            },
            ProjectionSpec.KindOneofCase.SumPool2D => new ProjectionDefinition(j.Name, j.Source, j.Target, ProjectionKind.SumPool2d,
                [], null, true)
            {
                KernelSize = Sizes(j.SumPool2D.KernelSize),
                Stride = Sizes(j.SumPool2D.Stride),
                Padding = Sizes(j.SumPool2D.Padding),
            },
            _ => throw EngineException.Invalid($"{field} has no kind; set one of dense, one_to_one, sparse, conv2d, sum_pool2d"),
        };

        if (j.DelaySteps > int.MaxValue)
        {
            throw EngineException.Invalid(
                $"{field}.delay_steps is {j.DelaySteps}; it must not exceed ServerInfo.limits.max_delay_steps (Snn:Limits:MaxDelaySteps)");
        }

        return definition with
        {
            BiasOnFirstStep = !j.HasBiasOnFirstStep || j.BiasOnFirstStep,
            DelaySteps = (int)j.DelaySteps,
        };
    }

    /// <summary>Neuron indices; one beyond int range cannot be a neuron of any population.</summary>
    private static int[] Indices(Google.Protobuf.Collections.RepeatedField<uint> values, string field)
    {
        var result = new int[values.Count];
        for (int k = 0; k < result.Length; k++)
        {
            if (values[k] > int.MaxValue)
            {
                throw EngineException.Invalid($"{field}[{k}] is {values[k]}; it is not a neuron index of the population");
            }

            result[k] = (int)values[k];
        }

        return result;
    }

    /// <summary>Kernel sizes, strides and paddings; values beyond int range are clamped (and then refused as too large).</summary>
    private static int[] Sizes(Google.Protobuf.Collections.RepeatedField<uint> values) =>
        values.Select(v => (int)Math.Min(v, int.MaxValue)).ToArray();

    public static Dictionary<string, ParamValue> ToParameters(
        Google.Protobuf.Collections.MapField<string, ParameterValue> values, string field)
    {
        var result = new Dictionary<string, ParamValue>(StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            result[name] = value.ValueCase switch
            {
                ParameterValue.ValueOneofCase.Scalar => ParamValue.Number(value.Scalar),
                ParameterValue.ValueOneofCase.PerNeuron => ParamValue.Numbers(value.PerNeuron.Values.ToArray()),
                ParameterValue.ValueOneofCase.Text => ParamValue.Choice(value.Text),
                ParameterValue.ValueOneofCase.Flag => ParamValue.Switch(value.Flag),
                _ => throw EngineException.Invalid($"{field}.{name} has no value; set scalar, per_neuron, text or flag"),
            };
        }

        return result;
    }

    public static ParameterValue ToProto(ParamValue value, bool includeArrays)
    {
        var p = new ParameterValue();
        switch (value.Kind)
        {
            case ParamKind.Number when value.PerNeuron is { } values:
                p.PerNeuron = new FloatList();
                if (includeArrays)
                {
                    p.PerNeuron.Values.Add(values);
                }

                break;
            case ParamKind.Number:
                p.Scalar = value.Scalar;
                break;
            case ParamKind.Choice:
                p.Text = value.Text ?? "";
                break;
            default:
                p.Flag = value.Flag;
                break;
        }

        return p;
    }

    public static Protos.V1.Network ToProto(Engine.Network network, bool includeWeights)
    {
        var def = network.Definition;
        var spec = new NetworkSpec
        {
            Name = def.Name,
            Dt = def.Dt,
            Clock = def.Clock == EngineClock.Realtime ? ProtoClock.Realtime : ProtoClock.Lockstep,
            Instances = (uint)def.Instances,
            RealtimeFactor = def.RealtimeFactor,
            Placement = def.Placement switch
            {
                NetworkPlacement.Cpu => Snn.Protos.V1.Placement.Cpu,
                NetworkPlacement.Device => Snn.Protos.V1.Placement.Device,
                _ => Snn.Protos.V1.Placement.Auto,
            },
        };
        foreach (var pop in network.Populations)
        {
            var ps = new PopulationSpec { Name = pop.Name, Model = pop.Model.Name, Size = (uint)pop.Size };
            ps.Shape.Add(pop.Shape.Select(d => (uint)d));
            foreach (var (name, value) in pop.Parameters)
            {
                ps.Params[name] = ToProto(value, includeWeights);
            }

            spec.Populations.Add(ps);
        }

        foreach (var j in network.Projections)
        {
            spec.Projections.Add(ToProto(j, includeWeights));
        }

        var result = new Protos.V1.Network
        {
            Spec = spec, Neurons = (ulong)network.Neurons, Synapses = (ulong)network.Synapses, StepsOn = network.StepsOn ?? "",
        };
        result.Order.Add(network.Order.Select(i => network.Populations[i].Name));
        result.SameStep.Add(network.Projections.Select(j => j.SameStep));
        foreach (var inst in network.Instances)
        {
            result.Instances.Add(new InstanceInfo
            {
                Index = (uint)inst.Index,
                Step = (ulong)inst.Step,
                Driven = inst.Driven,
                Watchers = (uint)inst.WatcherCount,
                LateInputs = (ulong)inst.LateInputs,
                InputsTooEarly = (ulong)inst.InputsTooEarly,
            });
        }

        if (network.Clock is { } clock)
        {
            result.Clock = new ClockStats
            {
                PeriodS = clock.PeriodSeconds,
                Ticks = (ulong)clock.Ticks,
                Overruns = (ulong)clock.Overruns,
                LagUs = clock.StepLag.LastMicroseconds,
                MaxLagUs = clock.StepLag.MaxMicroseconds,
                LagP50Us = clock.StepLag.QuantileMicroseconds(0.5),
                LagP99Us = clock.StepLag.QuantileMicroseconds(0.99),
                TickLagP50Us = clock.TickLag.QuantileMicroseconds(0.5),
                TickLagP99Us = clock.TickLag.QuantileMicroseconds(0.99),
                MaxTickLagUs = clock.TickLag.MaxMicroseconds,
            };
        }

        return result;
    }

    public static ProjectionSpec ToProto(Projection j, bool includeWeights)
    {
        var js = new ProjectionSpec
        {
            Name = j.Name,
            Source = j.Source.Name,
            Target = j.Target.Name,
            DelaySteps = (uint)j.DelaySteps,
        };
        if (j.Lag > 0)
        {
            js.BiasOnFirstStep = j.BiasOnFirstStep;
        }

        switch (j)
        {
            case Engine.DenseProjection:
                js.Dense = new Protos.V1.DenseProjection();
                if (includeWeights)
                {
                    js.Dense.Weights.Add(j.CopyWeights());
                    if (j.CopyBias() is { } bias)
                    {
                        js.Dense.Bias.Add(bias);
                    }
                }

                break;
            case Engine.SparseProjection sparse:
                js.Sparse = new Protos.V1.SparseProjection();
                if (includeWeights)
                {
                    js.Sparse.Pre.Add(sparse.CopyPre().Select(k => (uint)k));
                    js.Sparse.Post.Add(sparse.CopyPost().Select(k => (uint)k));
                    js.Sparse.Weights.Add(j.CopyWeights());
                    if (j.CopyBias() is { } bias)
                    {
                        js.Sparse.Bias.Add(bias);
                    }
                }

                break;
            case Engine.Conv2dProjection conv:
                var g = conv.Geometry;
                js.Conv2D = new Protos.V1.Conv2dProjection();
                js.Conv2D.KernelSize.Add([(uint)g.KernelHeight, (uint)g.KernelWidth]);
                js.Conv2D.Stride.Add([(uint)g.StrideY, (uint)g.StrideX]);
                js.Conv2D.Padding.Add([(uint)g.PaddingY, (uint)g.PaddingX]);
                if (includeWeights)
                {
                    js.Conv2D.Weights.Add(j.CopyWeights());
                    if (j.CopyBias() is { } bias)
                    {
                        js.Conv2D.Bias.Add(bias);
                    }
                }

                break;
            case Engine.SumPool2dProjection pool:
                var p = pool.Geometry;
                js.SumPool2D = new Protos.V1.SumPool2dProjection();
                js.SumPool2D.KernelSize.Add([(uint)p.KernelHeight, (uint)p.KernelWidth]);
                js.SumPool2D.Stride.Add([(uint)p.StrideY, (uint)p.StrideX]);
                js.SumPool2D.Padding.Add([(uint)p.PaddingY, (uint)p.PaddingX]);
                break;
            default:
                js.OneToOne = new Protos.V1.OneToOneProjection();
                if (includeWeights)
                {
                    js.OneToOne.Weights.Add(j.CopyWeights());
                }

                break;
        }

        return js;
    }

    public static ModelInfo ToProto(NeuronModel model)
    {
        var info = new ModelInfo { Name = model.Name, LibraryClass = model.LibraryClass, Description = model.Description };
        info.StateVariables.Add(model.StateVariables);
        foreach (var p in model.Parameters)
        {
            var pi = new ParameterInfo
            {
                Name = p.Name,
                Kind = p.Kind switch
                {
                    ParamKind.Number => ParameterKind.Number,
                    ParamKind.Choice => ParameterKind.Choice,
                    _ => ParameterKind.Flag,
                },
                DefaultValue = p.Default,
                Range = p.Range,
                PerNeuron = p.PerNeuron,
                Description = p.Description,
            };
            pi.Choices.Add(p.Choices);
            info.Parameters.Add(pi);
        }

        return info;
    }
}
