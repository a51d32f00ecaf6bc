using Grpc.Core;
using Snn.Client;
using Snn.FunctionalTests.Api;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Security;

/// <summary>Server with small quotas, so that each can be reached in a test.</summary>
public sealed class QuotaServerFixture : IAsyncLifetime
{
    private SecuredServer? _server;

    internal SecuredServer Server => _server ?? throw new InvalidOperationException("server not started");

    public async Task InitializeAsync() => _server = await SecuredServer.StartAsync(
        ("Snn:Quotas:MaxNetworks", "2"),
        ("Snn:Quotas:MaxNeurons", "40"),
        ("Snn:Quotas:MaxSynapses", "10"),
        ("Snn:Quotas:MaxOpenStreams", "2"),
        ("Snn:Quotas:MaxMessageBytes", "2048"),
        ("Snn:Quotas:MaxInputsPerSecond", "50")).Within();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// <c>Snn:Quotas</c>: each quota, reached over the real transport, gives RESOURCE_EXHAUSTED naming the quota
/// and the numbers, and is the tenant's own: bob is not held back by alice's use.
/// </summary>
public sealed class QuotaTests(QuotaServerFixture fixture) : IClassFixture<QuotaServerFixture>, IAsyncLifetime
{
    private SecuredServer Server => fixture.Server;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Server.AssertNoErrorsLogged();
        return Task.CompletedTask;
    }

