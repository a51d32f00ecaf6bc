using Grpc.Core;
using Snn.Client;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Streaming;

/// <summary>Small networks for the streaming tests.</summary>
internal static class StreamingTestNetworks
{
    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(60);

    public static CallOptions Options() => new(cancellationToken: new CancellationTokenSource(TestTimeout).Token);

    /// <summary>input(n) -one-to-one-> sinabs.IAF(n), threshold 1.</summary>
    public static async Task<string> CreateAsync(SnnClient client, int neurons, ClockMode clock = ClockMode.Lockstep, int instances = 1)
    {
        var spec = new NetworkSpec
        {
            Name = "s-" + Guid.NewGuid().ToString("N")[..12],
            Clock = clock,
            Instances = (uint)instances,
        };
        spec.Populations.Add(new PopulationSpec { Name = "in", Model = "input", Size = (uint)neurons });
        spec.Populations.Add(new PopulationSpec { Name = "iaf", Model = "sinabs.IAF", Size = (uint)neurons });
        spec.Projections.Add(new ProjectionSpec { Name = "ff", Source = "in", Target = "iaf", OneToOne = new OneToOneProjection() });
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }, Options());
        return spec.Name;
    }

    public static RecordSpec RecordAll(string population)
    {
        var r = new RecordSpec { Population = population };
        r.Variables.Add("*");
        return r;
    }
}
