using Grpc.Core;
using Snn.Cli.Bench;
using Snn.Client;
using Snn.Protos.V1;
using Snn.Server;
using Snn.FunctionalTests.Infrastructure;

namespace Snn.FunctionalTests.Api;

/// <summary>
/// Graceful shutdown: the server stops accepting calls, finishes the step in progress, ends open Run and
/// Watch streams with UNAVAILABLE "the server is shutting down", logs no error, and exits in time.
/// </summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task SIGTERM_ends_Run_and_Watch_streams_with_UNAVAILABLE_and_the_process_exits_cleanly()
    {
        var data = Directory.CreateTempSubdirectory("snn-shutdown-");
        await using var server = ChildProcess.StartServer(data.FullName);
        await server.WaitHealthyAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
        using var client = new SnnClient(server.Address);
        var (run, watch) = await OpenStreamsAsync(client);

        // The client reads while the server stops, as a live client does.
        var ended = AssertShuttingDownAsync(run, watch);
        int? exit = await server.TerminateAsync(ServerHost.DefaultShutdownTimeout + TimeSpan.FromSeconds(10));

        Assert.True(exit == 0, $"the server exited with {exit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing (killed after the grace period)"}:\n{server.Tail()}");
        try
        {
            await ended;
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\nserver log:\n{server.Tail()}");
        }

        string log = server.Tail();
        Assert.DoesNotContain(" ERR]", log, StringComparison.Ordinal);
        Assert.DoesNotContain(" FTL]", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", log, StringComparison.Ordinal);
        await run.DisposeAsync();
        data.Delete(recursive: true);
    }

    [Fact]
    public async Task Stopping_the_host_in_process_ends_streams_with_UNAVAILABLE_and_refuses_new_calls()
    {
        var host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", ""]).Within();
        using var client = new SnnClient(host.Address);
        var (run, watch) = await OpenStreamsAsync(client);

        var stopping = host.DisposeAsync().AsTask();
        await AssertShuttingDownAsync(run, watch);

        // Read while the stopping server still holds the connections (OpenStreams.ReadGrace): a stop that
        // blocked its caller until then would have let these reads start only as the connections closed.
        Assert.False(stopping.IsCompleted, "the host had stopped before its clients could read their status");
        await stopping.WaitAsync(ServerHost.DefaultShutdownTimeout + TimeSpan.FromSeconds(10));
        await run.DisposeAsync();

        // Stopped: nothing listens any more. A new channel asks, since the old channel's HTTP/2 connection
        // may not have seen the server's GOAWAY yet: a call written onto a connection as it closes ends
        // INTERNAL on the client, which says nothing about whether the server still listens.
        using var late = new SnnClient(host.Address);
        var e = await Assert.ThrowsAsync<RpcException>(() => late.GetServerInfoAsync().Within());
        Assert.True(e.StatusCode == StatusCode.Unavailable, e.ToString());
    }

    /// <summary>A driver that has stepped, and a watcher, both waiting for more.</summary>
    private static async Task<(RunSession Run, IAsyncEnumerator<RunResponse> Watch)> OpenStreamsAsync(SnnClient client)
    {
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Feed("stop", "snntorch.Leaky", 8, 1, ("beta", Specs.Num(0.9))) }).Within();
        var run = await client.OpenRunAsync(new RunOpen { Network = "stop" }).Within();
        await run.AdvanceAsync(5).Within();
        var steps = 0;
        while (steps < 5)
        {
            steps += (await run.ReadAsync().Within())!.Steps.Count;
        }

        var watch = client.WatchAsync(new WatchRequest { Network = "stop" }).GetAsyncEnumerator();
        Assert.True(await watch.MoveNextAsync().AsTask().Within());
        Assert.NotNull(watch.Current.Opened);
        return (run, watch);
    }

    /// <summary>Reads both streams at once (as live clients do) until each ends with the shutdown status.</summary>
    private static async Task AssertShuttingDownAsync(RunSession run, IAsyncEnumerator<RunResponse> watch)
    {
        var watching = Assert.ThrowsAsync<RpcException>(() => watch.MoveNextAsync().AsTask().Within());
        var running = Assert.ThrowsAsync<RpcException>(() => run.ReadAsync().Within());
        var watched = await watching;
        var ran = await running;
        Assert.True($"{watched.StatusCode}: {watched.Status.Detail}" == "Unavailable: the server is shutting down", "watch: " + watched);
        Assert.True($"{ran.StatusCode}: {ran.Status.Detail}" == "Unavailable: the server is shutting down", "run: " + ran); // the whole exception, when it is not
    }

    [Fact]
    public async Task With_Snn_Logging_Json_every_console_line_is_one_compact_JSON_event()
    {
        var data = Directory.CreateTempSubdirectory("snn-jsonlog-");
        await using (var server = ChildProcess.StartServer(data.FullName, "--Snn:Logging:Json", "true"))
        {
            await server.WaitHealthyAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
            using var client = new SnnClient(server.Address);
            await client.GetServerInfoAsync().Within();
            Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(20)));
            var lines = server.Tail().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.Contains(lines, l => l.Contains("/snn.v1.Snn/GetServerInfo", StringComparison.Ordinal));
            foreach (var line in lines)
            {
                using var json = System.Text.Json.JsonDocument.Parse(line);
                Assert.True(json.RootElement.TryGetProperty("@t", out _), line);
                Assert.True(json.RootElement.TryGetProperty("@m", out _), line);
            }
        }

        data.Delete(recursive: true);
    }
}
