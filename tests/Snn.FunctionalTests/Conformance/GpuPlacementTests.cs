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
/// Where a server with a device backend steps each network: a small one on the CPU backend, which answers it sooner
/// (Snn:Engine:CpuBelowNeurons and CpuBelowConnections), unless its spec.placement asks for the device; any network on
/// the CPU backend when it asks. The choice is kept in the network's spec; where each network steps, and why, is in its
/// Network.steps_on and where the server logs it; an unknown value is refused.
/// </summary>
public sealed class GpuPlacementTests
{
    private static NetworkSpec Spec(string name, Placement placement, uint size = 20)
    {
        var spec = new NetworkSpec { Name = name, Clock = ClockMode.Lockstep, Placement = placement };
        spec.Populations.Add(new PopulationSpec { Name = "in", Model = "input", Size = size });
        spec.Populations.Add(new PopulationSpec { Name = "out", Model = "snntorch.Leaky", Size = size, Params = { ["beta"] = new ParameterValue { Scalar = 0.9 } } });
        spec.Projections.Add(new ProjectionSpec { Name = "ff", Source = "in", Target = "out", OneToOne = new OneToOneProjection() });
        return spec;
    }

    [Fact]
    public async Task Small_networks_step_on_the_cpu_unless_they_ask_for_the_device_and_every_choice_is_kept_and_told()
    {
        var token = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;
        await using var host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "",
            "--Snn:Engine:Backend=ilgpu-cpu"], token); // the size rule at its defaults
        using var client = new SnnClient(host.Address);
        var options = new CallOptions(cancellationToken: token);
        var gpu = (GpuBackend)host.Services.GetRequiredService<IComputeBackend>();
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec("on-cpu", Placement.Cpu) }, options);
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec("auto", Placement.Auto) }, options);
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec("on-device", Placement.Device) }, options);
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec("full", Placement.Device) }, options);
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec("large", Placement.Auto, 10_000) }, options);
        Assert.Equal("", (await client.GetNetworkAsync(new GetNetworkRequest { Name = "auto" }, options)).StepsOn); // not stepped yet

        var spikes = new Dictionary<string, string>();
        foreach (var name in new[] { "on-cpu", "auto", "on-device", "full", "large" })
        {
            // "full" meets a device with no room left (the test hook refuses every allocation as a full device does).
            gpu.RefuseAllocation = name == "full" ? _ => true : null;
            spikes[name] = await StepAsync(client, name, options);
            gpu.RefuseAllocation = null;
        }

        async Task<Network> Get(string name) => await client.GetNetworkAsync(new GetNetworkRequest { Name = name }, options);
        var placements = gpu.Placements();
        Assert.Contains("on-cpu: on the CPU backend, as its spec.placement asks", placements);
        Assert.Equal(Placement.Cpu, (await Get("on-cpu")).Spec.Placement);
        Assert.Equal("on the CPU backend, as its spec.placement asks", (await Get("on-cpu")).StepsOn);

        // 40 neurons and 20 connections: the CPU backend steps it faster, and says by how much of the thresholds.
        Assert.Equal("on the CPU backend, small enough to step faster there: 40 neurons / 16,384 + 20 connections / 524,288 = 0.00, below 1 " +
            "(Snn:Engine:CpuBelowNeurons, Snn:Engine:CpuBelowConnections; PLACEMENT_DEVICE puts it on the device)", (await Get("auto")).StepsOn);
        Assert.Equal(Placement.Device, (await Get("on-device")).Spec.Placement);
        Assert.Equal("on the device", (await Get("on-device")).StepsOn);
        Assert.Equal("on the device", (await Get("large")).StepsOn); // 20,000 neurons and 10,000 connections: 1.26 of the thresholds
        Assert.Contains("large: on the device", placements);

        // No room on the device is no failure: the network steps on the CPU backend, with the same spikes, and says why.
        Assert.StartsWith("on the CPU backend, the device has no room for it: the driver refused", (await Get("full")).StepsOn, StringComparison.Ordinal);
        Assert.Equal(spikes["on-device"], spikes["full"]);
        Assert.Equal(spikes["on-device"], spikes["on-cpu"]);
        Assert.Equal(spikes["on-device"], spikes["auto"]);
        Assert.Equal(spikes["on-device"], spikes["large"]); // the same inputs on neurons 1 to 3
        Assert.Contains("1,2,3", spikes["on-device"], StringComparison.Ordinal); // the inputs made spikes

        // snn list says it in a word.
        var listed = await Cli.CliRunner.RunAsync("list", "--server", host.Address.ToString());
        Assert.True(listed.ExitCode == 0, listed.ToString());
        foreach (var (name, on) in new[] { ("on-cpu", "cpu"), ("auto", "cpu"), ("on-device", "device"), ("full", "cpu"), ("large", "device") })
        {
            Assert.Matches($@"(?m)^{name}\s.*\s{on}$", listed.Output);
        }
    }

    [Fact]
    public async Task A_network_placed_off_the_loop_steps_on_the_cpu_until_its_device_copy_is_ready_with_the_same_spikes()
    {
        var token = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;
        await using var host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "",
            "--Snn:Engine:Backend=ilgpu-cpu", "--Snn:Engine:PlaceAsideFromSynapses=0", "--Snn:Engine:CpuBelowNeurons=0"], token);
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
        Assert.Contains("spec.placement 7 is unknown; use PLACEMENT_AUTO, PLACEMENT_CPU or PLACEMENT_DEVICE", e.Status.Detail);
    }
}
