using System.Net;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Web;
using Snn.Client;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Api;

/// <summary>
/// The API for clients without gRPC: JSON over HTTP/1.1 (the google.api.http rules of snn.proto) and
/// gRPC-Web, both on the HTTP/1.1 endpoint (<c>Snn:HttpUrls</c>), over a real HttpClient.
/// </summary>
public sealed class HttpApiTests(ApiServerFixture server) : ApiTest(server)
{
    private HttpClient Http() => new() { BaseAddress = Server.HttpAddress, DefaultRequestVersion = HttpVersion.Version11 };

    [Fact]
    public async Task The_JSON_API_creates_lists_reads_resets_changes_and_deletes_a_network_over_HTTP_1_1()
    {
        using var http = Http();
        string name = Names.Unique("json");

        using var info = await http.GetAsync("/v1/info").Within();
        Assert.Equal(HttpVersion.Version11, info.Version);
        Assert.Equal(HttpStatusCode.OK, info.StatusCode);
        var infoJson = await Json(info);
        Assert.Equal("cpu", infoJson.GetProperty("backend").GetString());
        Assert.True(infoJson.GetProperty("models").GetArrayLength() > 10);

        string spec = "{\"name\": \"" + name + "\", " + """
            "populations": [{"name": "in", "model": "input", "size": 4},
              {"name": "lif", "model": "snntorch.Leaky", "size": 4, "params": {"beta": {"scalar": 0.9}}}],
             "projections": [{"name": "ff", "source": "in", "target": "lif", "oneToOne": {}}]}
            """;
        using var created = await http.PostAsync("/v1/networks", new StringContent(spec, Encoding.UTF8, "application/json")).Within();
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal(["in", "lif"], (await Json(created)).GetProperty("order").EnumerateArray().Select(e => e.GetString()));

        var listed = await Json(await http.GetAsync("/v1/networks").Within());
        Assert.Contains(listed.GetProperty("networks").EnumerateArray(), n => n.GetProperty("spec").GetProperty("name").GetString() == name);

        var one = await Json(await http.GetAsync($"/v1/networks/{name}?includeWeights=true").Within());
        // 64-bit integers are JSON strings in proto3's JSON mapping.
        Assert.Equal("8", one.GetProperty("neurons").GetString());
        Assert.Equal("4", one.GetProperty("synapses").GetString());

        // Drive two steps over gRPC, then read and reset the state over JSON.
        await using (var run = await Client.OpenRunAsync(new RunOpen { Network = name }).Within())
        {
            await run.AdvanceAsync(2, [new Input { Population = "in", Indices = { 0 }, Values = { 0.5f } }]).Within();
            await run.CompleteAsync().Within();
            while (await run.ReadAsync().Within() is not null)
            {
            }
        }

        var state = await Json(await http.GetAsync($"/v1/networks/{name}/instances/0/state?population=lif&variables=mem").Within());
        Assert.Equal("2", state.GetProperty("step").GetString());
        var mem = state.GetProperty("variables")[0].GetProperty("values").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(0.9f * 0.5f, mem[0]); // step 0: 0.5 in; step 1: beta * 0.5

        using var reset = await http.PostAsync($"/v1/networks/{name}:reset", new StringContent("{}", Encoding.UTF8, "application/json")).Within();
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        var afterReset = await Json(await http.GetAsync($"/v1/networks/{name}/instances/0/state?population=lif").Within());
        Assert.Equal("0", afterReset.TryGetProperty("step", out var step) ? step.GetString() : "0"); // a default may be left out
        Assert.All(afterReset.GetProperty("variables")[0].GetProperty("values").EnumerateArray(), v => Assert.Equal(0f, v.GetSingle()));

        using var changed = await http.PostAsync($"/v1/networks/{name}:setParameters",
            new StringContent("""{"populations": [{"population": "lif", "params": {"beta": {"scalar": 0.5}}}]}""", Encoding.UTF8, "application/json")).Within();
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);

