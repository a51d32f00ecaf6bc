using System.Globalization;
using System.Net;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Health.V1;
using Snn.Client;
using Snn.Server.Rpc;

namespace Snn.FunctionalTests.Transport;

/// <summary>
/// Grpc.AspNetCore as the server composes it, over real Kestrel and Grpc.Net.Client: every call
/// shape, every error path, limits, deadlines, cancellation, many streams and backpressure.
/// </summary>
public sealed class TransportTests
{
    private const string Echo = "/" + EchoTestService.Name + "/";

    private static readonly Dictionary<string, string?> SmallMessages = new() { ["Snn:MaxMessageBytes"] = "1024" };

    private static string Text(int i) => i.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task Unary_RoundTrips()
    {
        await using var host = await TransportTestHost.StartAsync();
        var reply = await host.Client.EchoAsync(new StringValue { Value = "hello ☺" }).ResponseAsync.WithTimeout();
        Assert.Equal("hello ☺", reply.Value);
    }

    [Fact]
    public async Task Unary_EmptyMessage_RoundTrips()
    {
        await using var host = await TransportTestHost.StartAsync();
        var reply = await host.Client.EchoAsync(new StringValue()).ResponseAsync.WithTimeout();
        Assert.Equal(string.Empty, reply.Value);
    }

    [Fact]
    public async Task ServerStreaming_ReceivesAllMessagesInOrder()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var call = host.Client.Count(new Int32Value { Value = 100 });
        var received = new List<string>();
        while (await call.ResponseStream.MoveNext().WithTimeout())
        {
            received.Add(call.ResponseStream.Current.Value);
        }

