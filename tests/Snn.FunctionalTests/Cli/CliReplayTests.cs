using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Grpc.Core;
using Snn.FunctionalTests.Infrastructure;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Cli;

/// <summary>
/// <c>snn replay</c> as a separate process (snn.dll from the test's output) against a real server:
/// the spikes that arrive in the input population, seen by a watcher, are the recording's events,
/// binned into steps and mapped to c·H·W + y·W + x; out-of-geometry events are skipped or, with
/// --strict, refused; stdin works; a truncated recording names the byte offset.
/// </summary>
public sealed class CliReplayTests(ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private const int H = 4;
    private const int W = 6;

    private readonly string _directory = Directory.CreateTempSubdirectory("snn-replay-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    // (x, y, polarity, t µs) written as EVT 2.0 words: CD_OFF/CD_ON (type 0/1 in bits 31-28, 6 time bits
    // 27-22, x 21-11, y 10-0) after an EVT_TIME_HIGH word (type 8, time >> 6 in bits 27-0).
    private static readonly (int X, int Y, int P, long T)[] Recording =
    [
        (0, 0, 1, 5_000),      // step 0 (the first event's time is the origin)
        (5, 3, 0, 5_400),      // step 0
        (2, 1, 1, 7_100),      // step 2
        (10, 1, 1, 7_200),     // x 10 >= W: outside the population
        (3, 2, 0, 7_999),      // step 2
        (1, 3, 1, 10_000),     // step 5
        (4, 0, 0, 10_500),     // step 5
        (5, 3, 1, 10_999),     // step 5
    ];

    private static byte[] Evt2(IEnumerable<(int X, int Y, int P, long T)> events, int dropLastBytes = 0)
    {
        var bytes = new List<byte>(Encoding.ASCII.GetBytes("% evt 2.0\n% geometry 16x8\n% end\n"));
        var word = new byte[4];
        foreach (var (x, y, p, t) in events)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(word, (8u << 28) | (uint)(t >> 6));
            bytes.AddRange(word);
            BinaryPrimitives.WriteUInt32LittleEndian(word, ((uint)p << 28) | ((uint)(t & 63) << 22) | ((uint)x << 11) | (uint)y);
            bytes.AddRange(word);
        }

        return bytes.Take(bytes.Count - dropLastBytes).ToArray();
    }

    private static uint Index(int x, int y, int p) => (uint)((p * H + y) * W + x);

    [Fact]
    public async Task Replay_delivers_the_recordings_events_to_the_input_population_step_by_step()
    {
        const string name = "cli-replay";
        await CreateNetworkAsync(name);
        var file = Path.Combine(_directory, "recording.raw");
        await File.WriteAllBytesAsync(file, Evt2(Recording));

        using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(Timeout);
        var watch = new WatchRequest { Network = name, Queue = 64 };
        watch.SpikesFrom.Add("in");
        await using var responses = client.WatchAsync(watch, new CallOptions(cancellationToken: cts.Token)).GetAsyncEnumerator(cts.Token);
        Assert.True(await responses.MoveNextAsync());
        Assert.NotNull(responses.Current.Opened);

        var result = await RunSnnAsync(null, "replay", file, "--network", name, "--population", "in", "--server", server.Address.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("(EVT 2.0)", result.Output);
        Assert.Contains("events read 8, sent 7, skipped 1", result.Output);
        Assert.Contains("steps 6 of 1 ms", result.Output);
        Assert.Matches(@"\d M events/s", result.Output);

        var seen = new Dictionary<ulong, uint[]>();
        ulong? first = null;
        while (seen.Count < 6 && await responses.MoveNextAsync())
        {
            foreach (var step in responses.Current.Steps)
            {
                first ??= step.Step;
                seen[step.Step - first.Value] = step.Spikes.SelectMany(s => s.Indices).Order().ToArray();
            }
        }

        Assert.Equal(new[] { Index(0, 0, 1), Index(5, 3, 0) }.Order(), seen[0]);
        Assert.Empty(seen[1]);
        Assert.Equal(new[] { Index(2, 1, 1), Index(3, 2, 0) }.Order(), seen[2]);
        Assert.Empty(seen[3]);
        Assert.Empty(seen[4]);
        Assert.Equal(new[] { Index(1, 3, 1), Index(4, 0, 0), Index(5, 3, 1) }.Order(), seen[5]);
    }

    [Fact]
    public async Task Strict_refuses_an_event_outside_the_population_and_crop_with_downsample_maps_into_it()
    {
        const string name = "cli-replay-strict";
        await CreateNetworkAsync(name);
        var file = Path.Combine(_directory, "strict.raw");
        await File.WriteAllBytesAsync(file, Evt2(Recording));

        var strict = await RunSnnAsync(null, "replay", file, "--network", name, "--population", "in", "--strict", "--server", server.Address.ToString());
        Assert.Equal(2, strict.ExitCode);
        Assert.Contains("event 3 (x 10, y 1, polarity 1", strict.Error);
        Assert.Contains("outside the 2x4x6 population 'in'", strict.Error);

        // Crop x 2..13, y 0..7, downsample 2: x 10 -> 4, inside; x 0 and 1 are cropped away.
        var cropped = await RunSnnAsync(null, "replay", file, "--network", name, "--population", "in", "--crop", "2,0,12,8", "--downsample", "2", "--server", server.Address.ToString());
        Assert.True(cropped.ExitCode == 0, cropped.ToString());
        Assert.Contains("events read 8, sent 6, skipped 2", cropped.Output);

        // --realtime on a LOCKSTEP network paces the steps at dt; --lockstep is the default and excludes it.
        var paced = await RunSnnAsync(null, "replay", file, "--network", name, "--population", "in", "--realtime", "--server", server.Address.ToString());
        Assert.True(paced.ExitCode == 0, paced.ToString());
        Assert.Contains("LOCKSTEP paced at one step per dt", paced.Output);
        Assert.Contains("events read 8, sent 7, skipped 1", paced.Output);
        var both = await RunSnnAsync(null, "replay", file, "--network", name, "--population", "in", "--realtime", "--lockstep", "--server", server.Address.ToString());
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("exclude each other", both.Error);
    }

    [Fact]
    public async Task Replay_into_a_realtime_network_sends_every_event_ahead_of_its_tick()
    {
        const string name = "cli-replay-realtime";
        await CreateNetworkAsync(name, ClockMode.Realtime, dt: 0.01);
        var file = Path.Combine(_directory, "realtime.raw");
        await File.WriteAllBytesAsync(file, Evt2(Recording));

        using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(Timeout);
        var watch = new WatchRequest { Network = name };
        watch.SpikesFrom.Add("in");
        await using var responses = client.WatchAsync(watch, new CallOptions(cancellationToken: cts.Token)).GetAsyncEnumerator(cts.Token);
        Assert.True(await responses.MoveNextAsync());

        // --dt 0.001 bins the recording into 1 ms steps; the network's clock runs them at 10 ms each.
        var lockstep = await RunSnnAsync(null, "replay", file, "--network", name, "--population", "in", "--lockstep", "--server", server.Address.ToString());
        Assert.Equal(2, lockstep.ExitCode);
        Assert.Contains("is REALTIME", lockstep.Error);
        var tooFar = await RunSnnAsync(null, "replay", file, "--network", name, "--population", "in", "--lead", "20000", "--server", server.Address.ToString());
        Assert.Equal(2, tooFar.ExitCode);
        Assert.Contains("--lead 20000 ms is 2000 ticks of 10 ms, but the server takes inputs at most 1024 steps ahead", tooFar.Error);

        // 200 ms ahead (20 ticks), not the default 20 ms, so that a stall of this process under a loaded machine does not make
        // the events late (a late input lands at the next step, and every late bin on the same one).
        var result = await RunSnnAsync(null, "replay", file, "--network", name, "--population", "in", "--dt", "0.001", "--lead", "200", "--server", server.Address.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("REALTIME, each step's events sent 20 ticks ahead", result.Output);
        Assert.Contains("events read 8, sent 7, skipped 1", result.Output);

        var arrived = new List<(ulong Step, uint Index)>();
        while (arrived.Count < 7 && await responses.MoveNextAsync())
        {
            arrived.AddRange(responses.Current.Steps.SelectMany(s => s.Spikes.SelectMany(p => p.Indices.Select(i => (s.Step, i)))));
        }

        var expected = Recording.Where(e => e.X < W).Select(e => Index(e.X, e.Y, e.P)).Order();
        Assert.Equal(expected, arrived.Select(a => a.Index).Order());
        // In recording order: the events of a later bin never arrive at an earlier step.
        Assert.True(arrived.First(a => a.Index == Index(1, 3, 1)).Step > arrived.First(a => a.Index == Index(0, 0, 1)).Step, string.Join(", ", arrived));
    }

    [Fact]
    public async Task Stdin_replays_a_piped_recording_and_a_truncated_one_names_the_offset()
    {
        const string name = "cli-replay-stdin";
        await CreateNetworkAsync(name);
        var piped = await RunSnnAsync(Evt2(Recording), "replay", "-", "--network", name, "--population", "in", "--server", server.Address.ToString());
        Assert.True(piped.ExitCode == 0, piped.ToString());
        Assert.Contains("replayed stdin (EVT 2.0)", piped.Output);
        Assert.Contains("events read 8, sent 7, skipped 1", piped.Output);

        var bytes = Evt2(Recording, dropLastBytes: 1);
        var truncated = await RunSnnAsync(bytes, "replay", "-", "--format", "evt2", "--network", name, "--population", "in", "--server", server.Address.ToString());
        Assert.Equal(2, truncated.ExitCode);
        Assert.Contains($"EVT 2.0 at byte offset {bytes.Length - 3}: the stream ends 3 byte(s) into a word", truncated.Error);

        var missing = await RunSnnAsync(null, "replay", Path.Combine(_directory, "none.raw"), "--network", name, "--population", "in", "--server", server.Address.ToString());
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("cannot read", missing.Error);
    }

    private async Task CreateNetworkAsync(string name, ClockMode clock = ClockMode.Lockstep, double dt = 0.001)
    {
        using var client = server.CreateClient();
        var spec = new NetworkSpec { Name = name, Clock = clock, Dt = dt, Instances = 1 };
        spec.Populations.Add(new PopulationSpec { Name = "in", Model = "input", Size = 2 * H * W, Shape = { 2, H, W } });
        spec.Populations.Add(new PopulationSpec { Name = "out", Model = "snntorch.Leaky", Size = 2 * H * W, Shape = { 2, H, W }, Params = { ["beta"] = new ParameterValue { Scalar = 0.5 } } });
        spec.Projections.Add(new ProjectionSpec { Name = "ff", Source = "in", Target = "out", OneToOne = new OneToOneProjection() });
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec });
    }

    /// <summary>Runs <c>dotnet snn.dll ARGS</c> (the CLI built next to the tests), optionally feeding <paramref name="stdin"/>.</summary>
    private static async Task<CliResult> RunSnnAsync(byte[]? stdin, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "snn.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"snn {string.Join(' ', args)} did not finish in {Timeout}");
        }

        return new CliResult(process.ExitCode, await output, await error);
    }
}
