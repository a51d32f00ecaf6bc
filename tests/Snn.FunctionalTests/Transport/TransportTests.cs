using System.Net;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Snn.Client;
using Snn.Client.Internal;
using Snn.Grpc;
using Snn.Grpc.Health.V1;

namespace Snn.FunctionalTests.Transport;

/// <summary>The transport over real Kestrel and our client: every call shape, every error path.</summary>
public sealed class TransportTests
{
    private const string Echo = "/" + EchoTestService.Name + "/";

    [Fact]
    public async Task Unary_RoundTrips()
    {
        await using var host = await TransportTestHost.StartAsync();
        var reply = await host.Connection.UnaryAsync(Echo + "Echo", new StringValue { Value = "hello ☺" }, StringValue.Parser, default).WithTimeout();
        Assert.Equal("hello ☺", reply.Value);
    }

    [Fact]
    public async Task Unary_EmptyMessage_RoundTrips()
    {
        await using var host = await TransportTestHost.StartAsync();
        var reply = await host.Connection.UnaryAsync(Echo + "Echo", new StringValue(), StringValue.Parser, default).WithTimeout();
        Assert.Equal(string.Empty, reply.Value);
    }

    [Fact]
    public async Task ServerStreaming_ReceivesAllMessagesInOrder()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var call = host.Connection.ServerStreaming(Echo + "Count", new Int32Value { Value = 100 }, StringValue.Parser, default);
        var received = new List<string>();
        while (await call.MoveNextAsync().WithTimeout())
        {
            received.Add(call.Current.Value);
        }

