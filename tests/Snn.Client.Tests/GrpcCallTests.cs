using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Snn.Client.Internal;
using Snn.Grpc;

namespace Snn.Client.Tests;

public sealed class GrpcCallTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static GrpcConnection Connect(FakeGrpcHandler handler) =>
        new(GrpcConnection.CreateHttpClient(new Uri("http://server.test:50051"), handler), disposeHttpClient: true);

    [Fact]
    public async Task Unary_SendsASpecConformantRequest_AndReadsTheResponse()
    {
        var handler = new FakeGrpcHandler((_, _) => Task.FromResult(FakeGrpcHandler.Response(FakeGrpcHandler.Frame(new StringValue { Value = "pong" }))));
        using var connection = Connect(handler);
        var headers = new Metadata { { "x-custom", "v" }, { "x-data-bin", new byte[] { 0xAB, 0xAB, 0xAB } } };
        var deadline = DateTime.UtcNow.AddSeconds(20);

        var reply = await connection.UnaryAsync("/pkg.Svc/Ping", new StringValue { Value = "ping" }, StringValue.Parser, new CallOptions(headers, deadline)).WaitAsync(Timeout);

        Assert.Equal("pong", reply.Value);
        var (request, body) = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal(HttpVersion.Version20, request.Version);
        Assert.Equal(HttpVersionPolicy.RequestVersionExact, request.VersionPolicy);
        Assert.Equal("/pkg.Svc/Ping", request.RequestUri!.AbsolutePath);
        Assert.Equal("application/grpc", request.Content!.Headers.ContentType!.MediaType);
        Assert.Equal("trailers", Assert.Single(request.Headers.TE).Value);
        Assert.Equal("v", request.Headers.GetValues("x-custom").Single());
        Assert.Equal("q6ur", request.Headers.GetValues("x-data-bin").Single());
        Assert.True(GrpcTimeout.TryParse(request.Headers.GetValues("grpc-timeout").Single(), out var timeout));
        Assert.InRange(timeout, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(21));
        Assert.Equal(FakeGrpcHandler.Frame(new StringValue { Value = "ping" }), body);
    }

    [Fact]
    public async Task NoDeadline_SendsNoTimeoutHeader()
    {
        var handler = new FakeGrpcHandler((_, _) => Task.FromResult(FakeGrpcHandler.Response(FakeGrpcHandler.Frame(new StringValue()))));
        using var connection = Connect(handler);
        await connection.UnaryAsync("/pkg.Svc/Ping", new StringValue(), StringValue.Parser, default).WaitAsync(Timeout);
        Assert.False(handler.Requests[0].Request.Headers.Contains("grpc-timeout"));
    }

    [Fact]
    public async Task TrailersOnlyResponse_TakesTheStatusFromTheHeaders()
    {
        var handler = new FakeGrpcHandler((_, _) =>
        {
            var response = FakeGrpcHandler.Response([], StatusCode.NotFound, "no such network \u263a", trailersOnly: true);
            response.Headers.TryAddWithoutValidation("x-info", "1");
            return Task.FromResult(response);
        });
        using var connection = Connect(handler);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            connection.UnaryAsync("/pkg.Svc/Ping", new StringValue(), StringValue.Parser, default).WaitAsync(Timeout));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("no such network \u263a", error.Status.Detail);
        Assert.Equal("1", error.Trailers.GetValue("x-info"));
    }

    [Fact]
    public async Task ErrorInTrailers_AfterAMessage_IsThrownByTheStream()
    {
        var handler = new FakeGrpcHandler((_, _) => Task.FromResult(FakeGrpcHandler.Response(FakeGrpcHandler.Frame(new StringValue { Value = "a" }), StatusCode.Aborted, "stop")));
        using var connection = Connect(handler);
        using var call = connection.ServerStreaming("/pkg.Svc/Stream", new StringValue(), StringValue.Parser, default);
        Assert.True(await call.MoveNextAsync().WaitAsync(Timeout));
        Assert.Equal("a", call.Current.Value);
        var error = await Assert.ThrowsAsync<RpcException>(() => call.MoveNextAsync().WaitAsync(Timeout));
        Assert.Equal(StatusCode.Aborted, error.StatusCode);
        Assert.Equal("stop", error.Status.Detail);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound, StatusCode.Unimplemented)]
    [InlineData(HttpStatusCode.ServiceUnavailable, StatusCode.Unavailable)]
    [InlineData(HttpStatusCode.Unauthorized, StatusCode.Unauthenticated)]
    [InlineData(HttpStatusCode.Forbidden, StatusCode.PermissionDenied)]
    [InlineData(HttpStatusCode.BadRequest, StatusCode.Internal)]
    [InlineData(HttpStatusCode.InternalServerError, StatusCode.Unknown)]
    [InlineData(HttpStatusCode.UnsupportedMediaType, StatusCode.Unknown)]
    public async Task NonOkHttpStatus_IsMappedPerTheSpec(HttpStatusCode httpStatus, StatusCode expected)
    {
        var handler = new FakeGrpcHandler((_, _) => Task.FromResult(new HttpResponseMessage(httpStatus) { Version = HttpVersion.Version20, Content = new ByteArrayContent([]) }));
        using var connection = Connect(handler);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            connection.UnaryAsync("/pkg.Svc/Ping", new StringValue(), StringValue.Parser, default).WaitAsync(Timeout));
        Assert.Equal(expected, error.StatusCode);
        Assert.Contains(((int)httpStatus).ToString(System.Globalization.CultureInfo.InvariantCulture), error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingGrpcStatus_IsUnknown()
    {
        var handler = new FakeGrpcHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
        {
            Version = HttpVersion.Version20,
            Content = new ByteArrayContent(FakeGrpcHandler.Frame(new StringValue())) { Headers = { ContentType = new("application/grpc") } },
        }));
        using var connection = Connect(handler);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            connection.UnaryAsync("/pkg.Svc/Ping", new StringValue(), StringValue.Parser, default).WaitAsync(Timeout));
        Assert.Equal(StatusCode.Unknown, error.StatusCode);
    }

    [Fact]
    public async Task NonGrpcContentType_IsUnknown()
    {
        var handler = new FakeGrpcHandler((_, _) => Task.FromResult(FakeGrpcHandler.Response([], contentType: "text/html")));
        using var connection = Connect(handler);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            connection.UnaryAsync("/pkg.Svc/Ping", new StringValue(), StringValue.Parser, default).WaitAsync(Timeout));
        Assert.Equal(StatusCode.Unknown, error.StatusCode);
    }

    [Fact]
    public async Task ResponseOverTheReceiveLimit_IsResourceExhausted()
    {
        var handler = new FakeGrpcHandler((_, _) => Task.FromResult(FakeGrpcHandler.Response(FakeGrpcHandler.Frame(new BytesValue { Value = ByteString.CopyFrom(new byte[2000]) }))));
        using var connection = Connect(handler);
        connection.MaxReceiveMessageSize = 1000;
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            connection.UnaryAsync("/pkg.Svc/Ping", new StringValue(), BytesValue.Parser, default).WaitAsync(Timeout));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task RequestOverTheSendLimit_IsResourceExhausted_AndNotSent()
    {
        var handler = new FakeGrpcHandler((_, _) => throw new InvalidOperationException("must not be sent"));
        using var connection = Connect(handler);
        connection.MaxSendMessageSize = 100;
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            connection.UnaryAsync("/pkg.Svc/Ping", new StringValue { Value = new string('x', 200) }, StringValue.Parser, default).WaitAsync(Timeout));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task InvalidResponseProtobuf_IsInternal()
    {
        var handler = new FakeGrpcHandler((_, _) => Task.FromResult(FakeGrpcHandler.Response([0, 0, 0, 0, 3, 0x0A, 0xFF, 0xFF])));
        using var connection = Connect(handler);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            connection.UnaryAsync("/pkg.Svc/Ping", new StringValue(), StringValue.Parser, default).WaitAsync(Timeout));
        Assert.Equal(StatusCode.Internal, error.StatusCode);
    }

    [Fact]
    public async Task UnaryOkWithoutAMessage_IsInternal()
    {
        var handler = new FakeGrpcHandler((_, _) => Task.FromResult(FakeGrpcHandler.Response([])));
        using var connection = Connect(handler);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            connection.UnaryAsync("/pkg.Svc/Ping", new StringValue(), StringValue.Parser, default).WaitAsync(Timeout));
        Assert.Equal(StatusCode.Internal, error.StatusCode);
    }

    [Fact]
    public async Task ExpiredDeadline_FailsWithoutSending()
    {
        var handler = new FakeGrpcHandler((_, _) => throw new InvalidOperationException("must not be sent"));
        using var connection = Connect(handler);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            connection.UnaryAsync("/pkg.Svc/Ping", new StringValue(), StringValue.Parser, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(-1))).WaitAsync(Timeout));
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task DeadlinePassingWhileWaiting_IsDeadlineExceeded()
    {
        var handler = new FakeGrpcHandler(async (request, _) =>
        {
            await Task.Delay(System.Threading.Timeout.Infinite, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
            return FakeGrpcHandler.Response([]);
        });
        using var connection = new GrpcConnection(GrpcConnection.CreateHttpClient(new Uri("http://server.test"), new CancellableHandler(handler)), disposeHttpClient: true);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            connection.UnaryAsync("/pkg.Svc/Ping", new StringValue(), StringValue.Parser, CallOptions.WithTimeout(TimeSpan.FromMilliseconds(100))).WaitAsync(Timeout));
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
    }

    [Fact]
    public async Task ConnectionRefused_IsUnavailable()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        using var connection = new GrpcConnection(GrpcConnection.CreateHttpClient(new Uri($"http://127.0.0.1:{port}")), disposeHttpClient: true);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            connection.UnaryAsync("/pkg.Svc/Ping", new StringValue(), StringValue.Parser, default).WaitAsync(Timeout));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Fact]
    public async Task ReservedMetadataKeys_AreRejected()
    {
        var handler = new FakeGrpcHandler((_, _) => Task.FromResult(FakeGrpcHandler.Response([])));
        using var connection = Connect(handler);
        await Assert.ThrowsAsync<ArgumentException>(() =>
            connection.UnaryAsync("/pkg.Svc/Ping", new StringValue(), StringValue.Parser, new CallOptions(new Metadata { { "grpc-status", "0" } })));
    }

    [Theory]
    [InlineData(0x8, StatusCode.Cancelled)]
    [InlineData(0x7, StatusCode.Unavailable)]
    [InlineData(0xB, StatusCode.ResourceExhausted)]
    [InlineData(0xC, StatusCode.PermissionDenied)]
    [InlineData(0x0, StatusCode.Internal)]
    [InlineData(0x2, StatusCode.Internal)]
    public void Http2ResetCodes_AreMappedPerTheSpec(long errorCode, StatusCode expected) =>
        Assert.Equal(expected, GrpcStatusMapping.FromHttp2ErrorCode(errorCode));

    [Fact]
    public void CallOptions_CopiesKeepTheOtherFields()
    {
        using var cts = new CancellationTokenSource();
        var headers = new Metadata();
        var deadline = new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var options = new CallOptions(headers, deadline, cts.Token);
        Assert.Same(headers, options.WithDeadline(null).Headers);
        Assert.Equal(deadline, options.WithHeaders(null).Deadline);
        Assert.Equal(cts.Token, options.WithDeadline(null).CancellationToken);
        Assert.InRange(CallOptions.WithTimeout(TimeSpan.FromMinutes(1)).Deadline!.Value, DateTime.UtcNow, DateTime.UtcNow.AddMinutes(2));
    }

    /// <summary>Passes the request's cancellation through to a handler that waits, like a real server would.</summary>
    private sealed class CancellableHandler(FakeGrpcHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            base.SendAsync(request, cancellationToken).WaitAsync(cancellationToken);
    }
}