    private static Task<Network> Create(SnnClient client, NetworkSpec spec) => client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec });

    private static async Task DeleteAll(SnnClient client)
    {
        foreach (var n in (await client.ListNetworksAsync().Within()).Networks)
        {
            await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = n.Spec.Name }).Within();
        }
    }

    [Fact]
    public async Task Networks_neurons_and_synapses_are_counted_per_tenant()
    {
        using var alice = Server.Client(SecuredServer.AliceKey);
        using var bob = Server.Client(SecuredServer.BobKey);
        try
        {
            // Relay: 8 neurons, 4 synapses. Two fit; a third is over MaxNetworks.
            await Create(alice, Specs.Relay("a1")).Within();
            await Create(alice, Specs.Relay("a2")).Within();
            await Rpc.FailsAsync(StatusCode.ResourceExhausted, () => Create(alice, Specs.Relay("a3")),
                "quota Snn:Quotas:MaxNetworks exceeded", "tenant 'alice' holds 2 networks and may hold 2");

            // Bob's quota is his own.
            await Create(bob, Specs.Relay("b1")).Within();

            // 5 instances of 8 neurons with alice's 16 held: 56 > 40.
            await alice.DeleteNetworkAsync(new DeleteNetworkRequest { Name = "a2" }).Within();
            await Rpc.FailsAsync(StatusCode.ResourceExhausted, () => Create(alice, Specs.Relay("big", instances: 5)),
                "quota Snn:Quotas:MaxNeurons exceeded", "this network has 40 neurons (instances counted), tenant 'alice' holds 8, and the quota is 40");
            Assert.Single((await alice.ListNetworksAsync().Within()).Networks); // nothing half-created

            // Dense 4 x 4: 16 synapses > 10 - 4.
            var dense = new NetworkSpec
            {
                Name = "dense",
                Populations = { Specs.Population("in", "input", 4), Specs.Population("out", "passthrough", 4) },
                Projections = { Specs.Dense("w", "in", "out", new float[16]) },
            };
            await Rpc.FailsAsync(StatusCode.ResourceExhausted, () => Create(alice, dense),
                "quota Snn:Quotas:MaxSynapses exceeded", "this network has 16 synapses, tenant 'alice' holds 4, and the quota is 10");
        }
        finally
        {
            await DeleteAll(alice);
            await DeleteAll(bob);
        }
    }

    [Fact]
    public async Task Open_streams_are_counted_per_tenant_and_freed_when_a_stream_ends()
    {
        using var alice = Server.Client(SecuredServer.AliceKey);
        using var bob = Server.Client(SecuredServer.BobKey);
        await Create(alice, Specs.Relay("streams", instances: 2)).Within();
        await Create(bob, Specs.Relay("streams")).Within();
        try
        {
            var first = await alice.OpenRunAsync(new RunOpen { Network = "streams", Instance = 0 }).Within();
            await using (var second = await alice.OpenRunAsync(new RunOpen { Network = "streams", Instance = 1 }).Within())
            {
                var e = await Rpc.FailsAsync(StatusCode.ResourceExhausted, async () =>
                    {
                        await foreach (var _ in alice.WatchAsync(new WatchRequest { Network = "streams" }))
                        {
                        }
                    },
                    "quota Snn:Quotas:MaxOpenStreams exceeded", "tenant 'alice' has 2 Run and Watch streams open and may have 2");

                // Bob's streams are his own.
                await using var bobs = await bob.OpenRunAsync(new RunOpen { Network = "streams" }).Within();
                await bobs.EndAsync();
            }

            // The second stream has ended: once the server has seen it end, alice may open another.
            var until = DateTime.UtcNow + ApiTimeouts.Default;
            while (true)
            {
                try
                {
                    await using var again = await alice.OpenRunAsync(new RunOpen { Network = "streams", Instance = 1 }).Within();
                    await again.EndAsync();
                    break;
                }
                catch (RpcException e) when (e.StatusCode is StatusCode.ResourceExhausted or StatusCode.FailedPrecondition && DateTime.UtcNow < until)
                {
                    await Task.Delay(20);
                }
            }

            await first.EndAsync();
            await first.DisposeAsync();
        }
        finally
        {
            await DeleteAll(alice);
            await DeleteAll(bob);
        }
    }

    [Fact]
    public async Task A_message_over_the_tenants_size_quota_is_refused_in_a_unary_call_and_in_a_stream()
    {
        using var alice = Server.Client(SecuredServer.AliceKey);
        var big = new NetworkSpec
        {
            Name = "big",
            Populations = { Specs.Population("in", "input", 24), Specs.Population("out", "passthrough", 24) },
            Projections = { Specs.Dense("w", "in", "out", new float[24 * 24]) }, // 2,304 bytes of weights alone
        };
        await Rpc.FailsAsync(StatusCode.ResourceExhausted, () => Create(alice, big),
            "quota Snn:Quotas:MaxMessageBytes exceeded", "this CreateNetworkRequest has", "tenant 'alice' may send at most 2048");
        Assert.Empty((await alice.ListNetworksAsync().Within()).Networks);

        await Create(alice, Specs.Relay("wide")).Within();
        try
        {
            // 200 inputs of 4 floats: over 2,048 bytes (the size is checked before the input rate).
            await using var run = await alice.OpenRunAsync(new RunOpen { Network = "wide" }).Within();
            await run.AdvanceAsync(1, Enumerable.Range(0, 200).Select(_ => Specs.Current("in", 1, 2, 3, 4))).Within();
            await run.EndsWithAsync(StatusCode.ResourceExhausted, "quota Snn:Quotas:MaxMessageBytes exceeded", "this RunRequest has");
        }
        finally
        {
            await DeleteAll(alice);
        }
    }

    [Fact]
    public async Task A_Run_stream_sending_inputs_faster_than_the_quota_ends_RESOURCE_EXHAUSTED()
    {
        using var alice = Server.Client(SecuredServer.AliceKey);
        await Create(alice, Specs.Relay("rate")).Within();
        try
        {
            // Within the bucket (one second's worth, 50): fine.
            await using (var calm = await alice.OpenRunAsync(new RunOpen { Network = "rate" }).Within())
            {
                await calm.AdvanceAsync(1, Enumerable.Range(0, 40).Select(_ => Specs.Events("in", [0]))).Within();
                await calm.ReadStepsAsync(1);
                await calm.EndAsync();
            }

            // 300 inputs at once in 30 requests: the bucket refills 5 every 100 ms, so this needs 5 s to pass.
            await using (var flood = await alice.OpenRunAsync(new RunOpen { Network = "rate" }).Within())
            {
                try
                {
                    for (int i = 0; i < 30; i++)
                    {
                        await flood.AdvanceAsync(1, Enumerable.Range(0, 10).Select(_ => Specs.Events("in", [1]))).Within();
                    }
                }
                catch (RpcException)
                {
                    // The server ended the stream while we were still writing; its status is read below.
                }

                await flood.EndsWithAsync(StatusCode.ResourceExhausted, "quota Snn:Quotas:MaxInputsPerSecond exceeded", "faster than 50 per second");
            }

            // One request with more inputs than a second's worth can never pass.
            await using var huge = await alice.OpenRunAsync(new RunOpen { Network = "rate" }).Within();
            await huge.AdvanceAsync(1, Enumerable.Range(0, 51).Select(_ => Specs.Events("in", [2]))).Within();
            await huge.EndsWithAsync(StatusCode.ResourceExhausted, "quota Snn:Quotas:MaxInputsPerSecond exceeded", "this request has 51");
        }
        finally
        {
            await DeleteAll(alice);
        }
    }
}
