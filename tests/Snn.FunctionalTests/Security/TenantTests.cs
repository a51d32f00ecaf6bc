using System.Net;
using System.Text;
using System.Text.Json;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Health.V1;
using Snn.Client;
using Snn.FunctionalTests.Api;
using Snn.Protos.V1;
using Snn.Server.Security;

namespace Snn.FunctionalTests.Security;

/// <summary>
/// API keys and tenants over the real transport: who gets in (gRPC, the JSON API, /metrics, health), and that
/// a tenant sees only its own networks, under its own names, with no trace of another tenant's.
/// </summary>
public sealed class TenantTests(SecuredServerFixture fixture) : IClassFixture<SecuredServerFixture>, IAsyncLifetime
{
    private SecuredServer Server => fixture.Server;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Server.AssertNoErrorsLogged();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_call_without_a_key_or_with_a_wrong_one_is_UNAUTHENTICATED_and_a_right_key_gets_in()
    {
        using var none = Server.Client(null);
        using var wrong = Server.Client("not-a-key-of-this-server");
        using var notBearer = new SnnClient(Server.Address);
        notBearer.DefaultHeaders.Add("authorization", "Basic " + SecuredServer.AliceKey);
        using var alice = Server.Client(SecuredServer.AliceKey);
        using var bob = Server.Client(SecuredServer.BobKey);

        await StatusAssert.Unauthenticated(() => none.GetServerInfoAsync(), ApiKeyAuthentication.MissingKeyMessage);
        await StatusAssert.Unauthenticated(() => none.ListNetworksAsync(), ApiKeyAuthentication.MissingKeyMessage);
        await StatusAssert.Unauthenticated(() => none.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay("sneaky") }),
            ApiKeyAuthentication.MissingKeyMessage);
        await StatusAssert.Unauthenticated(() => none.OpenRunAsync(new RunOpen { Network = "sneaky" }), ApiKeyAuthentication.MissingKeyMessage);
        await StatusAssert.Unauthenticated(() => wrong.GetServerInfoAsync(), ApiKeyAuthentication.WrongKeyMessage);
        await StatusAssert.Unauthenticated(() => notBearer.GetServerInfoAsync(), ApiKeyAuthentication.WrongKeyMessage);

        // Keys from configuration (alice) and from the hashed keys file (bob) both get in.
        Assert.Equal("cpu", (await alice.GetServerInfoAsync().Within()).Backend);
        Assert.Equal("cpu", (await bob.GetServerInfoAsync().Within()).Backend);

        // gRPC health stays open, as /healthz does, for probes that hold no key.
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await none.HealthCheckAsync().Within());
    }

    [Fact]
    public async Task The_HTTP_endpoints_need_a_key_except_health()
    {
        using var none = Server.Http(null);
        using var wrong = Server.Http("not-a-key-of-this-server");
        using var alice = Server.Http(SecuredServer.AliceKey);

        using (var r = await none.GetAsync("/v1/networks").Within())
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            Assert.Contains("API key", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var r = await wrong.GetAsync("/v1/info").Within())
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        }

        using (var r = await alice.GetAsync("/v1/info").Within())
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        using (var r = await none.GetAsync("/metrics").Within())
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            Assert.Equal("Bearer", r.Headers.WwwAuthenticate.Single().Scheme);
        }

        using (var r = await wrong.GetAsync("/metrics").Within())
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        }

        using (var r = await alice.GetAsync("/metrics").Within())
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Contains("snn_", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        foreach (var open in new[] { "/healthz", "/readyz" })
        {
            using var r = await none.GetAsync(open).Within();
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
    }

    [Fact]
    public async Task The_JSON_API_serves_each_tenant_its_own_networks()
    {
        using var aliceHttp = Server.Http(SecuredServer.AliceKey);
        using var bobHttp = Server.Http(SecuredServer.BobKey);
        string name = Names.Unique("json");
        string spec = "{\"name\": \"" + name + "\", \"populations\": [{\"name\": \"in\", \"model\": \"input\", \"size\": 2}]}";
        using (var created = await aliceHttp.PostAsync("/v1/networks", new StringContent(spec, Encoding.UTF8, "application/json")).Within())
        {
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
            using var json = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
            Assert.Equal(name, json.RootElement.GetProperty("spec").GetProperty("name").GetString()); // alice's name, unqualified
        }

        using (var mine = await aliceHttp.GetAsync($"/v1/networks/{name}").Within())
        {
            Assert.Equal(HttpStatusCode.OK, mine.StatusCode);
        }

        using (var theirs = await bobHttp.GetAsync($"/v1/networks/{name}").Within())
        {
            Assert.Equal(HttpStatusCode.NotFound, theirs.StatusCode);
        }

        using (var list = await bobHttp.GetAsync("/v1/networks").Within())
        {
            Assert.DoesNotContain(name, await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var deleted = await aliceHttp.DeleteAsync($"/v1/networks/{name}").Within())
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }
    }

    [Fact]
    public async Task Two_tenants_hold_networks_of_the_same_name_apart()
    {
        using var alice = Server.Client(SecuredServer.AliceKey);
        using var bob = Server.Client(SecuredServer.BobKey);
        string name = Names.Unique("same");
        var aliceNet = await alice.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay(name, instances: 1) }).Within();
        var bobNet = await bob.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay(name, instances: 3) }).Within();
        Assert.Equal(name, aliceNet.Spec.Name);
        Assert.Equal(name, bobNet.Spec.Name);

        Assert.Equal(1u, (await alice.GetNetworkAsync(new GetNetworkRequest { Name = name }).Within()).Spec.Instances);
        Assert.Equal(3u, (await bob.GetNetworkAsync(new GetNetworkRequest { Name = name }).Within()).Spec.Instances);
        Assert.Equal([name], (await alice.ListNetworksAsync().Within()).Networks.Select(n => n.Spec.Name).Where(n => n == name));

        // Each drives its own: bob's instance 2 exists only in bob's network.
        await using (var run = await bob.OpenRunAsync(new RunOpen { Network = name, Instance = 2, SpikesFrom = { "out" } }).Within())
        {
            Assert.Equal(name, run.Opened!.Network);
            var step = await run.StepAsync(Specs.Events("in", [1]));
            Assert.Equal([1u], step.SpikesOf().Indices);
            await run.EndAsync();
        }

        await Rpc.FailsAsync(StatusCode.NotFound, () => alice.OpenRunAsync(new RunOpen { Network = name, Instance = 2 }),
            $"network '{name}' has 1 instance(s)");

        // Deleting one leaves the other.
        await alice.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name }).Within();
        await Rpc.FailsAsync(StatusCode.NotFound, () => alice.GetNetworkAsync(new GetNetworkRequest { Name = name }), $"network '{name}' does not exist");
        Assert.Equal(3u, (await bob.GetNetworkAsync(new GetNetworkRequest { Name = name }).Within()).Spec.Instances);
        await bob.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name }).Within();
    }

    [Fact]
    public async Task GetServerInfo_counts_only_the_callers_networks()
    {
        using var alice = Server.Client(SecuredServer.AliceKey);
        using var bob = Server.Client(SecuredServer.BobKey);
        string name = Names.Unique("usage");
        ulong before = (await bob.GetServerInfoAsync().Within()).Usage.Networks;
        await alice.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay(name) }).Within();
        try
        {
            Assert.Equal(before, (await bob.GetServerInfoAsync().Within()).Usage.Networks);
            Assert.True((await alice.GetServerInfoAsync().Within()).Usage.Networks >= 1);
        }
        finally
        {
            await alice.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name }).Within();
        }
    }

    /// <summary>Every RPC that names a network, called by bob on a name of alice's.</summary>
    private static readonly Dictionary<string, Func<SnnClient, string, Task>> s_byName = new()
    {
        ["GetNetwork"] = (c, n) => c.GetNetworkAsync(new GetNetworkRequest { Name = n }),
        ["DeleteNetwork"] = (c, n) => c.DeleteNetworkAsync(new DeleteNetworkRequest { Name = n }),
        ["SetParameters"] = (c, n) => c.SetParametersAsync(new SetParametersRequest
        {
            Network = n,
            Populations = { new PopulationParameters { Population = "out" } },
        }),
        ["ResetState"] = (c, n) => c.ResetStateAsync(new ResetStateRequest { Network = n }),
        ["GetState"] = (c, n) => c.GetStateAsync(new GetStateRequest { Network = n, Population = "out" }),
        ["Run"] = (c, n) => c.OpenRunAsync(new RunOpen { Network = n }),
        ["Watch"] = async (c, n) =>
        {
            await foreach (var _ in c.WatchAsync(new WatchRequest { Network = n }))
            {
            }
        },
        ["SaveSnapshot"] = (c, n) => c.SaveSnapshotAsync(new SaveSnapshotRequest { Network = n }),
        ["ListSnapshots"] = (c, n) => c.ListSnapshotsAsync(new ListSnapshotsRequest { Network = n }),
        ["RestoreSnapshot"] = (c, n) => c.RestoreSnapshotAsync(new RestoreSnapshotRequest { Network = n, Snapshot = 1 }),
        ["DeleteSnapshot"] = (c, n) => c.DeleteSnapshotAsync(new DeleteSnapshotRequest { Network = n, Snapshot = 1 }),
        ["ForkNetwork"] = (c, n) => c.ForkNetworkAsync(new ForkNetworkRequest { Network = n, Snapshot = 1, Name = "fork" }),
        ["ExportNetwork"] = (c, n) => c.ExportNetworkAsync(n),
    };

    /// <summary>RPCs whose <c>name</c> is the network they create, in the caller's own tenant (Nir/NirTenantTests imports one name for two tenants).</summary>
    private static readonly string[] s_creating = ["ImportNetwork"];

    [Fact]
    public void The_cross_tenant_test_covers_every_RPC_that_names_a_network()
    {
        static bool NamesANetwork(MessageDescriptor request) =>
            request.Fields.InDeclarationOrder().Any(f => f.Name is "name" or "network" && f.FieldType == FieldType.String)
            || request.Fields.InDeclarationOrder().Any(f => f.Name == "open" && f.FieldType == FieldType.Message && NamesANetwork(f.MessageType));

        var naming = Snn.Protos.V1.Snn.Descriptor.Methods.Where(m => NamesANetwork(m.InputType) && !s_creating.Contains(m.Name)).Select(m => m.Name).Order().ToList();
        Assert.Equal(naming, s_byName.Keys.Order().ToList());
    }

    [Fact]
    public async Task Another_tenants_network_is_NOT_FOUND_exactly_like_a_name_nobody_uses_for_every_RPC()
    {
        using var alice = Server.Client(SecuredServer.AliceKey);
        using var bob = Server.Client(SecuredServer.BobKey);
        string name = Names.Unique("secret");
        await alice.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay(name) }).Within();
        Assert.DoesNotContain((await bob.ListNetworksAsync().Within()).Networks, n => n.Spec.Name == name);

        foreach (var (method, call) in s_byName)
        {
            string nobody = Names.Unique("nobody")[..name.Length];
            var theirs = await Assert.ThrowsAsync<RpcException>(() => call(bob, name).Within());
            var unused = await Assert.ThrowsAsync<RpcException>(() => call(bob, nobody).Within());
            Assert.True(theirs.StatusCode == StatusCode.NotFound, $"{method}: {theirs.StatusCode} {theirs.Status.Detail}");
            Assert.Equal(unused.StatusCode, theirs.StatusCode);
            Assert.Equal(unused.Status.Detail.Replace(nobody, "X", StringComparison.Ordinal), theirs.Status.Detail.Replace(name, "X", StringComparison.Ordinal));
            Assert.DoesNotContain("alice", theirs.Status.Detail, StringComparison.Ordinal);
        }

        // Nothing bob did touched it: alice's network is still there, and still hers.
        Assert.Equal(name, (await alice.GetNetworkAsync(new GetNetworkRequest { Name = name }).Within()).Spec.Name);
        await alice.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name }).Within();
    }

    [Fact]
    public async Task A_refusal_names_the_network_as_the_tenant_knows_it()
    {
        using var alice = Server.Client(SecuredServer.AliceKey);
        string name = Names.Unique("mine");
        await alice.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay(name) }).Within();
        var e = await Rpc.FailsAsync(StatusCode.AlreadyExists, () => alice.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay(name) }),
            $"a network named '{name}' exists");
        Assert.DoesNotContain("alice:", e.Status.Detail, StringComparison.Ordinal);
        await Rpc.FailsAsync(StatusCode.InvalidArgument,
            () => alice.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay("bob:" + name) }), "is not a valid name");
        await alice.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name }).Within();
    }

    [Fact]
    public async Task Snapshots_and_forks_are_the_tenants_own_under_its_own_names()
    {
        using var alice = Server.Client(SecuredServer.AliceKey);
        using var bob = Server.Client(SecuredServer.BobKey);
        string name = Names.Unique("snap");
        await alice.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay(name) }).Within();
        await bob.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay(name) }).Within();

        var saved = await alice.SaveSnapshotAsync(new SaveSnapshotRequest { Network = name }).Within();
        Assert.Equal(name, saved.Network);
        Assert.Equal(name, Assert.Single((await alice.ListSnapshotsAsync(new ListSnapshotsRequest { Network = name }).Within()).Snapshots).Network);
        Assert.Empty((await bob.ListSnapshotsAsync(new ListSnapshotsRequest { Network = name }).Within()).Snapshots);

        // Bob cannot restore or fork alice's snapshot through his network of the same name.
        await Rpc.FailsAsync(StatusCode.NotFound, () => bob.RestoreSnapshotAsync(new RestoreSnapshotRequest { Network = name, Snapshot = saved.Id }), "has no snapshot");
        await Rpc.FailsAsync(StatusCode.NotFound,
            () => bob.ForkNetworkAsync(new ForkNetworkRequest { Network = name, Snapshot = saved.Id, Name = name + "-f" }), "has no snapshot");

        var fork = await alice.ForkNetworkAsync(new ForkNetworkRequest { Network = name, Snapshot = saved.Id, Name = name + "-f" }).Within();
        Assert.Equal(name + "-f", fork.Spec.Name);
        Assert.Contains((await alice.ListNetworksAsync().Within()).Networks, n => n.Spec.Name == name + "-f");
        Assert.DoesNotContain((await bob.ListNetworksAsync().Within()).Networks, n => n.Spec.Name == name + "-f");

        foreach (var n in new[] { name, name + "-f" })
        {
            await alice.DeleteNetworkAsync(new DeleteNetworkRequest { Name = n }).Within();
        }

        await bob.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name }).Within();
    }
}
