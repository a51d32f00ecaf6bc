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
                throw EngineException.Invalid($"spec.populations[{i}].size is too large");
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
            var j = spec.Projections[i];
            string field = $"spec.projections[{i}]";
            var (kind, weights, bias) = j.KindCase switch
            {
                ProjectionSpec.KindOneofCase.Dense => (ProjectionKind.Dense, j.Dense.Weights.ToArray(),
                    j.Dense.Bias.Count > 0 ? j.Dense.Bias.ToArray() : null),
                ProjectionSpec.KindOneofCase.OneToOne => (ProjectionKind.OneToOne, j.OneToOne.Weights.ToArray(), (float[]?)null),
                _ => throw EngineException.Invalid($"{field} has no kind; set one of dense, one_to_one"),
            };
            projections.Add(new ProjectionDefinition(j.Name, j.Source, j.Target, kind, weights, bias,
                j.HasBiasOnFirstStep ? j.BiasOnFirstStep : true));
        }

        var clock = spec.Clock switch
        {
            ProtoClock.Unspecified or ProtoClock.Lockstep => EngineClock.Lockstep,
            ProtoClock.Realtime => EngineClock.Realtime,
            _ => throw EngineException.Invalid($"spec.clock {(int)spec.Clock} is unknown; use CLOCK_MODE_LOCKSTEP or CLOCK_MODE_REALTIME"),
        };
        if (clock == EngineClock.Realtime)
        {
            throw new EngineException(EngineError.InvalidArgument,
                "spec.clock CLOCK_MODE_REALTIME is not served yet; use CLOCK_MODE_LOCKSTEP");
        }

        return new NetworkDefinition(
            spec.Name,
            populations,
            projections,
            spec.Dt == 0 ? DefaultDt : spec.Dt,
            clock,
            spec.Instances == 0 ? 1 : (int)Math.Min(spec.Instances, int.MaxValue),
            spec.RealtimeFactor == 0 ? 1 : spec.RealtimeFactor);
    }

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
            var js = new ProjectionSpec { Name = j.Name, Source = j.Source.Name, Target = j.Target.Name };
            if (!j.SameStep)
            {
                js.BiasOnFirstStep = j.BiasOnFirstStep;
            }

            if (j.Kind == ProjectionKind.Dense)
            {
                js.Dense = new Protos.V1.DenseProjection();
                if (includeWeights)
                {
                    js.Dense.Weights.Add(j.CopyWeights());
                    if (j.CopyBias() is { } bias)
                    {
                        js.Dense.Bias.Add(bias);
                    }
                }
            }
            else
            {
                js.OneToOne = new Protos.V1.OneToOneProjection();
                if (includeWeights)
                {
                    js.OneToOne.Weights.Add(j.CopyWeights());
                }
            }

            spec.Projections.Add(js);
        }

        var result = new Protos.V1.Network { Spec = spec, Neurons = (ulong)network.Neurons, Synapses = (ulong)network.Synapses };
        result.Order.Add(network.Order.Select(i => network.Populations[i].Name));
        result.SameStep.Add(network.Projections.Select(j => j.SameStep));
        foreach (var inst in network.Instances)
        {
            result.Instances.Add(new InstanceInfo { Index = (uint)inst.Index, Step = (ulong)inst.Step, Driven = inst.Driven });
        }

        return result;
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
