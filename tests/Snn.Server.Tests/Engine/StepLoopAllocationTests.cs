using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Snn.Server.Backends.Cpu;
using Snn.Server.Engine;
using Snn.Server.Models;
using Snn.Server.Observability;
using static Snn.Server.Tests.Engine.NetworkBuilderTests;

namespace Snn.Server.Tests.Engine;

/// <summary>
/// The whole step loop — taking requests, adding inputs, stepping, filling and queueing output
/// frames — allocates nothing per step in steady state. The loop runs on the test thread here
/// (no loop thread), so its allocations can be counted exactly; the test also plays the stream's
/// writer, handing frames back. Each test runs twice: unobserved, and with the server's metrics
/// exporter (OpenTelemetry, Prometheus) listening to the loop's instruments.
/// </summary>
public sealed class StepLoopAllocationTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_driven_network_steps_without_allocating(bool listened)
    {
        using var metrics = Listen(listened);
        using var backend = new CpuBackend(new CpuOptions { Threads = 1 });
        using var loop = new StepLoop(backend, new EngineLimits(), NullLogger<StepLoop>.Instance, startThread: false);
        var create = loop.CreateAsync(Net(
            [Pop("in", 256, "input"), Pop("lif", 256, "snntorch.Leaky", new() { ["beta"] = ParamValue.Number(0.9) }), Pop("out", 32)],
            [OneToOne("ff", "in", "lif"), Dense("d", "lif", "out", Enumerable.Repeat(0.125f, 256 * 32).ToArray()),
             Dense("rec", "lif", "lif", new float[256 * 256])]));
        Pass(loop);
        var net = await create;

        var plan = new OutputPlan([1, 2], [new RecordPlan(1, [0], ["mem"], null, 0, 256, 1)]);
        var open = loop.OpenAsync(net, 0, plan, reset: false, CancellationToken.None);
        Pass(loop);
        var stream = await open;

        // One request for many steps, with events at every step.
        var inputs = Enumerable.Range(0, 1000).Select(t => new PendingInput(0, t, [t % 256, (t * 7) % 256], null, null)).ToArray();
        await stream.SendAsync(new RunCommand(inputs, 1_000_000), CancellationToken.None);

        long Steps(int n)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int k = 0; k < n; k++)
            {
                Pass(loop);
                while (stream.Frames.TryRead(out var frame))
                {
                    stream.Return(frame);
                }
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Steps(500); // warm-up: JIT, frame pool, spike buffers grow to their working size
        long start = net.Instances[0].Step;
        Assert.Equal(0, Steps(2000));
        Assert.Equal(start + 2000, net.Instances[0].Step);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Realtime_ticks_of_several_networks_do_not_allocate(bool listened)
    {
        using var metrics = Listen(listened);
        using var backend = new CpuBackend(new CpuOptions { Threads = 1 });
        using var loop = new StepLoop(backend, new EngineLimits(), NullLogger<StepLoop>.Instance, startThread: false);
        var networks = new List<Network>();
        for (int k = 0; k < 4; k++)
        {
            // 10 kHz ticks, so that a short window holds many of them.
            var definition = Net(
                [Pop("in", 256, "input"), Pop("lif", 256, "snntorch.Leaky", new() { ["beta"] = ParamValue.Number(0.9) })],
                [OneToOne("ff", "in", "lif")], name: $"rt{k}") with { Dt = 0.0001, Clock = ClockMode.Realtime };
            var create = loop.CreateAsync(definition);
            Pass(loop);
            networks.Add(await create);
        }

        long TickFor(TimeSpan duration)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var until = DateTime.UtcNow + duration;
            while (DateTime.UtcNow < until)
            {
                Pass(loop);
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        TickFor(TimeSpan.FromMilliseconds(100)); // warm-up
        long ticks = networks.Sum(n => n.Clock!.Ticks);
        long allocated = TickFor(TimeSpan.FromMilliseconds(200));
        Assert.True(networks.Sum(n => n.Clock!.Ticks) - ticks >= 100, "the window held too few ticks to mean anything");
        Assert.Equal(0, allocated);
    }

    private static void Pass(StepLoop loop) => loop.RunPass(out _);

    /// <summary>A meter provider as the server builds one (it listens to every loop's meter of that name), or none.</summary>
    private static MeterProvider? Listen(bool listened) =>
        listened ? Sdk.CreateMeterProviderBuilder().AddMeter(SnnMetrics.MeterName).AddPrometheusExporter().Build() : null;
}
