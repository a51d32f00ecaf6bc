using System.Diagnostics;
using Grpc.Core;
using Snn.Client;
using Snn.FunctionalTests.Api;
using Snn.FunctionalTests.Infrastructure;
using Snn.Protos.V1;
using Xunit.Abstractions;

namespace Snn.FunctionalTests.Security;

/// <summary>
/// Quotas are enforced per tenant, with no lock or queue shared between tenants: one tenant flooding its Run
/// streams with inputs, far over its quota and cut off again and again, leaves another tenant's unary round
/// trips near their idle values (the bounds: <see cref="TailBound"/>, <see cref="MedianBound"/>). The bound is the
/// feature, so it is asserted.
/// <para>The flood sends 500 inputs per request with a 1 ms pause between writes (up to 500,000 inputs a second,
/// 250x its quota of 2,000; each stream is refused by its fifth request): a flood as the server sees it, while the
/// test's own client does not take the CPU from both processes on a 2-core machine, which would measure the
/// machine rather than the server.
/// Idle and flooded blocks of 100 round trips alternate, so a change in the machine's load falls on both alike; the
/// measurement is taken up to three times (see the test).
/// The server logs at warning here: an information line per request into the test runner's console pipe
/// would put the pipe, not the server, in the measurement (it took the idle p99 from about 1 ms to 4 ms).</para>
/// <para>It runs alone, after the parallel tests (the wall-clock collection), so that other tests' load falls on
/// neither block.</para>
/// </summary>
[Collection(Streaming.RealtimeCollection.Name)]
public sealed class QuotaIsolationTests(ITestOutputHelper output)
{
    private const int Samples = 4000;

    private const int Blocks = 40;

    private const int Attempts = 3;

    /// <summary>The flood's instances, used in turn, so that a block never waits for the previous block's stream to close.</summary>
    private const int FloodInstances = 4;

    private sealed class OpenCounts
    {
        public long AlreadyExists;

        public long Exhausted;
    }

    /// <summary>
    /// The bounds asserted: the p99 within 2x, and the median within 1.5x. (With the server inside the test's
    /// process, sharing one heap and its collections with the flood's client, quiet runs measured 2.0x to 2.9x; with
    /// the server in its own process, as deployed, 0.7x to 1.1x.)
    /// </summary>
    private const double TailBound = 2;

    private const double MedianBound = 1.5;

