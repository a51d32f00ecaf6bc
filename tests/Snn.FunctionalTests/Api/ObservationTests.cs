using System.Net;
using System.Net.Http.Headers;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Snn.Client;
using Snn.FunctionalTests.Infrastructure;
using Snn.FunctionalTests.Streaming;
using Snn.Protos.V1;
using Snn.Server;
using static Snn.FunctionalTests.Streaming.StreamingTestNetworks;

namespace Snn.FunctionalTests.Api;

/// <summary>
/// /metrics (Prometheus text, every line parsed strictly), /healthz and /readyz over plain HTTP/1.1.
/// The class has its own server and its tests run one after another, so counts are compared as the
/// difference between two scrapes around what a test drove.
/// </summary>
public sealed class ObservationTests(ApiServerFixture server) : ApiTest(server)
{
    [Fact]
    public async Task Metrics_count_the_steps_events_spikes_and_late_and_too_early_inputs_of_a_LOCKSTEP_run()
    {
        const int steps = 40;
        string name = Names.Unique("metrics");
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay(name, instances: 2) }).Within();
        var before = await ScrapeAsync(Server.HttpAddress);

        // Instance 1 runs 40 steps with two events each (neurons 0 and 1), then one step with an input
        // for step 0 (late: applied at that step, neuron 3) and one for a step past the horizon (dropped).
        await using var run = await Client.OpenRunAsync(new RunOpen { Network = name, Instance = 1, SpikesFrom = { "out" } }).Within();
        var during = await ScrapeAsync(Server.HttpAddress);
        var inputs = Enumerable.Range(0, steps).Select(t => Specs.Events("in", [0, 1], offset: (uint)t));
        await run.AdvanceAsync(steps, inputs).Within();
        var outputs = await run.ReadStepsAsync(steps);
        Assert.All(outputs, o => Assert.Equal([0u, 1u], o.SpikesOf().Indices));
        var last = await run.StepAsync(
            new Input { Population = "in", Step = 0, Indices = { 3 } },
            new Input { Population = "in", Step = steps + 100_000, Indices = { 2 } });
        Assert.Equal([3u], last.SpikesOf().Indices);
        await run.EndAsync();
        var after = await ScrapeAsync(Server.HttpAddress);

        Assert.Equal(steps + 1, Delta("snn_steps_total"));
        Assert.Equal(2 * steps + 1, Delta("snn_events_in_total"));
        Assert.Equal(2 * steps + 1, Delta("snn_spikes_out_total"));
        Assert.Equal(1, Delta("snn_inputs_late_total"));
        Assert.Equal(1, Delta("snn_inputs_too_early_total"));
        Assert.Equal(0, Delta("snn_watch_dropped_total"));
        Assert.Equal(0, Delta("snn_watch_cut_off_total"));

        // One step duration per pass over the network (here one instance stepped at a time).
        Assert.Equal(steps + 1, Delta("snn_step_duration_seconds_count"));
        Assert.True(Delta("snn_step_duration_seconds_sum") > 0);

        // The backend is a label of the steps counter.
        var stepsSample = after.Single("snn_steps_total");
        Assert.Equal("cpu", stepsSample.Label("backend"));
        Assert.False(string.IsNullOrEmpty(stepsSample.Label("device")));

        // Gauges: this network (2 instances of 4 + 4 neurons, 4 one-to-one synapses), the Run stream while it was open.
        Assert.Equal(1, after.Value("snn_networks"));
        Assert.Equal(16, after.Value("snn_neurons"));
        Assert.Equal(4, after.Value("snn_synapses"));
        Assert.True(during.Value("snn_streams_open") >= 1, $"open streams {during.Value("snn_streams_open")} while a Run was open");
        Assert.True(after.Value("snn_streams_open") >= 0);
        foreach (var (family, type) in Families)
        {
            Assert.True(after.Families.TryGetValue(family, out var f), $"no family {family}");
            Assert.Equal(type, f.Type);
            Assert.False(string.IsNullOrWhiteSpace(f.Help), $"{family} has no HELP");
        }

        await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name }).Within();
        Assert.Equal(0, (await ScrapeAsync(Server.HttpAddress)).Value("snn_networks"));

        double Delta(string sample) => after.Value(sample) - before.ValueOrZero(sample);
    }

    [Fact]
    public async Task Metrics_count_the_frames_a_lossy_watcher_lost_and_the_watcher_that_was_cut_off()
    {
        using var client = Server.CreateClient();
        const int neurons = 1000, steps = 20_000; // ~4 KB of recorded state per step: far past any flow-control window
        string name = await CreateAsync(client, neurons);
        var before = await ScrapeAsync(Server.HttpAddress);

        var strict = new WatchRequest { Network = name, Queue = 4 };
        strict.Record.Add(RecordAll("iaf"));
        var lossy = new WatchRequest { Network = name, Queue = 4, Lossy = true };
        lossy.Record.Add(RecordAll("iaf"));
        await using var strictEnum = client.WatchAsync(strict, Options()).GetAsyncEnumerator();
        await using var lossyEnum = client.WatchAsync(lossy, Options()).GetAsyncEnumerator();
        Assert.True(await strictEnum.MoveNextAsync());
        Assert.True(await lossyEnum.MoveNextAsync());

        await using (var run = await client.OpenRunAsync(new RunOpen { Network = name }, Options()))
        {
            await run.AdvanceAsync(steps);
            await run.CompleteAsync();
            await foreach (var _ in run.ReadStepsAsync())
            {
            }
        }

        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await strictEnum.MoveNextAsync())
            {
            }
        });
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);

        long seen = 0, dropped = 0;
        while (seen + dropped < steps)
        {
            Assert.True(await lossyEnum.MoveNextAsync().AsTask().WaitAsync(TestTimeout), "the lossy watcher's stream ended");
            dropped += (long)lossyEnum.Current.DroppedBefore;
            seen += lossyEnum.Current.Steps.Count;
        }

        var after = await ScrapeAsync(Server.HttpAddress);
        Assert.True(dropped > 0, "the lossy watcher lost nothing");
        Assert.Equal(dropped, Delta("snn_watch_dropped_total"));
        Assert.Equal(1, Delta("snn_watch_cut_off_total"));
        Assert.Equal(steps, Delta("snn_steps_total"));
        await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name }).Within();

        double Delta(string sample) => after.Value(sample) - before.ValueOrZero(sample);
    }

    [Fact]
    public async Task Metrics_count_snapshots_their_bytes_and_duration_and_restores()
    {
        string name = Names.Unique("snapmetrics");
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay(name, instances: 2) }).Within();
        var before = await ScrapeAsync(Server.HttpAddress);
        var first = await Client.SaveSnapshotAsync(new SaveSnapshotRequest { Network = name }).Within();
        var second = await Client.SaveSnapshotAsync(new SaveSnapshotRequest { Network = name, Instance = 1 }).Within();
        await Client.RestoreSnapshotAsync(new RestoreSnapshotRequest { Network = name, Snapshot = first.Id }).Within();
        var after = await ScrapeAsync(Server.HttpAddress);

        var saved = after.Single("snn_snapshots_total");
        Assert.Equal("manual", saved.Label("origin"));
        Assert.Equal(2, saved.Value - before.ValueOrZero("snn_snapshots_total"));
        Assert.Equal("counter", after.Families["snn_snapshots_total"].Type);
        Assert.Equal((double)(first.Bytes + second.Bytes), after.Value("snn_snapshot_bytes_total") - before.Value("snn_snapshot_bytes_total"));
        Assert.Equal(1, after.Value("snn_snapshot_restores_total") - before.Value("snn_snapshot_restores_total"));
        Assert.Equal("histogram", after.Families["snn_snapshot_duration_seconds"].Type);
        Assert.Equal(2, after.Value("snn_snapshot_duration_seconds_count") - before.ValueOrZero("snn_snapshot_duration_seconds_count"));
        await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name }).Within();
    }

    [Fact]
    public async Task Healthz_and_readyz_answer_200_Healthy_over_HTTP_1_1_while_the_loop_ticks()
    {
        using var http = Http11(Server.HttpAddress);
        foreach (string path in new[] { "/healthz", "/readyz" })
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative)).Within();
            Assert.Equal(HttpVersion.Version11, response.Version);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Healthy", await response.Content.ReadAsStringAsync().Within());
        }
    }

    [Fact]
    public void The_README_metric_table_names_exactly_the_exported_metrics()
    {
        var documented = System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(RepositoryFiles.ReadmePath), @"^\| `(snn_[a-z_]+)[{`]", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal);
        var exported = Families.Select(f => f.Family).Concat(["snn_realtime_tick_lateness_seconds", "snn_realtime_step_lateness_seconds",
            "snn_snapshots_total", "snn_snapshot_duration_seconds"]).Order(StringComparer.Ordinal);
        Assert.Equal(exported, documented);
    }

    /// <summary>Families every scrape has (the counters show 0 from the start; the histogram once a step ran).</summary>
    private static readonly (string Family, string Type)[] Families =
    [
        ("snn_steps_total", "counter"),
        ("snn_step_duration_seconds", "histogram"),
        ("snn_realtime_overruns_total", "counter"),
        ("snn_events_in_total", "counter"),
        ("snn_spikes_out_total", "counter"),
        ("snn_inputs_late_total", "counter"),
        ("snn_inputs_too_early_total", "counter"),
        ("snn_watch_dropped_total", "counter"),
        ("snn_watch_cut_off_total", "counter"),
        ("snn_streams_open", "gauge"),
        ("snn_networks", "gauge"),
        ("snn_neurons", "gauge"),
        ("snn_synapses", "gauge"),
        ("snn_snapshot_bytes_total", "counter"),
        ("snn_snapshot_restores_total", "counter"),
    ];

    internal static HttpClient Http11(Uri address) => new()
    {
        BaseAddress = address,
        DefaultRequestVersion = HttpVersion.Version11,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    /// <summary>GETs /metrics over HTTP/1.1 as Prometheus does and parses every line strictly.</summary>
    internal static async Task<PrometheusText> ScrapeAsync(Uri address)
    {
        using var http = Http11(address);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain") { Parameters = { new NameValueHeaderValue("version", "0.0.4") } });
        using var response = await http.SendAsync(request).Within();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version11, response.Version);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync().Within());
    }
}