        Assert.Equal(Enumerable.Range(0, 100).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), received);
        Assert.Equal(StatusCode.OK, call.FinalStatus?.StatusCode);
    }

    [Fact]
    public async Task ServerStreaming_ErrorAfterMessages_ArrivesInTrailers()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var call = host.Connection.ServerStreaming(Echo + "CountThenFail", new Int32Value { Value = 3 }, StringValue.Parser, default);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await call.MoveNextAsync().WithTimeout());
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => call.MoveNextAsync().WithTimeout());
        Assert.Equal(StatusCode.Aborted, error.StatusCode);
        Assert.Equal("stopped after 3", error.Status.Detail);
    }

    [Fact]
    public async Task ClientStreaming_AggregatesAllMessages()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var call = host.Connection.Streaming<StringValue, StringValue>(Echo + "Concat", StringValue.Parser, default);
        foreach (var part in new[] { "a", "b", "c" })
        {
            await call.WriteAsync(new StringValue { Value = part }).WithTimeout();
        }

        call.CompleteRequest();
        var reply = await call.ReadSingleResponseAsync().WithTimeout();
        Assert.Equal("a,b,c", reply.Value);
    }

    [Fact]
    public async Task ClientStreaming_NoMessages_Completes()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var call = host.Connection.Streaming<StringValue, StringValue>(Echo + "Concat", StringValue.Parser, default);
        call.CompleteRequest();
        var reply = await call.ReadSingleResponseAsync().WithTimeout();
        Assert.Equal(string.Empty, reply.Value);
    }

    [Fact]
    public async Task Duplex_PingPong_ReplyArrivesBeforeTheNextRequest()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var call = host.Connection.Streaming<StringValue, StringValue>(Echo + "PingPong", StringValue.Parser, default);
        for (var i = 0; i < 200; i++)
        {
            var text = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await call.WriteAsync(new StringValue { Value = text }).WithTimeout();
            Assert.True(await call.MoveNextAsync().WithTimeout());
            Assert.Equal("pong:" + text, call.Current.Value);
        }

        call.CompleteRequest();
        Assert.False(await call.MoveNextAsync().WithTimeout());
        Assert.Equal(StatusCode.OK, call.FinalStatus?.StatusCode);
    }

    [Fact]
    public async Task Duplex_ResponseHeadersArriveBeforeAnyMessage()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var call = host.Connection.Streaming<StringValue, StringValue>(Echo + "PingPong", StringValue.Parser, default);

        // The client has not written anything: the server sends its headers at the handler's first await.
        var headers = await call.ResponseHeadersAsync().WithTimeout();
        Assert.NotNull(headers);
        call.CompleteRequest();
        Assert.False(await call.MoveNextAsync().WithTimeout());
    }

    [Fact]
    public async Task Error_RpcException_GivesItsStatusMessageAndTrailers()
    {
        await using var host = await TransportTestHost.StartAsync();
        const string detail = "100% wrong: ☺ \r\n and 😈";
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Connection.UnaryAsync(Echo + "Fail", new StringValue { Value = detail }, StringValue.Parser, default).WithTimeout());
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal(detail, error.Status.Detail);
        Assert.Equal("why", error.Trailers.GetValue("x-detail"));
    }

    [Fact]
    public async Task Error_BeforeAnyMessage_IsTrailersOnly()
    {
        await using var host = await TransportTestHost.StartAsync();
        var response = await host.SendRawAsync(Echo + "Fail", TransportTestHost.Frame(new StringValue { Value = "nope" }.ToByteArray()));
        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.Equal("9", response.HeaderStatus);
        Assert.Null(response.TrailerStatus);
        Assert.Empty(response.Body);
        Assert.Equal("nope", response.Message);
    }

    [Fact]
    public async Task Error_UnhandledException_IsUnknownWithASafeMessage()
    {
        await using var host = await TransportTestHost.StartAsync();
        host.ExpectedErrorEventIds.Add(1001);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Connection.UnaryAsync(Echo + "Crash", new StringValue(), StringValue.Parser, default).WithTimeout());
        Assert.Equal(StatusCode.Unknown, error.StatusCode);
        Assert.DoesNotContain("secret", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 1001 && e.Exception is InvalidOperationException);
    }

    [Fact]
    public async Task Error_UnhandledException_WithDetailedErrors_IncludesTheMessage()
    {
        await using var host = await TransportTestHost.StartAsync(o => o.EnableDetailedErrors = true);
        host.ExpectedErrorEventIds.Add(1001);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Connection.UnaryAsync(Echo + "Crash", new StringValue(), StringValue.Parser, default).WithTimeout());
        Assert.Equal(StatusCode.Unknown, error.StatusCode);
        Assert.Contains("secret internals", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Error_HandlerSetsStatus_NoResponseIsSent()
    {
        await using var host = await TransportTestHost.StartAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Connection.UnaryAsync(Echo + "SetStatus", new StringValue(), StringValue.Parser, default).WithTimeout());
        Assert.Equal(StatusCode.Aborted, error.StatusCode);
        Assert.Equal("set by handler", error.Status.Detail);
    }

    [Fact]
    public async Task Metadata_CustomHeadersAreReadable_ResponseHeadersAndTrailersAreWritable()
    {
        await using var host = await TransportTestHost.StartAsync();
        var headers = new Metadata { { "x-echo", "value 1" }, { "X-Echo-Bin", new byte[] { 0, 1, 2, 0xAB } } };
        using var call = host.Connection.ServerStreaming(Echo + "EchoMetadata", new StringValue(), StringValue.Parser, new CallOptions(headers));
        var responseHeaders = await call.ResponseHeadersAsync().WithTimeout();
        var reply = await call.ReadSingleResponseAsync().WithTimeout();

        Assert.Equal("value 1", responseHeaders.GetValue("x-echo"));
        Assert.Equal(new byte[] { 0, 1, 2, 0xAB }, call.Trailers.GetValueBytes("x-echo-bin"));
        Assert.Equal("/" + EchoTestService.Name + "/EchoMetadata True", reply.Value);
    }

    [Fact]
    public async Task Deadline_ServerEndsTheCall_EvenWhenTheHandlerIgnoresItsToken()
    {
        await using var host = await TransportTestHost.StartAsync();

        // No client-side deadline: the status must come from the server.
        var response = await host.SendRawAsync(Echo + "SleepIgnoringToken", TransportTestHost.Frame([]),
            configure: r => r.Headers.TryAddWithoutValidation("grpc-timeout", "200000u"));
        Assert.Equal("4", response.GrpcStatus);
        Assert.False(host.Observations.Released.IsCompleted);
        host.Observations.Release();
        Assert.Contains("DeadlineExceeded", await host.WaitForRpcLogAsync("SleepIgnoringToken"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deadline_CancelsTheHandlersToken()
    {
        await using var host = await TransportTestHost.StartAsync();
        var response = await host.SendRawAsync(Echo + "Sleep", TransportTestHost.Frame([]),
            configure: r => r.Headers.TryAddWithoutValidation("grpc-timeout", "100m"));
        Assert.Equal("4", response.GrpcStatus);
        await host.Observations.HandlerCancelled.WithTimeout();
    }

    [Fact]
    public async Task Deadline_FromTheClient_IsDeadlineExceeded()
    {
        await using var host = await TransportTestHost.StartAsync();
        var options = CallOptions.WithTimeout(TimeSpan.FromMilliseconds(200));
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Connection.UnaryAsync(Echo + "Sleep", new StringValue(), StringValue.Parser, options).WithTimeout());
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        await host.Observations.HandlerCancelled.WithTimeout();
    }

    [Fact]
    public async Task ClientCancellation_EndsTheServerCall()
    {
        await using var host = await TransportTestHost.StartAsync();
        var call = host.Connection.Streaming<StringValue, StringValue>(Echo + "WaitForCancel", StringValue.Parser, default);
        await call.WriteAsync(new StringValue { Value = "go" }).WithTimeout();
        Assert.True(await call.MoveNextAsync().WithTimeout());
        Assert.Equal("ready", call.Current.Value);
        await host.Observations.HandlerStarted.WithTimeout();

        call.Dispose();

        await host.Observations.HandlerCancelled.WithTimeout();
        Assert.Contains("Cancelled", await host.WaitForRpcLogAsync("WaitForCancel"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientCancellation_ByToken_IsCancelledOnBothSides()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var cts = new CancellationTokenSource();
        var pending = host.Connection.UnaryAsync(Echo + "Sleep", new StringValue(), StringValue.Parser, new CallOptions(cancellationToken: cts.Token));
        await host.Observations.HandlerStarted.WithTimeout();
        await cts.CancelAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => pending.WithTimeout());
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        await host.Observations.HandlerCancelled.WithTimeout();
    }

    [Theory]
    [InlineData("/" + EchoTestService.Name + "/NoSuchMethod", "Method 'NoSuchMethod'")]
    [InlineData("/no.such.Service/Echo", "Service 'no.such.Service'")]
    public async Task UnknownMethodOrService_IsUnimplemented(string path, string messageStart)
    {
        await using var host = await TransportTestHost.StartAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Connection.UnaryAsync(path, new StringValue(), StringValue.Parser, default).WithTimeout());
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
        Assert.StartsWith(messageStart, error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OversizedRequest_IsResourceExhausted()
    {
        await using var host = await TransportTestHost.StartAsync(o => o.MaxReceiveMessageSize = 1024);
        var ok = await host.Connection.UnaryAsync(Echo + "Length", new BytesValue { Value = ByteString.CopyFrom(new byte[1000]) }, Int32Value.Parser, default).WithTimeout();
        Assert.Equal(1000, ok.Value);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Connection.UnaryAsync(Echo + "Length", new BytesValue { Value = ByteString.CopyFrom(new byte[100_000]) }, Int32Value.Parser, default).WithTimeout());
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task OversizedResponse_OverTheServerSendLimit_IsResourceExhausted()
    {
        await using var host = await TransportTestHost.StartAsync(o => o.MaxSendMessageSize = 1024);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Connection.UnaryAsync(Echo + "Big", new Int32Value { Value = 5000 }, BytesValue.Parser, default).WithTimeout());
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task OversizedResponse_OverTheClientReceiveLimit_IsResourceExhausted()
    {
        await using var host = await TransportTestHost.StartAsync();
        host.Connection.MaxReceiveMessageSize = 1024;
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Connection.UnaryAsync(Echo + "Big", new Int32Value { Value = 5000 }, BytesValue.Parser, default).WithTimeout());
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task LargeMessages_UpToTheLimit_RoundTrip()
    {
        await using var host = await TransportTestHost.StartAsync();
        var reply = await host.Connection.UnaryAsync(Echo + "Big", new Int32Value { Value = 4_000_000 }, BytesValue.Parser, default).WithTimeout();
        Assert.Equal(4_000_000, reply.Value.Length);
        var length = await host.Connection.UnaryAsync(Echo + "Length", new BytesValue { Value = reply.Value }, Int32Value.Parser, default).WithTimeout();
        Assert.Equal(4_000_000, length.Value);
    }

    [Fact]
    public async Task InvalidProtobuf_IsInvalidArgument()
    {
        await using var host = await TransportTestHost.StartAsync();
        var response = await host.SendRawAsync(Echo + "Echo", TransportTestHost.Frame([0x0A, 0xFF, 0xFF]));
        Assert.Equal("3", response.GrpcStatus);
        Assert.StartsWith("request message is not valid protobuf: ", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompressedMessage_WithAnUnsupportedEncoding_IsUnimplemented()
    {
        await using var host = await TransportTestHost.StartAsync();
        var response = await host.SendRawAsync(Echo + "Echo", TransportTestHost.Frame([1, 2, 3], flag: 1),
            configure: r => r.Headers.TryAddWithoutValidation("grpc-encoding", "gzip"));
        Assert.Equal("12", response.GrpcStatus);
        Assert.Equal("identity", response.AcceptEncoding);
    }

    [Fact]
    public async Task CompressedFlag_WithoutAnEncoding_IsInternal()
    {
        await using var host = await TransportTestHost.StartAsync();
        var response = await host.SendRawAsync(Echo + "Echo", TransportTestHost.Frame([1, 2, 3], flag: 1));
        Assert.Equal("13", response.GrpcStatus);
    }

    [Fact]
    public async Task UnaryWithoutARequestMessage_IsInternal()
    {
        await using var host = await TransportTestHost.StartAsync();
        var response = await host.SendRawAsync(Echo + "Echo", []);
        Assert.Equal("13", response.GrpcStatus);
    }

    [Fact]
    public async Task UnaryWithTwoRequestMessages_IsInternal()
    {
        await using var host = await TransportTestHost.StartAsync();
        var frame = TransportTestHost.Frame(new StringValue { Value = "a" }.ToByteArray());
        var response = await host.SendRawAsync(Echo + "Echo", [.. frame, .. frame]);
        Assert.Equal("13", response.GrpcStatus);
    }

    [Fact]
    public async Task TruncatedFrame_IsInternal()
    {
        await using var host = await TransportTestHost.StartAsync();
        var response = await host.SendRawAsync(Echo + "Echo", [0, 0, 0, 0, 10, 1, 2, 3]);
        Assert.Equal("13", response.GrpcStatus);
    }

    [Fact]
    public async Task WrongContentType_OnAGrpcPath_Is415()
    {
        await using var host = await TransportTestHost.StartAsync();
        var response = await host.SendRawAsync(Echo + "Echo", [], contentType: "application/json");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.HttpStatus);
    }

    [Fact]
    public async Task GrpcProtoContentType_IsAccepted()
    {
        await using var host = await TransportTestHost.StartAsync();
        var response = await host.SendRawAsync(Echo + "Echo", TransportTestHost.Frame(new StringValue { Value = "x" }.ToByteArray()), contentType: "application/grpc+proto");
        Assert.Equal("0", response.GrpcStatus);
        Assert.Equal(TransportTestHost.Frame(new StringValue { Value = "x" }.ToByteArray()), response.Body);
    }

    [Fact]
    public async Task NonGrpcRequests_PassThroughToOtherEndpoints()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/plain") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await host.Connection.HttpClient.SendAsync(request).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("plain", await response.Content.ReadAsStringAsync().WithTimeout());
    }

    [Fact]
    public async Task HealthCheck_ServingForTheServerAndRegisteredServices_NotFoundOtherwise()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var client = new SnnClient(host.Connection.HttpClient);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await client.HealthCheckAsync().WithTimeout());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await client.HealthCheckAsync(EchoTestService.Name).WithTimeout());
        var error = await Assert.ThrowsAsync<RpcException>(() => client.HealthCheckAsync("nothing.Here").WithTimeout());
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task HealthWatch_StreamsTheStatus()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var call = host.Connection.ServerStreaming("/grpc.health.v1.Health/Watch", new HealthCheckRequest(), HealthCheckResponse.Parser, default);
        Assert.True(await call.MoveNextAsync().WithTimeout());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, call.Current.Status);
    }

    [Fact]
    public async Task EveryRpc_LogsOneStructuredLine()
    {
        await using var host = await TransportTestHost.StartAsync();
        await host.Connection.UnaryAsync(Echo + "Echo", new StringValue(), StringValue.Parser, default).WithTimeout();
        var line = await host.WaitForRpcLogAsync("/" + EchoTestService.Name + "/Echo");
        Assert.Contains("finished with OK", line, StringComparison.Ordinal);
        Assert.Contains("ipv4:127.0.0.1:", line, StringComparison.Ordinal);
        Assert.Single(host.Logs.Entries, e => TransportTestHost.IsRpcLine(e.Category, e.EventId.Id));
    }

    [Fact]
    public async Task ManyConcurrentCalls_AllSucceed()
    {
        await using var host = await TransportTestHost.StartAsync();
        var calls = Enumerable.Range(0, 200).Select(i =>
            host.Connection.UnaryAsync(Echo + "Echo", new StringValue { Value = "m" + i }, StringValue.Parser, default)).ToArray();
        var replies = await Task.WhenAll(calls).WithTimeout();
        Assert.Equal(Enumerable.Range(0, 200).Select(i => "m" + i), replies.Select(r => r.Value));
    }
}
