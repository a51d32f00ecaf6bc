using System.Diagnostics;
using Grpc.Core;
using Snn.Cli.Bench;
using Snn.Client;
using Snn.FunctionalTests.Api;
using Snn.Protos.V1;
using Xunit.Abstractions;
using static Snn.FunctionalTests.Api.Specs;

namespace Snn.FunctionalTests.Hostile;

/// <summary>
/// Hostile input, bounded and repeatable (issue 11, point 7): a server in its own process takes seeded fuzz
/// of every RPC, broken framing and protocol, oversized headers, dropped connections at every stage of a
/// call, streams that never read, and networks of absurd size. Every answer is one the API documents; a
/// well-behaved Run stream open the whole time steps correctly throughout; afterwards the server answers,
/// its working set is back within 10 % of where it was before the attack, and its log holds no error.
/// </summary>
public sealed class HostileInputTests(ITestOutputHelper output)
{
    private const ulong Seed = 0x5EED_2026_1126;
    private const int CasesPerMethod = 10_000;
    private const int WarmUpCasesPerMethod = 1_000;
    private const int Concurrency = 32;
    private const string Target = "fz";
    private const string SettleNetwork = "settle";
    private const int MemoryBudget = 128 << 20;

    [Fact]
    public async Task Hostile_input_gets_documented_statuses_and_leaves_the_server_serving_at_its_former_working_set()
    {
        var clock = Stopwatch.StartNew();
        var data = Directory.CreateTempSubdirectory("snn-hostile-");
        // A memory budget of 128 MiB: what fuzzed CreateNetwork calls may hold at once stays bounded.
        await using var server = ChildProcess.StartServer(data.FullName, "--Snn:Limits:MaxMemoryBytes", $"{MemoryBudget}");
        await server.WaitHealthyAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
        using var client = new SnnClient(server.Address);
        var info = await client.GetServerInfoAsync().Within();
        string[] vocabulary =
        [
            Target, "in", "n", "out", "ff", "fast",
            .. info.Models.Select(m => m.Name),
            .. info.Models.SelectMany(m => m.Parameters.Select(p => p.Name)),
            .. info.Models.SelectMany(m => m.StateVariables),
        ];
        vocabulary = [.. vocabulary.Distinct(StringComparer.Ordinal)];

        // The well-behaved stream: its own connection, a network no fuzz case can name.
        string witnessNetwork = Names.Unique("witness");
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Relay(witnessNetwork) }).Within();
        await using var witness = await Witness.OpenAsync(client, witnessNetwork, 0);
        using var stopWitness = new CancellationTokenSource();
        var witnessing = KeepWitnessingAsync(witness, stopWitness.Token);

        using var wire = new GrpcWire(server.Address);
        var fuzzer = new MethodFuzzer(wire, vocabulary, Target);
        var abuse = new ProtocolAbuse(server.Address, client, output);

        // Warm-up: every path once, so that JIT, pools and the heap reach their working size before the baseline.
        await ResetTargetsAsync(client, witnessNetwork);
        await FuzzAllAsync(fuzzer, Seed ^ 0xFFFF, WarmUpCasesPerMethod, log: false, client, witnessNetwork);
        await abuse.RunAllAsync(repeats: 1);
        await abuse.AbsurdSizesAsync(server.Id);
        await ResetTargetsAsync(client, witnessNetwork);
        long baseline = await SettledRssAsync(client, server.Id);
        output.WriteLine($"baseline working set after warm-up: {baseline >> 10} KiB ({clock.Elapsed.TotalSeconds:0} s)");

        // The attack.
        var fuzzing = Stopwatch.StartNew();
        await FuzzAllAsync(fuzzer, Seed, CasesPerMethod, log: true, client, witnessNetwork);
        output.WriteLine($"fuzz: {fuzzing.Elapsed.TotalSeconds:0.0} s");
        await abuse.RunAllAsync(repeats: 10);
        await abuse.AbsurdSizesAsync(server.Id);
        await ResetTargetsAsync(client, witnessNetwork, recreate: false);

        // Afterwards: the witness saw no error, and the server answers and steps.
        Assert.False(witnessing.IsCompleted && witnessing.IsFaulted, "the witness stream failed during the attack");
        var late = await client.GetServerInfoAsync().Within();
        Assert.Equal(info.Version, late.Version);
        string after = Names.Unique("after");
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Relay(after) }).Within();
        await using (var run = await client.OpenRunAsync(new RunOpen { Network = after, SpikesFrom = { "out" } }).Within())
        {
            for (uint t = 0; t < 5; t++)
            {
                var step = await run.StepAsync(Events("in", [t % 4], [t + 1f]));
                Assert.Equal(t, step.Step);
                var (indices, values) = step.SpikesOf();
                Assert.Equal([t % 4], indices);
                Assert.Equal([t + 1f], values);
            }

            await run.EndAsync();
        }

        await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = after }).Within();

        // The working set comes back within 10 % of the baseline (the GC may take a while to give memory back).
        var samples = new List<long>();
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            samples.Add(await SettledRssAsync(client, server.Id));
            if (samples[^1] <= baseline * 1.10 || DateTime.UtcNow > until)
            {
                break;
            }
        }

        output.WriteLine($"working set after: {samples[^1] >> 10} KiB (baseline {baseline >> 10} KiB; samples {string.Join(", ", samples.Select(s => s >> 20))} MiB)");
        Assert.True(samples[^1] <= baseline * 1.10,
            $"the working set stayed at {samples[^1] >> 20} MiB, more than 10 % above the baseline of {baseline >> 20} MiB: {string.Join(", ", samples.Select(s => s >> 20))}");

        await stopWitness.CancelAsync();
        int checks = await witnessing;
        Assert.True(checks > 10, $"the witness stepped only {checks} times");
        await witness.CloseAsync();

        var errors = server.ErrorLines();
        Assert.True(errors.Count == 0, "the server logged errors:\n" + string.Join('\n', errors) + "\n" + server.Tail());
        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(20)));
        data.Delete(recursive: true);
        output.WriteLine($"total: {clock.Elapsed.TotalSeconds:0} s");
    }

    private async Task FuzzAllAsync(MethodFuzzer fuzzer, ulong seed, int count, bool log, SnnClient? client = null, string? witnessNetwork = null)
    {
        var failures = new List<string>();
        int index = 0;
        foreach (var method in MethodFuzzer.Methods)
        {
            var clock = Stopwatch.StartNew();
            var report = await fuzzer.FuzzAsync(method, index++, seed, count, Concurrency, CancellationToken.None);
            if (log)
            {
                output.WriteLine($"{report.Summary()} ({clock.Elapsed.TotalSeconds:0.0} s)");
            }

            Assert.Equal(count, report.Total);
            if (report.Failures > 0)
            {
                failures.Add($"{report.Method}: {report.Failures} cases outside {string.Join(", ", MethodFuzzer.Allowed(method))}:\n{report.FailureText()}");
            }

            if (client is not null)
            {
                await ResetTargetsAsync(client, witnessNetwork!);
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>Deletes every network but the witness's (fuzzed CreateNetwork calls make many) and creates the fuzz target afresh.</summary>
    private static async Task ResetTargetsAsync(SnnClient client, string witnessNetwork, bool recreate = true)
    {
        foreach (var network in (await client.ListNetworksAsync().Within()).Networks.Where(n => n.Spec.Name != witnessNetwork))
        {
            try
            {
                await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = network.Spec.Name }).Within();
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
            }
        }

        if (recreate)
        {
            await client.CreateNetworkAsync(new CreateNetworkRequest
            {
                Spec = Feed(Target, "snntorch.Leaky", 64, instances: 4, ("beta", Num(0.9))),
            }).Within();
        }
    }

    /// <summary>Steps the witness every 20 ms until told to stop; any error or wrong output ends the task faulted.</summary>
    private static async Task<int> KeepWitnessingAsync(Witness witness, CancellationToken stop)
    {
        int checks = 0;
        while (!stop.IsCancellationRequested)
        {
            await witness.CheckAsync();
            checks++;
            try
            {
                await Task.Delay(20, stop);
            }
            catch (OperationCanceledException)
            {
            }
        }

        return checks;
    }

    /// <summary>
    /// The working set without the garbage the GC has not collected yet (its generation-0 budget alone is
    /// tens of MiB, and grows and shrinks with the load): a network of 64 MiB or more is created and
    /// deleted, which makes the server run an aggressive, compacting full collection 200 ms later and hand
    /// free memory back (README, Snn:Limits:MaxMemoryBytes); then the lowest of three samples. The same
    /// procedure before and after the attack, so the two figures compare what the server retains.
    /// </summary>
    private static async Task<long> SettledRssAsync(SnnClient client, int pid)
    {
        ulong before = (await client.GetServerInfoAsync().Within()).Usage.MemoryBytes;
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Feed(SettleNetwork, "sinabs.IAF", 3 << 20) }).Within();
        ulong charged = (await client.GetServerInfoAsync().Within()).Usage.MemoryBytes - before;
        Assert.True(charged >= 64 << 20, $"the settling network is charged {charged >> 20} MiB; it must be 64 MiB or more for its deletion to compact the heap");
        await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = SettleNetwork }).Within();
        await Task.Delay(1500);
        long lowest = long.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            await Task.Delay(500);
            lowest = Math.Min(lowest, Rss(pid));
        }

        return lowest;
    }

    /// <summary>VmRSS of a process, in bytes, from /proc.</summary>
    internal static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/status has no VmRSS");
    }
}