/// <summary>REALTIME's histograms, in the REALTIME collection (its tests do not run beside others).</summary>
[Collection(RealtimeCollection.Name)]
public sealed class RealtimeObservationTests(ApiServerFixture server) : IClassFixture<ApiServerFixture>
{
    [Fact]
    public async Task Metrics_have_tick_and_step_lateness_histograms_and_overruns_for_a_REALTIME_network()
    {
        using var client = server.CreateClient();
        string name = await CreateAsync(client, 4, ClockMode.Realtime);
        await using (var run = await client.OpenRunAsync(new RunOpen { Network = name }, Options()))
        {
            // Frames of three ticks: the first two ticks were completed (and recorded) before the third was emitted.
            int frames = 0;
            await foreach (var _ in run.ReadStepsAsync())
            {
                if (++frames == 3)
                {
                    break;
                }
            }
        }

        var metrics = await ObservationTests.ScrapeAsync(server.HttpAddress);
        foreach (string histogram in new[] { "snn_realtime_tick_lateness_seconds", "snn_realtime_step_lateness_seconds" })
        {
            Assert.Equal("histogram", metrics.Families[histogram].Type);
            double count = metrics.Value(histogram + "_count");
            Assert.True(count >= 2, $"{histogram}_count is {count}");
            Assert.True(metrics.Value(histogram + "_sum") >= 0);
        }

        // Overruns are a count of ticks: never more than the ticks recorded.
        Assert.True(metrics.Value("snn_realtime_overruns_total") <= metrics.Value("snn_realtime_tick_lateness_seconds_count"));
        Assert.True(metrics.Value("snn_steps_total") >= 2);
        await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name }, Options());
        server.AssertNoErrorsLogged();
    }
}

/// <summary>Readiness follows the step loop; each test runs its own server.</summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task Readyz_turns_503_Unhealthy_with_gRPC_health_when_the_step_loop_stops_while_healthz_stays_200()
    {
        await using var host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "http://127.0.0.1:0"]).Within();
        using var client = new SnnClient(host.Address);
        using var http = ObservationTests.Http11(host.HttpAddress!);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/readyz", UriKind.Relative)).Within()).StatusCode);

        host.Services.GetRequiredService<Snn.Server.Engine.StepLoop>().Dispose();
        using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative)).Within();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("Unhealthy", await ready.Content.ReadAsStringAsync().Within());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, await client.HealthCheckAsync("snn.v1.Snn").Within());

        using var live = await http.GetAsync(new Uri("/healthz", UriKind.Relative)).Within();
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("Healthy", await live.Content.ReadAsStringAsync().Within());

        // The h2c endpoint answers them too.
        using var h2 = new HttpClient(new SocketsHttpHandler()) { BaseAddress = host.Address, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await h2.GetAsync(new Uri("/readyz", UriKind.Relative)).Within()).StatusCode);
    }
}