        using var deleted = await http.DeleteAsync($"/v1/networks/{name}").Within();
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.GetNetworkAsync(new GetNetworkRequest { Name = name }));
    }

    [Fact]
    public async Task The_JSON_API_saves_lists_restores_forks_and_deletes_snapshots()
    {
        using var http = Http();
        string name = Names.Unique("jsonsnap");
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay(name) }).Within();
        static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

        using var saved = await http.PostAsync($"/v1/networks/{name}/snapshots", Body("{}")).Within();
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        var snapshot = await Json(saved);
        string id = snapshot.GetProperty("id").GetString()!; // uint64: a JSON string
        Assert.Equal(name, snapshot.GetProperty("network").GetString());

        var listed = await Json(await http.GetAsync($"/v1/networks/{name}/snapshots").Within());
        Assert.Equal(id, Assert.Single(listed.GetProperty("snapshots").EnumerateArray()).GetProperty("id").GetString());

        using var restored = await http.PostAsync($"/v1/networks/{name}/snapshots/{id}:restore", Body("{}")).Within();
        Assert.Equal(HttpStatusCode.OK, restored.StatusCode);
        Assert.Equal(id, (await Json(restored)).GetProperty("snapshot").GetProperty("id").GetString());

        using var forked = await http.PostAsync($"/v1/networks/{name}/snapshots/{id}:fork", Body("{\"name\": \"" + name + "-fork\"}")).Within();
        Assert.Equal(HttpStatusCode.OK, forked.StatusCode);
        Assert.Equal(name + "-fork", (await Json(forked)).GetProperty("spec").GetProperty("name").GetString());

        using var deleted = await http.DeleteAsync($"/v1/networks/{name}/snapshots/{id}").Within();
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        using var gone = await http.DeleteAsync($"/v1/networks/{name}/snapshots/{id}").Within();
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);

        foreach (string n in new[] { name, name + "-fork" })
        {
            await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = n }).Within();
        }
    }

    [Fact]
    public async Task JSON_errors_carry_the_gRPC_status_as_an_HTTP_status_and_the_message_that_says_what_to_fix()
    {
        using var http = Http();
        using var missing = await http.GetAsync("/v1/networks/no-such-net").Within();
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var body = await Json(missing);
        Assert.Equal((int)StatusCode.NotFound, body.GetProperty("code").GetInt32());
        Assert.Contains("network 'no-such-net' does not exist", body.GetProperty("message").GetString(), StringComparison.Ordinal);

        using var bad = await http.PostAsync("/v1/networks",
            new StringContent("""{"name": "x", "populations": [{"name": "a", "model": "no.such.Model", "size": 1}]}""", Encoding.UTF8, "application/json")).Within();
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("no.such.Model", (await Json(bad)).GetProperty("message").GetString(), StringComparison.Ordinal);

        using var garbage = await http.PostAsync("/v1/networks", new StringContent("{not json", Encoding.UTF8, "application/json")).Within();
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
    }

    [Fact]
    public async Task GRPC_Web_serves_the_unary_calls_and_Watch_over_HTTP_1_1()
    {
        var handler = new GrpcWebHandler(GrpcWebMode.GrpcWeb, new HttpClientHandler());
        using var channel = GrpcChannel.ForAddress(Server.HttpAddress, new GrpcChannelOptions
        {
            HttpHandler = handler,
            HttpVersion = HttpVersion.Version11,
            HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        });
        using var web = new SnnClient(channel);

        var info = await web.GetServerInfoAsync().Within();
        Assert.NotEmpty(info.Models);
        string name = Names.Unique("web");
        await web.CreateNetworkAsync(new CreateNetworkRequest { Spec = StreamingFeed(name) }).Within();

        using var watching = new CancellationTokenSource();
        var watch = web.WatchAsync(new WatchRequest { Network = name }, new CallOptions(cancellationToken: watching.Token)).GetAsyncEnumerator();
        Assert.True(await watch.MoveNextAsync().AsTask().Within());
        Assert.NotNull(watch.Current.Opened);

        // Steps driven over HTTP/2 reach the gRPC-Web watcher.
        await using (var run = await Client.OpenRunAsync(new RunOpen { Network = name }).Within())
        {
            await run.AdvanceAsync(3, [new Input { Population = "in", Indices = { 0, 1 }, Values = { 2f, 2f } }]).Within();
            await run.CompleteAsync().Within();
            while (await run.ReadAsync().Within() is not null)
            {
            }
        }

        var steps = new List<ulong>();
        while (steps.Count < 3 && await watch.MoveNextAsync().AsTask().Within())
        {
            steps.AddRange(watch.Current.Steps.Select(s => s.Step));
        }

        Assert.Equal([0UL, 1UL, 2UL], steps);
        await watching.CancelAsync();
        await watch.DisposeAsync();
        await Rpc.FailsAsync(StatusCode.NotFound, () => web.GetNetworkAsync(new GetNetworkRequest { Name = "no-such-net" }), "does not exist");
    }

    private static NetworkSpec StreamingFeed(string name) => Specs.Feed(name, "snntorch.Leaky", 4, 1, ("beta", Specs.Num(0.9)));

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/json", $"{response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
