using Snn.Grpc;
using Snn.Grpc.Health.V1;
using Snn.Protos.V1;

namespace Snn.Client.Tests;

public sealed class SnnClientTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task UnaryMethods_CallTheirPaths()
    {
        var paths = new List<string>();
        var handler = new FakeGrpcHandler((request, _) =>
        {
            paths.Add(request.RequestUri!.AbsolutePath);
            Google.Protobuf.IMessage reply = request.RequestUri.AbsolutePath switch
            {
                "/snn.v1.Snn/GetServerInfo" => new ServerInfo { Version = "1" },
                "/snn.v1.Snn/CreateNetwork" or "/snn.v1.Snn/GetNetwork" => new Network(),
                "/snn.v1.Snn/ListNetworks" => new ListNetworksResponse(),
                "/snn.v1.Snn/DeleteNetwork" => new DeleteNetworkResponse(),
                "/snn.v1.Snn/SetParameters" => new SetParametersResponse(),
                "/snn.v1.Snn/ResetState" => new ResetStateResponse(),
                "/snn.v1.Snn/GetState" => new GetStateResponse(),
                "/grpc.health.v1.Health/Check" => new HealthCheckResponse { Status = HealthCheckResponse.Types.ServingStatus.Serving },
                _ => throw new InvalidOperationException(request.RequestUri.AbsolutePath),
            };
            return Task.FromResult(FakeGrpcHandler.Response(FakeGrpcHandler.Frame(reply)));
        });
        using var client = new SnnClient(new Uri("http://server.test"), handler);
        client.DefaultHeaders.Add("authorization", "Bearer k");

        Assert.Equal("1", (await client.GetServerInfoAsync().WaitAsync(Timeout)).Version);
        await client.CreateNetworkAsync(new CreateNetworkRequest()).WaitAsync(Timeout);
        await client.GetNetworkAsync(new GetNetworkRequest()).WaitAsync(Timeout);
        await client.ListNetworksAsync().WaitAsync(Timeout);
        await client.DeleteNetworkAsync(new DeleteNetworkRequest()).WaitAsync(Timeout);
        await client.SetParametersAsync(new SetParametersRequest()).WaitAsync(Timeout);
        await client.ResetStateAsync(new ResetStateRequest()).WaitAsync(Timeout);
        await client.GetStateAsync(new GetStateRequest()).WaitAsync(Timeout);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await client.HealthCheckAsync().WaitAsync(Timeout));

        Assert.Equal(9, paths.Count);
        Assert.All(handler.Requests, r => Assert.Equal("Bearer k", r.Request.Headers.Authorization?.ToString()));
    }

    [Fact]
    public async Task RunSession_OpensSendsReadsStepsAndCompletes()
    {
        var responses = new List<byte>();
        responses.AddRange(FakeGrpcHandler.Frame(new RunResponse { Opened = new RunOpened { Network = "net", Step = 0 } }));
        var steps = new RunResponse();
        steps.Steps.Add(new StepOutput { Step = 0 });
        steps.Steps.Add(new StepOutput { Step = 1 });
        responses.AddRange(FakeGrpcHandler.Frame(steps));
        var handler = new FakeGrpcHandler((_, _) => Task.FromResult(FakeGrpcHandler.Response([.. responses]))) { StreamRequestBody = true };
        using var client = new SnnClient(new Uri("http://server.test"), handler);

        await using var session = await client.OpenRunAsync(new RunOpen { Network = "net" }).WaitAsync(Timeout);
        Assert.Equal("net", session.Opened!.Network);
        await session.AdvanceAsync(2).WaitAsync(Timeout);
        await session.CompleteAsync().WaitAsync(Timeout);

        var received = new List<ulong>();
        await foreach (var step in session.ReadStepsAsync().WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            received.Add(step.Step);
        }

        Assert.Equal([0UL, 1UL], received);
        Assert.Equal(StatusCode.OK, session.Status?.StatusCode);

        var requestBody = await handler.StreamingBody!.WaitAsync(Timeout);
        var expected = new List<byte>();
        expected.AddRange(FakeGrpcHandler.Frame(new RunRequest { Open = new RunOpen { Network = "net" } }));
        expected.AddRange(FakeGrpcHandler.Frame(new RunRequest { Advance = 2 }));
        Assert.Equal(expected, requestBody);
    }

    [Fact]
    public async Task RunSession_RefusedOpen_ThrowsTheServersStatus()
    {
        var handler = new FakeGrpcHandler((_, _) => Task.FromResult(FakeGrpcHandler.Response([], StatusCode.AlreadyExists, "instance 0 has a driver", trailersOnly: true))) { StreamRequestBody = true };
        using var client = new SnnClient(new Uri("http://server.test"), handler);
        var error = await Assert.ThrowsAsync<RpcException>(() => client.OpenRunAsync(new RunOpen { Network = "net" }).WaitAsync(Timeout));
        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
        Assert.Equal("instance 0 has a driver", error.Status.Detail);
    }
}