    [Fact]
    public async Task One_tenants_input_flood_leaves_another_tenants_round_trip_p99_within_2x_of_idle()
    {
        // The server is a process of its own, as in production: in the test's process it would share one
        // garbage-collected heap (and its pauses) with the flood's client and with bob.
        await using var server = Snn.Cli.Bench.ChildProcess.StartServer(TestData.NewDirectory(),
            "--Snn:Auth:Keys:0:Tenant", "alice", "--Snn:Auth:Keys:0:Key", SecuredServer.AliceKey,
            "--Snn:Auth:Keys:1:Tenant", "bob", "--Snn:Auth:Keys:1:Key", SecuredServer.BobKey,
            "--Snn:Quotas:MaxInputsPerSecond", "2000", "--Serilog:MinimumLevel:Default", "Warning");
        await server.WaitHealthyAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
        using var alice = Keyed(server.Address, SecuredServer.AliceKey);
        using var bob = Keyed(server.Address, SecuredServer.BobKey);
        await alice.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay("flood", instances: FloodInstances) }).Within();
        await bob.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay("calm") }).Within();
        var ask = new GetNetworkRequest { Name = "calm" };

        for (int i = 0; i < 300; i++)
        {
            await bob.GetNetworkAsync(ask).Within(); // warm up connection, JIT and pools
        }

        // Up to three measurements: the flood's client, the server and the measuring client share this machine's
        // cores, so one measurement can catch the machine busy with something else. A server that let one tenant
        // hold up another (a shared lock, queue or thread) fails all three.
        var attempts = new List<string>();
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            var (within, summary, refusals) = await MeasureOnceAsync(alice, bob, ask);
            attempts.Add(summary);
            output.WriteLine(summary);
            Assert.True(refusals >= 5, $"the flood should have run into its quota (refused {refusals} times)");
            if (within)
            {
                break;
            }

            Assert.True(attempt < Attempts - 1,
                $"during the flood p99 exceeded {TailBound}x or p50 {MedianBound}x of idle in every measurement:\n" + string.Join("\n", attempts));
        }

        string log = server.Tail();
        Assert.DoesNotContain(" ERR]", log, StringComparison.Ordinal);
        Assert.DoesNotContain(" FTL]", log, StringComparison.Ordinal);
    }

    private static SnnClient Keyed(Uri address, string key)
    {
        var client = new SnnClient(address);
        client.DefaultHeaders.Add("authorization", "Bearer " + key);
        return client;
    }

    /// <summary>Alternating idle and flooded blocks of bob's round trips; the p99 of each, and the flood's refusals.</summary>
    private static async Task<(bool Within, string Summary, long Refusals)> MeasureOnceAsync(
        SnnClient alice, SnnClient bob, GetNetworkRequest ask)
    {
        var idle = new List<double>(Samples);
        var flooded = new List<double>(Samples);
        long refusals = 0;
        long inputs = 0;
        for (int block = 0; block < Blocks; block++)
        {
            await MeasureAsync(bob, ask, idle, Samples / Blocks);

            // The flooded block is measured once the flood flows (its first inputs are written), so that a quick
            // block does not end before the flood has opened its stream.
            using var stop = new CancellationTokenSource();
            var flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var opens = new OpenCounts();
            var flood = Task.Run(() => FloodAsync(alice, (uint)(block % FloodInstances), flowing, opens, stop.Token));
            var first = await Task.WhenAny(flowing.Task, flood, Task.Delay(ApiTimeouts.Default));
            if (first == flood)
            {
                await flood; // the flood ended before it flowed: show why
            }

            Assert.True(first == flowing.Task,
                $"block {block}: the flood did not get a stream to write to: {opens.AlreadyExists} opens refused ALREADY_EXISTS, {opens.Exhausted} RESOURCE_EXHAUSTED");

            await MeasureAsync(bob, ask, flooded, Samples / Blocks);
            await stop.CancelAsync();
            var (refused, sent) = await flood.Within();
            refusals += refused;
            inputs += sent;
        }

        double idleP99 = P99(idle);
        double floodP99 = P99(flooded);
        bool within = floodP99 <= TailBound * idleP99 && P50(flooded) <= MedianBound * P50(idle);
        return (within, $"bob GetNetwork round trip p99: idle {idleP99:F3} ms, during alice's flood {floodP99:F3} ms " +
            $"(p50 {P50(idle):F3} / {P50(flooded):F3} ms); alice sent {inputs} inputs and was refused {refusals} times", refusals);
    }

    private static async Task MeasureAsync(SnnClient client, GetNetworkRequest ask, List<double> into, int count)
    {
        for (int i = 0; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await client.GetNetworkAsync(ask).Within();
            into.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    }

    /// <summary>
    /// Sends inputs as fast as the stream takes them until the quota ends the stream (a reader watches for the
    /// status, so the writer stops as soon as it arrives), then opens another, until <paramref name="stop"/>.
    /// </summary>
    private static async Task<(long Refused, long Sent)> FloodAsync(SnnClient client, uint instance, TaskCompletionSource flowing, OpenCounts opens,
        CancellationToken stop)
    {
        long refused = 0;
        long sent = 0;
        var request = new RunRequest { Inputs = { Enumerable.Range(0, 500).Select(_ => Specs.Events("in", [0])) } };
        while (!stop.IsCancellationRequested)
        {
            RunSession run;
            try
            {
                run = await client.OpenRunAsync(new RunOpen { Network = "flood", Instance = instance }, new CallOptions(cancellationToken: stop));
            }
            catch (Exception e) when (stop.IsCancellationRequested && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
            {
                break;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.AlreadyExists or StatusCode.ResourceExhausted)
            {
                // AlreadyExists: the stream the quota ended is not closed on the server yet. ResourceExhausted:
                // Kestrel calms this connection, which keeps opening streams that the server ends mid-send.
                refused += e.StatusCode == StatusCode.ResourceExhausted ? 1 : 0;
                _ = e.StatusCode == StatusCode.AlreadyExists ? Interlocked.Increment(ref opens.AlreadyExists) : Interlocked.Increment(ref opens.Exhausted);
                await Task.Delay(1, CancellationToken.None); // no tight loop of opens, which Kestrel's HTTP/2 abuse guard would calm
                continue;
            }

            await using var session = run;
            using var ended = CancellationTokenSource.CreateLinkedTokenSource(stop);
            var reader = Task.Run(async () =>
            {
                try
                {
                    while (await session.ReadAsync(stop) is not null)
                    {
                    }

                    return false;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
                {
                    return true;
                }
                catch (Exception e) when (e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
                {
                    return false;
                }
                finally
                {
                    await ended.CancelAsync();
                }
            });
            try
            {
                while (!ended.IsCancellationRequested)
                {
                    await session.SendAsync(request, ended.Token);
                    sent += request.Inputs.Count;
                    flowing.TrySetResult();
                    await Task.Delay(1, ended.Token);
                }
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException or InvalidOperationException)
            {
                // The quota ended the stream while it was being written, or the test stops.
            }

            refused += await reader ? 1 : 0;
        }

        return (refused, sent);
    }

    private static double P99(List<double> samples) => Percentile(samples, 0.99);

    private static double P50(List<double> samples) => Percentile(samples, 0.50);

    private static double Percentile(List<double> samples, double q)
    {
        var sorted = samples.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];
    }
}
