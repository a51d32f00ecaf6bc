using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Snn.Client;
using Snn.FunctionalTests.Infrastructure;
using Snn.Protos.V1;
using Snn.Server;
using Snn.Server.Backends;
using Snn.Server.Backends.Gpu;

namespace Snn.FunctionalTests.Conformance;

/// <summary>
/// spec.placement: a network may ask a server with a device backend to step it on the CPU backend (a
/// small network answers sooner there). The choice is kept in the network's spec and reported where
/// the server logs where each network steps; an unknown value is refused.
/// </summary>
public sealed class GpuPlacementTests
{
    private static NetworkSpec Spec(string name, Placement placement)
    {
        var spec = new NetworkSpec { Name = name, Clock = ClockMode.Lockstep, Placement = placement };
        spec.Populations.Add(new PopulationSpec { Name = "in", Model = "input", Size = 20 });
        spec.Populations.Add(new PopulationSpec { Name = "out", Model = "snntorch.Leaky", Size = 20, Params = { ["beta"] = new ParameterValue { Scalar = 0.9 } } });
        spec.Projections.Add(new ProjectionSpec { Name = "ff", Source = "in", Target = "out", OneToOne = new OneToOneProjection() });
        return spec;
    }

    [Fact]
    public async Task A_network_that_asks_for_the_cpu_steps_there_and_keeps_the_choice()
    {
        var token = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;
        await using var host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "",
            "--Snn:Engine:Backend=ilgpu-cpu"], token);
        using var client = new SnnClient(host.Address);
        var options = new CallOptions(cancellationToken: token);
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec("on-cpu", Placement.Cpu) }, options);
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec("auto", Placement.Auto) }, options);
        foreach (var name in new[] { "on-cpu", "auto" })
        {
            await using var run = await client.OpenRunAsync(new RunOpen { Network = name }, options);
            await run.SendAsync(new RunRequest { Advance = 3, Inputs = { new Input { Population = "in", Indices = { 1, 2, 3 }, Values = { 2, 2, 2 } } } });
            int steps = 0;
            while (steps < 3)
            {
                steps += (await run.ReadAsync() ?? throw new InvalidOperationException("the Run stream ended early")).Steps.Count;
            }

            await run.CompleteAsync();
            while (await run.ReadAsync() is not null)
            {
            }
        }

        var placements = ((GpuBackend)host.Services.GetRequiredService<IComputeBackend>()).Placements();
        Assert.Contains("on-cpu: on the CPU backend, as its spec.placement asks", placements);
        Assert.Contains("auto: on the device", placements);
        var network = await client.GetNetworkAsync(new GetNetworkRequest { Name = "on-cpu" }, options);
        Assert.Equal(Placement.Cpu, network.Spec.Placement);
    }

    [Fact]
    public async Task An_unknown_placement_is_refused_with_what_to_use()
    {
        var token = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;
        await using var host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", ""], token);
        using var client = new SnnClient(host.Address);
        var e = await Assert.ThrowsAsync<RpcException>(() => client.CreateNetworkAsync(
            new CreateNetworkRequest { Spec = Spec("odd", (Placement)7) }, new CallOptions(cancellationToken: token)));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("spec.placement 7 is unknown; use PLACEMENT_AUTO or PLACEMENT_CPU", e.Status.Detail);
    }
}
