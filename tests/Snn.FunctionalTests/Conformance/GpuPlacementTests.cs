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
/// small network answers sooner there). The choice is kept in the network's spec; where each network
/// steps, and why, is in its Network.steps_on and where the server logs it; an unknown value is refused.
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
        var gpu = (GpuBackend)host.Services.GetRequiredService<IComputeBackend>();
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec("on-cpu", Placement.Cpu) }, options);
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec("auto", Placement.Auto) }, options);
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec("full", Placement.Auto) }, options);
        Assert.Equal("", (await client.GetNetworkAsync(new GetNetworkRequest { Name = "auto" }, options)).StepsOn); // not stepped yet

        var spikes = new Dictionary<string, string>();
        foreach (var name in new[] { "on-cpu", "auto", "full" })
        {
            // "full" meets a device with no room left (the test hook refuses every allocation as a full device does).
            gpu.RefuseAllocation = name == "full" ? _ => true : null;
            spikes[name] = await StepAsync(client, name, options);
            gpu.RefuseAllocation = null;
        }

        var placements = gpu.Placements();
        Assert.Contains("on-cpu: on the CPU backend, as its spec.placement asks", placements);
        Assert.Contains("auto: on the device", placements);
        var network = await client.GetNetworkAsync(new GetNetworkRequest { Name = "on-cpu" }, options);
        Assert.Equal(Placement.Cpu, network.Spec.Placement);
        Assert.Equal("on the CPU backend, as its spec.placement asks", network.StepsOn);
        Assert.Equal("on the device", (await client.GetNetworkAsync(new GetNetworkRequest { Name = "auto" }, options)).StepsOn);

        // No room on the device is no failure: the network steps on the CPU backend, with the same spikes, and says why.
        var full = await client.GetNetworkAsync(new GetNetworkRequest { Name = "full" }, options);
        Assert.StartsWith("on the CPU backend, the device has no room for it: the driver refused", full.StepsOn, StringComparison.Ordinal);
        Assert.Equal(spikes["auto"], spikes["full"]);
        Assert.Equal(spikes["auto"], spikes["on-cpu"]);
        Assert.Contains("1,2,3", spikes["auto"], StringComparison.Ordinal); // the inputs made spikes
    }

    [Fact]
    public async Task A_network_placed_off_the_loop_steps_on_the_cpu_until_its_device_copy_is_ready_with_the_same_spikes()
    {
        var token = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;
        await using var host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "",
            "--Snn:Engine:Backend=ilgpu-cpu", "--Snn:Engine:PlaceAsideFromSynapses=0"], token);
        using var client = new SnnClient(host.Address);
        var options = new CallOptions(cancellationToken: token);
        var gpu = (GpuBackend)host.Services.GetRequiredService<IComputeBackend>();
        Assert.Equal(0, gpu.PlaceAsideFromSynapses);
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec("aside", Placement.Auto) }, options);
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec("reference", Placement.Cpu) }, options);

        // The placement thread is held at its first allocation until the network has stepped on the CPU backend.
        using var gate = new ManualResetEventSlim(false);
        gpu.RefuseAllocation = _ => !gate.Wait(TimeSpan.FromMinutes(2));
        try
        {
            Assert.Equal(await StepAsync(client, "reference", options), await StepAsync(client, "aside", options));
            Assert.Equal("on the CPU backend while its device copy is made (20 synapses), then on the device",
                (await client.GetNetworkAsync(new GetNetworkRequest { Name = "aside" }, options)).StepsOn);
            gate.Set();
            int rounds = 0;
            while ((await client.GetNetworkAsync(new GetNetworkRequest { Name = "aside" }, options)).StepsOn != "on the device")
            {
                Assert.Equal(await StepAsync(client, "reference", options), await StepAsync(client, "aside", options));
                rounds++;
            }

            Assert.True(rounds > 0); // it moved at a step, not on its own
            Assert.Equal(await StepAsync(client, "reference", options), await StepAsync(client, "aside", options));
            Assert.Contains("aside: on the device", gpu.Placements());

            // SetParameters: on the CPU backend again until a copy with the new beta is ready, then on the device.
            foreach (var name in new[] { "reference", "aside" })
            {
                await client.SetParametersAsync(new SetParametersRequest
                {
                    Network = name,
                    Populations = { new PopulationParameters { Population = "out", Params = { ["beta"] = new ParameterValue { Scalar = 0.5 } } } },
                }, options);
            }

            Assert.Equal("on the CPU backend while its device copy is made again after an edit (20 synapses), then on the device",
                (await client.GetNetworkAsync(new GetNetworkRequest { Name = "aside" }, options)).StepsOn);
            do
            {
                Assert.Equal(await StepAsync(client, "reference", options), await StepAsync(client, "aside", options));
            }
            while ((await client.GetNetworkAsync(new GetNetworkRequest { Name = "aside" }, options)).StepsOn != "on the device");

            Assert.Equal(await StepAsync(client, "reference", options), await StepAsync(client, "aside", options));
        }
        finally
        {
            gate.Set();
            gpu.RefuseAllocation = null;
        }
    }

    [Fact]
    public async Task A_cpu_backend_server_says_its_networks_step_on_the_cpu()
    {
        var token = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;
        await using var host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", ""], token);
        using var client = new SnnClient(host.Address);
        var options = new CallOptions(cancellationToken: token);
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec("net", Placement.Auto) }, options);
        Assert.Equal("", (await client.GetNetworkAsync(new GetNetworkRequest { Name = "net" }, options)).StepsOn);
        await StepAsync(client, "net", options);
        Assert.Equal("on the CPU backend", (await client.GetNetworkAsync(new GetNetworkRequest { Name = "net" }, options)).StepsOn);
    }

    /// <summary>Three LOCKSTEP steps with inputs on neurons 1 to 3; each step's output spikes as "step: indices".</summary>
    private static async Task<string> StepAsync(SnnClient client, string name, CallOptions options)
    {
        await using var run = await client.OpenRunAsync(new RunOpen { Network = name }, options);
        await run.SendAsync(new RunRequest { Advance = 3, Inputs = { new Input { Population = "in", Indices = { 1, 2, 3 }, Values = { 2, 2, 2 } } } });
        var seen = new List<string>();
        while (seen.Count < 3)
        {
            var response = await run.ReadAsync() ?? throw new InvalidOperationException("the Run stream ended early");
            seen.AddRange(response.Steps.Select(s => $"{s.Step}: {string.Join(",", s.Spikes.SelectMany(p => p.Indices))}"));
        }

        await run.CompleteAsync();
        while (await run.ReadAsync() is not null)
        {
        }

        return string.Join("; ", seen);
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
