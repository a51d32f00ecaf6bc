using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Snn.Client;
using Grpc.Net.Client;
using Grpc.Core;
using Snn.Protos.V1;
using Snn.Server.Models;
using static Snn.FunctionalTests.Api.Specs;

namespace Snn.FunctionalTests.Api;

/// <summary>
/// The cases of tests/interop/snn_api_client.py (unary, ping-pong, error status, deadline,
/// cancellation, unknown method, oversized message, invalid protobuf) driven by our own client.
/// </summary>
public sealed class ClientCallShapeTests(ApiServerFixture server) : ApiTest(server)
{
    [Fact]
    public async Task Unary_GetServerInfo_describes_the_server()
    {
        var info = await Client.GetServerInfoAsync().Within();

        Assert.Matches(@"^\d+\.\d+\.\d+", info.Version);
        Assert.Equal("cpu", info.Backend);
        Assert.False(string.IsNullOrWhiteSpace(info.Device));
        Assert.Equal(4UL << 20, info.Limits.MaxMessageBytes);
        Assert.Equal(1U << 24, info.Limits.MaxNeuronsPerPopulation);
        Assert.Equal(1024U, info.Limits.MaxInstances);
        Assert.Equal(1000U, info.Limits.MaxNetworks);
        Assert.Equal(1024U, info.Limits.MaxInputHorizon);
        Assert.Equal(ModelCatalog.All.Select(m => m.Name), info.Models.Select(m => m.Name));
    }

