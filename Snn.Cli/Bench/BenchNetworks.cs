using Snn.Protos.V1;

namespace Snn.Cli.Bench;

/// <summary>The networks and inputs the suites use.</summary>
internal static class BenchNetworks
{
    public const string Input = "in";
    public const string Output = "out";

    /// <summary>input N -> one_to_one -> snntorch.Leaky N (beta 0.9).</summary>
    public static NetworkSpec Leaky(string name, int neurons, ClockMode clock, double dt = 0.001)
    {
        var spec = new NetworkSpec { Name = name, Clock = clock, Dt = dt, Instances = 1 };
        spec.Populations.Add(new PopulationSpec { Name = Input, Model = "input", Size = (uint)neurons });
        spec.Populations.Add(new PopulationSpec
        {
            Name = Output,
            Model = "snntorch.Leaky",
            Size = (uint)neurons,
            Params = { ["beta"] = new ParameterValue { Scalar = 0.9 } },
        });
        spec.Projections.Add(new ProjectionSpec { Name = "ff", Source = Input, Target = Output, OneToOne = new OneToOneProjection() });
        return spec;
    }

    /// <summary>
    /// A 2x128x128 event-camera input -> one_to_one -> sinabs.IAF 2x128x128 with a threshold no
    /// neuron reaches during a run, so responses stay small and the figure is ingest, not egress.
    /// </summary>
    public static NetworkSpec Camera(string name)
    {
        var spec = new NetworkSpec { Name = name, Clock = ClockMode.Lockstep, Instances = 1 };
        spec.Populations.Add(new PopulationSpec { Name = Input, Model = "input", Size = CameraSize, Shape = { 2, 128, 128 } });
        spec.Populations.Add(new PopulationSpec
        {
            Name = Output,
            Model = "sinabs.IAF",
            Size = CameraSize,
            Shape = { 2, 128, 128 },
            Params = { ["spike_threshold"] = new ParameterValue { Scalar = 1e9 } },
        });
        spec.Projections.Add(new ProjectionSpec { Name = "ff", Source = Input, Target = Output, OneToOne = new OneToOneProjection() });
        return spec;
    }

    public const uint CameraSize = 2 * 128 * 128;

    /// <summary>Spike events for one step: <paramref name="count"/> random neurons of the input population.</summary>
    public static Input Events(Random random, int neurons, int count, uint offset = 0)
    {
        var input = new Input { Population = Input, Offset = offset };
        for (int k = 0; k < count; k++)
        {
            input.Indices.Add((uint)random.Next(neurons));
        }

        return input;
    }

    /// <summary>A request that advances <paramref name="steps"/> steps with <paramref name="eventsPerStep"/> events at each (offsets 0..steps-1).</summary>
    public static RunRequest Advance(Random random, int neurons, uint steps, int eventsPerStep)
    {
        var request = new RunRequest { Advance = steps };
        for (uint s = 0; s < steps; s++)
        {
            request.Inputs.Add(Events(random, neurons, eventsPerStep, s));
        }

        return request;
    }
}
