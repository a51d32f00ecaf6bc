using System.Globalization;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Snn.Protos.V1;

namespace Snn.Client.Tests;

public sealed class SnnClientTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private const string Service = "/snn.v1.Snn/";

    [Fact]
    public async Task UnaryMethods_CallTheirPaths_WithTheDefaultHeadersOnEveryCall()
    {
        await using var server = await FakeSnnServer.StartAsync();
        using var client = new SnnClient(server.Address);
        client.DefaultHeaders.Add("authorization", "Bearer k");

        Assert.Equal("fake", (await client.GetServerInfoAsync().WaitAsync(Timeout)).Version);
        Assert.Equal("n1", (await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = new NetworkSpec { Name = "n1" } }).WaitAsync(Timeout)).Spec.Name);
        Assert.Equal("n2", (await client.GetNetworkAsync(new GetNetworkRequest { Name = "n2" }).WaitAsync(Timeout)).Spec.Name);
        await client.ListNetworksAsync().WaitAsync(Timeout);
        await client.DeleteNetworkAsync(new DeleteNetworkRequest()).WaitAsync(Timeout);
        await client.SetParametersAsync(new SetParametersRequest()).WaitAsync(Timeout);
        await client.ResetStateAsync(new ResetStateRequest()).WaitAsync(Timeout);
        Assert.Equal(7UL, (await client.GetStateAsync(new GetStateRequest(), new CallOptions(new Metadata { { "x-call", "own" } })).WaitAsync(Timeout)).Step);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await client.HealthCheckAsync().WaitAsync(Timeout));

        string[] expected =
        [
            Service + "GetServerInfo", Service + "CreateNetwork", Service + "GetNetwork", Service + "ListNetworks", Service + "DeleteNetwork",
            Service + "SetParameters", Service + "ResetState", Service + "GetState", "/grpc.health.v1.Health/Check",
        ];
        Assert.Equal(expected, server.Requests.Select(r => r.Path));
        Assert.All(server.Requests, r => Assert.Equal("Bearer k", r.Header("authorization")));

        // A call's own headers travel with the default ones.
        Assert.Equal("own", server.Requests.Single(r => r.Path.EndsWith("/GetState", StringComparison.Ordinal)).Header("x-call"));
    }

    [Fact]
    public async Task ImportNetwork_SendsTheStreamsBytesWithFlavourDtAndStrict_ExportNetwork_ReturnsTheFileAndReport()
    {
        await using var server = await FakeSnnServer.StartAsync();
        using var client = new SnnClient(server.Address);
        using var nir = new MemoryStream([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a]);
        nir.Position = 1; // read from where the stream stands, to its end

        var imported = await client.ImportNetworkAsync("m", nir, flavor: "snntorch", dt: 0.0005, strict: true).WaitAsync(Timeout);
        Assert.Equal("m", imported.Network.Spec.Name);
        var line = Assert.Single(imported.Report);
        Assert.Equal("4844460D0A", line.Node);
        Assert.Equal("snntorch", line.Becomes);
        Assert.Equal("dt=0.0005 strict=True", line.Detail);

        var request = new ImportNetworkRequest { Name = "k", Nir = Google.Protobuf.ByteString.CopyFrom(1, 2), Instances = 3 };
        Assert.Equal(3u, (await client.ImportNetworkAsync(request).WaitAsync(Timeout)).Network.Spec.Instances);

        var exported = await client.ExportNetworkAsync("net1").WaitAsync(Timeout);
        Assert.Equal("net1", exported.Nir.ToStringUtf8());
        Assert.True(Assert.Single(exported.Report).Lossy);

        Assert.Equal([Service + "ImportNetwork", Service + "ImportNetwork", Service + "ExportNetwork"], server.Requests.Select(r => r.Path));
    }

    [Fact]
    public async Task DefaultHeaders_AreAddedOnce_AndLeaveTheCallersMetadataAlone()
    {
        await using var server = await FakeSnnServer.StartAsync();
        using var client = new SnnClient(server.Address);
        client.DefaultHeaders.Add("authorization", "Bearer k");
        var shared = new Metadata { { "x-call", "shared" } };

        await client.GetServerInfoAsync(options: new CallOptions(shared)).WaitAsync(Timeout);
        await client.GetServerInfoAsync(options: new CallOptions(shared)).WaitAsync(Timeout);

        Assert.Equal(["x-call"], shared.Select(e => e.Key));
        Assert.All(server.Requests, r => Assert.Equal("Bearer k", r.Header("authorization")));
        Assert.All(server.Requests, r => Assert.Equal("shared", r.Header("x-call")));
    }

    [Fact]
    public async Task RunSession_OpensAdvancesReadsStepsAndCompletes()
    {
        await using var server = await FakeSnnServer.StartAsync();
        using var client = new SnnClient(server.Address);
        client.DefaultHeaders.Add("authorization", "Bearer k");

        await using var session = await client.OpenRunAsync(new RunOpen { Network = "net", Instance = 2 }).WaitAsync(Timeout);
        Assert.Equal("net", session.Opened!.Network);
        Assert.Equal(2u, session.Opened.Instance);
        Assert.Null(session.Status);

        await session.AdvanceAsync(2).WaitAsync(Timeout);
        await session.AdvanceAsync(3).WaitAsync(Timeout);
        await session.CompleteAsync().WaitAsync(Timeout);

        var received = new List<ulong>();
        await foreach (var step in session.ReadStepsAsync().WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            received.Add(step.Step);
        }

        Assert.Equal([0UL, 1UL, 2UL, 3UL, 4UL], received);
        Assert.Equal(StatusCode.OK, session.Status?.StatusCode);
        var run = Assert.Single(server.Requests);
        Assert.Equal(Service + "Run", run.Path);
        Assert.Equal("Bearer k", run.Header("authorization"));
    }

    [Fact]
    public async Task RunSession_RefusedOpen_ThrowsTheServersStatus()
    {
        await using var server = await FakeSnnServer.StartAsync();
        using var client = new SnnClient(server.Address);
        var error = await Assert.ThrowsAsync<RpcException>(() => client.OpenRunAsync(new RunOpen { Network = "busy" }).WaitAsync(Timeout));
        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
        Assert.Equal("instance 0 has a driver", error.Status.Detail);
    }

    [Fact]
    public async Task Watch_YieldsOpenedThenSteps()
    {
        await using var server = await FakeSnnServer.StartAsync();
        using var client = new SnnClient(server.Address);
        var responses = new List<RunResponse>();
        await foreach (var response in client.WatchAsync(new WatchRequest { Network = "net", Instance = 1 }).WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            responses.Add(response);
        }

        Assert.Equal("net", responses[0].Opened.Network);
        Assert.Equal(1u, responses[0].Opened.Instance);
        Assert.Equal([0UL, 1UL, 2UL], responses.Skip(1).Select(r => Assert.Single(r.Steps).Step));
        Assert.Equal(Service + "Watch", Assert.Single(server.Requests).Path);
    }

    [Fact]
    public async Task Watch_EndedWithAnError_ThrowsItAfterWhatArrived()
    {
        await using var server = await FakeSnnServer.StartAsync();
        using var client = new SnnClient(server.Address);
        var responses = new List<RunResponse>();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var response in client.WatchAsync(new WatchRequest { Network = "gone" }).WithCancellation(new CancellationTokenSource(Timeout).Token))
            {
                responses.Add(response);
            }
        });
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("network gone was deleted", error.Status.Detail);
        Assert.Equal("gone", Assert.Single(responses).Opened.Network);
    }

    [Fact]
    public async Task HealthCheck_ServingForTheServer_NotFoundForAnUnknownService()
    {
        await using var server = await FakeSnnServer.StartAsync();
        using var client = new SnnClient(server.Address);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await client.HealthCheckAsync().WaitAsync(Timeout));
        var error = await Assert.ThrowsAsync<RpcException>(() => client.HealthCheckAsync("no.such.Service").WaitAsync(Timeout));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task ChannelDefaults_Are4MiBEachWay_AndOptionsOverrideThem()
    {
        Assert.Equal(4 << 20, SnnClient.DefaultMaxMessageSize);
        await using var server = await FakeSnnServer.StartAsync();
        using var client = new SnnClient(server.Address);

        // A request over 4 MiB is refused by the client (the server would take up to 64 MiB).
        var big = new CreateNetworkRequest { Spec = new NetworkSpec { Name = new string('n', 5 << 20) } };
        var sendError = await Assert.ThrowsAsync<RpcException>(() => client.CreateNetworkAsync(big).WaitAsync(Timeout));
        Assert.Equal(StatusCode.ResourceExhausted, sendError.StatusCode);
        Assert.StartsWith("Sending message exceeds the maximum configured message size", sendError.Status.Detail, StringComparison.Ordinal);

        // An answer over 4 MiB is refused too.
        var receiveError = await Assert.ThrowsAsync<RpcException>(() =>
            client.GetNetworkAsync(new GetNetworkRequest { Name = FakeSnnServer.BigNetwork }).WaitAsync(Timeout));
        Assert.Equal(StatusCode.ResourceExhausted, receiveError.StatusCode);
        Assert.StartsWith("Received message exceeds the maximum configured message size", receiveError.Status.Detail, StringComparison.Ordinal);

        // Channel options given to the client win.
        using var larger = new SnnClient(server.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 8 << 20, MaxSendMessageSize = 8 << 20 });
        var network = await larger.GetNetworkAsync(new GetNetworkRequest { Name = FakeSnnServer.BigNetwork }).WaitAsync(Timeout);
        Assert.Equal(FakeSnnServer.BigNetworkBytes, network.Spec.Name.Length);
        Assert.Equal(5 << 20, (await larger.CreateNetworkAsync(big).WaitAsync(Timeout)).Spec.Name.Length);
    }

    [Fact]
    public async Task ClientInterceptor_PassedAsTheInvoker_SeesEveryCall()
    {
        await using var server = await FakeSnnServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        var seen = new List<string>();
        using var client = new SnnClient(channel.Intercept(new Recorder(seen)));
        client.DefaultHeaders.Add("authorization", "Bearer k");

        await client.GetServerInfoAsync().WaitAsync(Timeout);
        await using (var session = await client.OpenRunAsync(new RunOpen { Network = "net" }).WaitAsync(Timeout))
        {
            await session.CompleteAsync().WaitAsync(Timeout);
            Assert.Null(await session.ReadAsync().WaitAsync(Timeout));
        }

        await foreach (var unused in client.WatchAsync(new WatchRequest { Network = "net" }).WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
        }

        await client.HealthCheckAsync().WaitAsync(Timeout);

        Assert.Equal([Service + "GetServerInfo", Service + "Run", Service + "Watch", "/grpc.health.v1.Health/Check"], seen);
        Assert.Equal(4, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.Equal("Bearer k", r.Header("authorization")));
        Assert.All(server.Requests, r => Assert.Equal("recorded", r.Header("x-interceptor")));
    }

    [Fact]
    public async Task CallOptionsDeadline_ReachesTheServerAsGrpcTimeout()
    {
        await using var server = await FakeSnnServer.StartAsync();
        using var client = new SnnClient(server.Address);

        await client.GetServerInfoAsync().WaitAsync(Timeout);
        await client.GetServerInfoAsync(options: new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30))).WaitAsync(Timeout);
        await using (var session = client.Run(new CallOptions(deadline: DateTime.UtcNow.AddMinutes(10))))
        {
            await session.OpenAsync(new RunOpen { Network = "net" }).WaitAsync(Timeout);
        }

        var requests = server.Requests.ToArray();
        Assert.Null(requests[0].Header("grpc-timeout"));
        Assert.InRange(ParseTimeout(requests[1].Header("grpc-timeout")), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30));
        Assert.InRange(ParseTimeout(requests[2].Header("grpc-timeout")), TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
    }

    /// <summary>A grpc-timeout value (PROTOCOL-HTTP2.md: up to 8 digits and a unit H, M, S, m, u or n).</summary>
    private static TimeSpan ParseTimeout(string? value)
    {
        Assert.NotNull(value);
        Assert.Matches("^[0-9]{1,8}[HMSmun]$", value);
        var amount = long.Parse(value[..^1], CultureInfo.InvariantCulture);
        return value[^1] switch
        {
            'H' => TimeSpan.FromHours(amount),
            'M' => TimeSpan.FromMinutes(amount),
            'S' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMilliseconds(amount),
            'u' => TimeSpan.FromMicroseconds(amount),
            _ => TimeSpan.FromTicks(amount / 100),
        };
    }

    /// <summary>Records each call's method and adds a header, for every call shape.</summary>
    private sealed class Recorder(List<string> seen) : Interceptor
    {
        private ClientInterceptorContext<TRequest, TResponse> Record<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
            where TRequest : class
            where TResponse : class
        {
            lock (seen)
            {
                seen.Add(context.Method.FullName);
            }

            var headers = new Metadata { { "x-interceptor", "recorded" } };
            foreach (var entry in context.Options.Headers ?? [])
            {
                headers.Add(entry);
            }

            return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithHeaders(headers));
        }

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            AsyncUnaryCallContinuation<TRequest, TResponse> continuation) => continuation(request, Record(context));

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(TRequest request,
            ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation) =>
            continuation(request, Record(context));

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
            ClientInterceptorContext<TRequest, TResponse> context, AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation) =>
            continuation(Record(context));

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
            ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation) =>
            continuation(Record(context));
    }
}