    [Fact]
    public async Task Ping_pong_each_reply_arrives_before_the_next_request_is_sent()
    {
        string name = await CreateIafAsync();
        await using var run = await Client.OpenRunAsync(new RunOpen { Network = name, Instance = 0 }).Within();
        Assert.Equal(0UL, run.Opened!.Step);
        Assert.Equal(["lif"], run.Opened.SpikePopulations);

        for (uint i = 0; i < 20; i++)
        {
            // Neuron i % 4 gets 1.5 every fourth step: v = 1.5 → one spike, v = 0.5; then v = 2.0 → a
            // MultiSpike of 2, v = 0; and so on.
            await run.AdvanceAsync(1, [Events("in", [i % 4], [1.5f])]).Within();
            var response = await run.ReadAsync().Within();
            Assert.NotNull(response);
            var step = Assert.Single(response.Steps);
            Assert.Equal(i, step.Step);
            var (indices, values) = step.SpikesOf();
            Assert.Equal([i % 4], indices);
            Assert.Equal([i / 4 % 2 == 0 ? 1f : 2f], values);
        }

        await run.EndAsync();
        await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name }).Within();
    }

    [Fact]
    public async Task Error_status_carries_code_and_a_message_naming_the_field()
    {
        var spec = new NetworkSpec { Name = Names.Unique("bad"), Populations = { Population("x", "no.such.Model", 3) } };

        await Rpc.FailsAsync(StatusCode.InvalidArgument,
            () => Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }),
            "spec.populations[0].model", "no.such.Model");
    }

    [Fact]
    public async Task Deadline_ends_the_stream_with_DEADLINE_EXCEEDED_and_the_server_frees_the_instance()
    {
        string name = await CreateIafAsync();
        var run = Client.Run(new CallOptions(deadline: DateTime.UtcNow + TimeSpan.FromMilliseconds(500)));
        await using (run)
        {
            await run.SendAsync(new RunRequest { Open = new RunOpen { Network = name, Instance = 0 } }).Within();
            await run.EndsWithAsync(StatusCode.DeadlineExceeded);
        }

        await ReopenAsync(name, expectedStep: 0);
    }

    [Fact]
    public async Task Cancelling_an_open_stream_frees_the_instance()
    {
        string name = await CreateIafAsync();
        using var cancel = new CancellationTokenSource();
        var run = await Client.OpenRunAsync(new RunOpen { Network = name, Instance = 0 }, new CallOptions(cancellationToken: cancel.Token)).Within();
        await using (run)
        {
            Assert.Equal(0UL, (await run.StepAsync()).Step);
            var pending = run.ReadAsync();
            cancel.Cancel();
            var e = await Assert.ThrowsAsync<RpcException>(() => pending.Within());
            Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        }

        // The instance keeps its state: the next driver continues at step 1.
        await ReopenAsync(name, expectedStep: 1);
    }

    [Fact]
    public async Task Unknown_method_and_unknown_service_are_UNIMPLEMENTED()
    {
        using var channel = GrpcChannel.ForAddress(Server.Address);
        var invoker = channel.CreateCallInvoker();

        await Rpc.FailsAsync(StatusCode.Unimplemented,
            () => RawCall.UnaryAsync(invoker, "snn.v1.Snn", "NoSuchMethod", new GetServerInfoRequest(), ServerInfo.Parser));
        await Rpc.FailsAsync(StatusCode.Unimplemented,
            () => RawCall.UnaryAsync(invoker, "no.such.Service", "Method", new GetServerInfoRequest(), ServerInfo.Parser));

        // The same channel goes on working.
        var info = await RawCall.UnaryAsync(invoker, "snn.v1.Snn", "GetServerInfo", new GetServerInfoRequest(), ServerInfo.Parser).Within();
        Assert.NotEmpty(info.Models);
    }

    [Fact]
    public async Task Oversized_request_is_RESOURCE_EXHAUSTED_and_the_server_still_answers()
    {
        const uint size = 1100; // 1100*1100 float weights = 4.84 MB, over the 4 MiB limit
        var spec = new NetworkSpec
        {
            Name = Names.Unique("big"),
            Populations = { Population("a", "input", size), Population("b", "sinabs.IAF", size) },
            Projections = { Dense("w", "a", "b", Enumerable.Repeat(0.5f, (int)(size * size)).ToArray()) },
        };
        var request = new CreateNetworkRequest { Spec = spec };

        // Our client refuses to send it by default ...
        await Rpc.FailsAsync(StatusCode.ResourceExhausted, () => Client.CreateNetworkAsync(request));

        // ... and the server refuses it when a client sends it anyway.
        using var unlimited = Server.CreateClient(new GrpcChannelOptions { MaxSendMessageSize = 16 << 20 });
        await Rpc.FailsAsync(StatusCode.ResourceExhausted, () => unlimited.CreateNetworkAsync(request));

        Assert.NotEmpty((await unlimited.GetServerInfoAsync().Within()).Models);
        await Rpc.FailsAsync(StatusCode.NotFound, () => unlimited.GetNetworkAsync(new GetNetworkRequest { Name = spec.Name }), spec.Name);
    }

    [Fact]
    public async Task Invalid_protobuf_is_INVALID_ARGUMENT()
    {
        using var channel = GrpcChannel.ForAddress(Server.Address);

        // Field 1 (spec) holding bytes that are not a NetworkSpec: a tag varint that never ends properly.
        var garbage = new BytesValue { Value = ByteString.CopyFrom(0xff, 0xff, 0xff, 0xff, 0x0f) };
        await Rpc.FailsAsync(StatusCode.InvalidArgument,
            () => RawCall.UnaryAsync(channel.CreateCallInvoker(), "snn.v1.Snn", "CreateNetwork", garbage, Network.Parser),
            "not a valid CreateNetworkRequest");
    }

    private async Task<string> CreateIafAsync()
    {
        var spec = Feed(Names.Unique("shape"), "sinabs.IAF", 4, 1, ("spike_threshold", Num(1.0)));
        spec.Populations[1].Name = "lif";
        spec.Projections[0].Target = "lif";
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();
        return spec.Name;
    }

    /// <summary>
    /// The server must have ended the previous call: the instance accepts a new driver. The server
    /// learns of a deadline or a cancellation on its own schedule, so ALREADY_EXISTS is retried for a
    /// while (a generous bound, not a timing assumption).
    /// </summary>
    private async Task ReopenAsync(string name, ulong expectedStep)
    {
        var giveUp = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                await using var run = await Client.OpenRunAsync(new RunOpen { Network = name, Instance = 0 }).Within();
                Assert.Equal(expectedStep, run.Opened!.Step);
                Assert.Equal(expectedStep, (await run.StepAsync()).Step);
                await run.EndAsync();
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists && DateTime.UtcNow < giveUp)
            {
                await Task.Delay(50);
            }
        }
    }
}