        Assert.Equal(Enumerable.Range(0, 100).Select(Text), received);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ServerStreaming_ErrorAfterMessages_ArrivesInTrailers()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var call = host.Client.CountThenFail(new Int32Value { Value = 3 });
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await call.ResponseStream.MoveNext().WithTimeout());
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext().WithTimeout());
        Assert.Equal(StatusCode.Aborted, error.StatusCode);
        Assert.Equal("stopped after 3", error.Status.Detail);
    }

    [Fact]
    public async Task ClientStreaming_AggregatesAllMessages()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var call = host.Client.Concat();
        foreach (var part in new[] { "a", "b", "c" })
        {
            await call.RequestStream.WriteAsync(new StringValue { Value = part }).WithTimeout();
        }

        await call.RequestStream.CompleteAsync().WithTimeout();
        var reply = await call.ResponseAsync.WithTimeout();
        Assert.Equal("a,b,c", reply.Value);
    }

    [Fact]
    public async Task ClientStreaming_NoMessages_Completes()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var call = host.Client.Concat();
        await call.RequestStream.CompleteAsync().WithTimeout();
        var reply = await call.ResponseAsync.WithTimeout();
        Assert.Equal(string.Empty, reply.Value);
    }

    [Fact]
    public async Task Duplex_PingPong_ReplyArrivesBeforeTheNextRequest()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var call = host.Client.PingPong();
        for (var i = 0; i < 200; i++)
        {
            await call.RequestStream.WriteAsync(new StringValue { Value = Text(i) }).WithTimeout();
            Assert.True(await call.ResponseStream.MoveNext().WithTimeout());
            Assert.Equal("pong:" + Text(i), call.ResponseStream.Current.Value);
        }

        await call.RequestStream.CompleteAsync().WithTimeout();
        Assert.False(await call.ResponseStream.MoveNext().WithTimeout());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Duplex_ResponseHeadersArriveBeforeAnyMessage()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var call = host.Client.HeadersFirst();

        // The client has not written anything, and the handler is waiting for its first request:
        // headers it sends (WriteResponseHeadersAsync) reach the client before any message.
        var headers = await call.ResponseHeadersAsync.WithTimeout();
        Assert.Equal("headers", headers.GetValue("x-first"));
        await call.RequestStream.WriteAsync(new StringValue { Value = "1" }).WithTimeout();
        Assert.True(await call.ResponseStream.MoveNext().WithTimeout());
        Assert.Equal("pong:1", call.ResponseStream.Current.Value);
        await call.RequestStream.CompleteAsync().WithTimeout();
        Assert.False(await call.ResponseStream.MoveNext().WithTimeout());
    }

    [Fact]
    public async Task Error_RpcException_GivesItsStatusMessageAndTrailers()
    {
        await using var host = await TransportTestHost.StartAsync();
        const string detail = "100% wrong: ☺ \r\n and 😈";
        var error = await Assert.ThrowsAsync<RpcException>(() => host.Client.FailAsync(new StringValue { Value = detail }).ResponseAsync.WithTimeout());
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
    public async Task Error_UnhandledException_IsInternalWithASafeMessage()
    {
        await using var host = await TransportTestHost.StartAsync();
        host.ExpectedErrors.Add(TransportTestHost.FaultLog);
        var error = await Assert.ThrowsAsync<RpcException>(() => host.Client.CrashAsync(new StringValue()).ResponseAsync.WithTimeout());
        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Equal(ErrorInterceptor.InternalMessage, error.Status.Detail);
        Assert.Contains(host.Logs.Entries, e => (e.Category, e.EventId.Id) == TransportTestHost.FaultLog && e.Exception is InvalidOperationException);
    }

    [Fact]
    public async Task Error_UnhandledException_WithDetailedErrors_IncludesTheMessage()
    {
        await using var host = await TransportTestHost.StartAsync(new Dictionary<string, string?> { ["Snn:DetailedErrors"] = "true" });
        host.ExpectedErrors.Add(TransportTestHost.FaultLog);
        var error = await Assert.ThrowsAsync<RpcException>(() => host.Client.CrashAsync(new StringValue()).ResponseAsync.WithTimeout());
        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Contains("secret internals", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Error_HandlerSetsStatus_ReachesTheClient()
    {
        await using var host = await TransportTestHost.StartAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() => host.Client.SetStatusAsync(new StringValue()).ResponseAsync.WithTimeout());
        Assert.Equal(StatusCode.Aborted, error.StatusCode);
        Assert.Equal("set by handler", error.Status.Detail);
    }

    [Fact]
    public async Task Metadata_CustomHeadersAreReadable_ResponseHeadersAndTrailersAreWritable()
    {
        await using var host = await TransportTestHost.StartAsync();
        var headers = new Metadata { { "x-echo", "value 1" }, { "X-Echo-Bin", new byte[] { 0, 1, 2, 0xAB } } };
        using var call = host.Client.EchoMetadataAsync(new StringValue(), headers);
        var responseHeaders = await call.ResponseHeadersAsync.WithTimeout();
        var reply = await call.ResponseAsync.WithTimeout();

        Assert.Equal("value 1", responseHeaders.GetValue("x-echo"));
        Assert.Equal(new byte[] { 0, 1, 2, 0xAB }, call.GetTrailers().GetValueBytes("x-echo-bin"));
        Assert.Equal("/" + EchoTestService.Name + "/EchoMetadata True", reply.Value);
    }

    [Fact]
    public async Task Deadline_ServerEndsTheCall_EvenWhenTheHandlerIgnoresItsToken()
    {
        await using var host = await TransportTestHost.StartAsync();

        // A raw request without a client-side deadline: the status must come from the server.
        var response = await host.SendRawAsync(Echo + "SleepIgnoringToken", TransportTestHost.Frame([]),
            configure: r => r.Headers.TryAddWithoutValidation("grpc-timeout", "200000u"));
        Assert.Equal("4", response.GrpcStatus);

        // The handler cannot have returned: it waits for this release.
        Assert.False(host.Observations.Released.IsCompleted);
        host.Observations.Release();
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
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.SleepAsync(new StringValue(), deadline: DateTime.UtcNow.AddMilliseconds(200)).ResponseAsync.WithTimeout());
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        await host.Observations.HandlerCancelled.WithTimeout();
    }

    [Fact]
    public async Task ClientCancellation_ByDisposingTheCall_EndsTheServerCall()
    {
        await using var host = await TransportTestHost.StartAsync();
        var call = host.Client.WaitForCancel();
        await call.RequestStream.WriteAsync(new StringValue { Value = "go" }).WithTimeout();
        Assert.True(await call.ResponseStream.MoveNext().WithTimeout());
        Assert.Equal("ready", call.ResponseStream.Current.Value);
        await host.Observations.HandlerStarted.WithTimeout();

        call.Dispose();

        await host.Observations.HandlerCancelled.WithTimeout();
    }

    [Fact]
    public async Task ClientCancellation_ByToken_IsCancelledOnBothSides()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var cts = new CancellationTokenSource();
        using var call = host.Client.SleepAsync(new StringValue(), cancellationToken: cts.Token);
        await host.Observations.HandlerStarted.WithTimeout();
        await cts.CancelAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.WithTimeout());
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        await host.Observations.HandlerCancelled.WithTimeout();
    }

    [Theory]
    [InlineData("/" + EchoTestService.Name + "/NoSuchMethod", "Method is unimplemented.")]
    [InlineData("/no.such.Service/Echo", "Service is unimplemented.")]
    public async Task UnknownMethodOrService_IsUnimplemented(string path, string message)
    {
        await using var host = await TransportTestHost.StartAsync();
        var response = await host.SendRawAsync(path, TransportTestHost.Frame([]));
        Assert.Equal("12", response.GrpcStatus);
        Assert.Equal(message, response.Message);

        // The same through Grpc.Net.Client, for a method the channel does not know is missing.
        var method = new Method<StringValue, StringValue>(MethodType.Unary, path.Split('/')[1], path.Split('/')[2],
            Marshallers.Create(m => m.ToByteArray(), StringValue.Parser.ParseFrom), Marshallers.Create(m => m.ToByteArray(), StringValue.Parser.ParseFrom));
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Channel.CreateCallInvoker().AsyncUnaryCall(method, null, default, new StringValue()).ResponseAsync.WithTimeout());
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    [Fact]
    public async Task OversizedRequest_IsResourceExhausted()
    {
        await using var host = await TransportTestHost.StartAsync(SmallMessages);
        var ok = await host.Client.LengthAsync(new BytesValue { Value = ByteString.CopyFrom(new byte[1000]) }).ResponseAsync.WithTimeout();
        Assert.Equal(1000, ok.Value);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.LengthAsync(new BytesValue { Value = ByteString.CopyFrom(new byte[100_000]) }).ResponseAsync.WithTimeout());
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task OversizedRequest_OnAStream_IsResourceExhausted()
    {
        await using var host = await TransportTestHost.StartAsync(SmallMessages);
        using var call = host.Client.PingPong();
        await call.RequestStream.WriteAsync(new StringValue { Value = "small" }).WithTimeout();
        Assert.True(await call.ResponseStream.MoveNext().WithTimeout());
        await call.RequestStream.WriteAsync(new StringValue { Value = new string('x', 2000) }).WithTimeout();
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext().WithTimeout());
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task OversizedResponse_OverTheServerSendLimit_IsResourceExhausted()
    {
        await using var host = await TransportTestHost.StartAsync(SmallMessages);
        var error = await Assert.ThrowsAsync<RpcException>(() => host.Client.BigAsync(new Int32Value { Value = 5000 }).ResponseAsync.WithTimeout());
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task OversizedResponse_OverTheClientReceiveLimit_IsResourceExhausted()
    {
        await using var host = await TransportTestHost.StartAsync(channel: o => o.MaxReceiveMessageSize = 1024);
        var error = await Assert.ThrowsAsync<RpcException>(() => host.Client.BigAsync(new Int32Value { Value = 5000 }).ResponseAsync.WithTimeout());
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task LargeMessages_UpToTheLimit_RoundTrip()
    {
        await using var host = await TransportTestHost.StartAsync();
        var reply = await host.Client.BigAsync(new Int32Value { Value = 4_000_000 }).ResponseAsync.WithTimeout();
        Assert.Equal(4_000_000, reply.Value.Length);
        var length = await host.Client.LengthAsync(new BytesValue { Value = reply.Value }).ResponseAsync.WithTimeout();
        Assert.Equal(4_000_000, length.Value);
    }

    [Fact]
    public async Task LargeRequest_AboveKestrelsDefaultBodyLimit_PassesWhenTheOptionAllowsIt()
    {
        // Kestrel refuses request bodies over 30,000,000 bytes unless told otherwise: Snn:MaxMessageBytes must tell it.
        await using var host = await TransportTestHost.StartAsync(new Dictionary<string, string?> { ["Snn:MaxMessageBytes"] = (40 << 20).ToString(CultureInfo.InvariantCulture) });
        var length = await host.Client.LengthAsync(new BytesValue { Value = ByteString.CopyFrom(new byte[35_000_000]) }).ResponseAsync.WithTimeout();
        Assert.Equal(35_000_000, length.Value);
    }

    [Fact]
    public async Task InvalidProtobuf_FailsTheCall_WithoutExceptionText()
    {
        // grpc-dotnet deserializes the request before any interceptor runs, so this is its own
        // answer: UNKNOWN "Exception was thrown by handler." (the old transport said INVALID_ARGUMENT).
        await using var host = await TransportTestHost.StartAsync();
        host.ExpectedErrors.Add(("Grpc.AspNetCore.Server.ServerCallHandler", 6));
        var response = await host.SendRawAsync(Echo + "Echo", TransportTestHost.Frame([0x0A, 0xFF, 0xFF]));
        Assert.Equal("2", response.GrpcStatus);
        Assert.Equal("Exception was thrown by handler.", response.Message);
    }

    [Fact]
    public async Task CompressedMessage_WithAnUnsupportedEncoding_IsUnimplemented()
    {
        await using var host = await TransportTestHost.StartAsync();
        var response = await host.SendRawAsync(Echo + "Echo", TransportTestHost.Frame([1, 2, 3], flag: 1),
            configure: r => r.Headers.TryAddWithoutValidation("grpc-encoding", "snappy"));
        Assert.Equal("12", response.GrpcStatus);
        Assert.Contains("identity", response.AcceptEncoding, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompressedMessage_WithGzip_RoundTrips()
    {
        await using var host = await TransportTestHost.StartAsync();
        var headers = new Metadata { { "grpc-internal-encoding-request", "gzip" } };
        var text = new string('z', 10_000);
        var reply = await host.Client.EchoAsync(new StringValue { Value = text }, headers).ResponseAsync.WithTimeout();
        Assert.Equal(text, reply.Value);
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
        var frame = TransportTestHost.Frame(new StringValue { Value = "x" }.ToByteArray());
        var response = await host.SendRawAsync(Echo + "Echo", frame, contentType: "application/grpc+proto");
        Assert.Equal("0", response.GrpcStatus);
        Assert.Equal(frame, response.Body);
    }

    [Fact]
    public async Task NonGrpcRequests_PassThroughToOtherEndpoints_OnBothEndpoints()
    {
        await using var host = await TransportTestHost.StartAsync();
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/plain") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact })
        {
            using var response = await host.Http.SendAsync(request).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("plain", await response.Content.ReadAsStringAsync().WithTimeout());
        }

        using var http1 = new HttpClient();
        using (var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.HttpAddress, "/plain")) { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact })
        {
            using var response = await http1.SendAsync(request).WithTimeout();
            Assert.Equal(new Version(1, 1), response.Version);
            Assert.Equal("plain", await response.Content.ReadAsStringAsync().WithTimeout());
        }
    }

    [Fact]
    public async Task CleartextEndpoints_SpeakOneProtocolEach()
    {
        // h2c with prior knowledge on the gRPC endpoint (a gRPC client must never be answered in
        // HTTP/1.1), HTTP/1.1 only on the Snn:HttpUrls endpoint.
        await using var host = await TransportTestHost.StartAsync();
        using var http = new HttpClient();
        using (var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.Address, "/plain")) { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact })
        {
            using var response = await http.SendAsync(request).WithTimeout();
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("HTTP/2 only endpoint", await response.Content.ReadAsStringAsync().WithTimeout(), StringComparison.Ordinal);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.HttpAddress, "/plain")) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact })
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => http.SendAsync(request).WithTimeout());
        }
    }

    [Fact]
    public async Task HealthCheck_ServingForTheServerAndRegisteredServices_NotFoundOtherwise()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var client = new SnnClient(host.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await client.HealthCheckAsync().WithTimeout());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await client.HealthCheckAsync(EchoTestService.Name).WithTimeout());
        var error = await Assert.ThrowsAsync<RpcException>(() => client.HealthCheckAsync("nothing.Here").WithTimeout());
        Assert.Equal(StatusCode.NotFound, error.StatusCode);

        // Check asks the health checks each time: a failing check shows at once (and is logged as an error).
        host.ExpectedErrors.Add(("Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService", 103));
        host.Health.Healthy = false;
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, await client.HealthCheckAsync().WithTimeout());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, await client.HealthCheckAsync(EchoTestService.Name).WithTimeout());
    }

    [Fact]
    public async Task HealthWatch_StreamsTheStatus()
    {
        await using var host = await TransportTestHost.StartAsync();
        using var call = new Health.HealthClient(host.Channel).Watch(new HealthCheckRequest());
        Assert.True(await call.ResponseStream.MoveNext().WithTimeout());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, call.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task ManyConcurrentCalls_AllSucceed()
    {
        await using var host = await TransportTestHost.StartAsync();
        var calls = Enumerable.Range(0, 200).Select(i => host.Client.EchoAsync(new StringValue { Value = "m" + Text(i) }).ResponseAsync).ToArray();
        var replies = await Task.WhenAll(calls).WithTimeout();
        Assert.Equal(Enumerable.Range(0, 200).Select(i => "m" + Text(i)), replies.Select(r => r.Value));
    }

    [Fact]
    public async Task ManyOpenStreams_ShareOneConnection_BeyondKestrelsDefaultOf100()
    {
        // One connection only: every stream stays open until all have answered, so with Kestrel's
        // default of 100 streams per connection the 101st would wait forever. The server allows 1,024.
        await using var host = await TransportTestHost.StartAsync(channel: o => o.HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false });
        const int streams = 300;
        var calls = Enumerable.Range(0, streams).Select(_ => host.Client.PingPong()).ToList();
        try
        {
            await Task.WhenAll(calls.Select(async (call, i) =>
            {
                await call.RequestStream.WriteAsync(new StringValue { Value = Text(i) });
                Assert.True(await call.ResponseStream.MoveNext());
                Assert.Equal("pong:" + Text(i), call.ResponseStream.Current.Value);
            })).WithTimeout();

            await Task.WhenAll(calls.Select(async call =>
            {
                await call.RequestStream.CompleteAsync();
                Assert.False(await call.ResponseStream.MoveNext());
            })).WithTimeout();
        }
        finally
        {
            calls.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task SlowReader_HoldsBackTheServersWrites_UntilItReads()
    {
        // 64 MiB in 64 KiB messages while the client reads nothing: flow control must make a write
        // wait long before the end (the server does not buffer the whole stream), and reading must release it.
        await using var host = await TransportTestHost.StartAsync();
        const int messages = 1024;
        using var call = host.Client.Flood(new Int32Value { Value = messages });

        var bufferedBeforeTheWait = await host.Observations.WriteBlocked.WithTimeout();
        Assert.InRange(bufferedBeforeTheWait, 0, 32L << 20);
        Assert.False(host.Observations.FloodDone.IsCompleted);

        var received = 0;
        while (await call.ResponseStream.MoveNext().WithTimeout())
        {
            Assert.Equal(EchoTestService.FloodMessageBytes, call.ResponseStream.Current.Value.Length);
            received++;
        }

        Assert.Equal(messages, received);
        await host.Observations.FloodDone.WithTimeout();
    }
}
