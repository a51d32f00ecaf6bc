using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Snn.Server.Engine;
using Snn.Server.Rpc;

namespace Snn.Server.Tests.Rpc;

/// <summary>The one place where failures become statuses: every call shape, every kind of failure.</summary>
public sealed class ErrorInterceptorTests
{
    private readonly Lifetime _lifetime = new();
    private readonly ListLogger _log = new();

    private readonly Microsoft.Extensions.Options.IOptions<Grpc.AspNetCore.Server.GrpcServiceOptions> _options =
        Microsoft.Extensions.Options.Options.Create(new Grpc.AspNetCore.Server.GrpcServiceOptions());

    private ErrorInterceptor Interceptor() => new(_lifetime, _log, _options);

    public static TheoryData<EngineError, StatusCode> Refusals => new()
    {
        { EngineError.InvalidArgument, StatusCode.InvalidArgument },
        { EngineError.NotFound, StatusCode.NotFound },
        { EngineError.AlreadyExists, StatusCode.AlreadyExists },
        { EngineError.FailedPrecondition, StatusCode.FailedPrecondition },
        { EngineError.ResourceExhausted, StatusCode.ResourceExhausted },
        { EngineError.Aborted, StatusCode.Aborted },
        { EngineError.Unavailable, StatusCode.Unavailable },
        { EngineError.Internal, StatusCode.Internal },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task An_engine_refusal_becomes_its_status_with_its_message_in_every_call_shape(EngineError error, StatusCode code)
    {
        foreach (var call in Calls(() => throw new EngineException(error, "what to fix")))
        {
            var e = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(code, e.StatusCode);
            Assert.Equal("what to fix", e.Status.Detail);
        }

        Assert.Empty(_log.Errors);
    }

    [Fact]
    public async Task A_NIR_file_the_server_cannot_read_is_INVALID_ARGUMENT_naming_node_and_field()
    {
        foreach (var call in Calls(() => throw new Snn.Server.Nir.NirFormatException("lif1", "tau", "shape is [3]; it must match v_threshold's [4]")))
        {
            var e = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            Assert.Equal("NIR node 'lif1', field 'tau': shape is [3]; it must match v_threshold's [4]", e.Status.Detail);
        }

        foreach (var call in Calls(() => throw new Snn.Server.Nir.NirFormatException("", "edges", "edge 2 names node 'fc9', which the graph lacks")))
        {
            var e = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            Assert.Equal("NIR file: edges: edge 2 names node 'fc9', which the graph lacks", e.Status.Detail);
        }

        Assert.Empty(_log.Errors);
    }

    [Fact]
    public async Task A_fault_is_logged_and_becomes_INTERNAL_without_its_text()
    {
        foreach (var call in Calls(() => throw new InvalidOperationException("secret path /etc/x")))
        {
            var e = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.Internal, e.StatusCode);
            Assert.Equal(ErrorInterceptor.InternalMessage, e.Status.Detail);
            Assert.DoesNotContain("secret", e.Status.Detail, StringComparison.Ordinal);
        }

        Assert.Equal(4, _log.Errors.Count);
        Assert.All(_log.Errors, entry => Assert.Contains("secret path", entry, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_connection_the_client_reset_or_dropped_is_CANCELLED_and_no_fault()
    {
        foreach (var call in Calls(() => throw new IOException("The request stream was aborted.")))
        {
            var e = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        }

        Assert.Empty(_log.Errors);
    }

    /// <summary>
    /// grpc-dotnet's stream writer refuses a write after the client went away with this exception; the
    /// hostile-input suite saw it logged as a fault when a Run that never read dropped its connection.
    /// </summary>
    [Fact]
    public async Task A_write_refused_after_the_client_went_away_is_CANCELLED_and_no_fault()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        foreach (var call in Calls(() => throw new InvalidOperationException("Can't write the message because the request is complete."), cancelled.Token))
        {
            var e = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        }

        Assert.Empty(_log.Errors);

        // The same exception while the client is still there is a fault.
        foreach (var call in Calls(() => throw new InvalidOperationException("Can't write the message because the request is complete.")))
        {
            Assert.Equal(StatusCode.Internal, (await Assert.ThrowsAsync<RpcException>(call)).StatusCode);
        }

        Assert.Equal(4, _log.Errors.Count);
    }

    [Fact]
    public async Task With_detailed_errors_a_fault_names_its_exception()
    {
        _options.Value.EnableDetailedErrors = true;
        foreach (var call in Calls(() => throw new InvalidOperationException("what went wrong")))
        {
            var e = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal($"{ErrorInterceptor.InternalMessage}: InvalidOperationException: what went wrong", e.Status.Detail);
        }
    }

    [Fact]
    public async Task An_RpcException_passes_unchanged()
    {
        foreach (var call in Calls(() => throw new RpcException(new Status(StatusCode.PermissionDenied, "no"))))
        {
            var e = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        }
    }

    [Fact]
    public async Task Cancellation_by_the_client_is_left_to_grpc_dotnet()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        foreach (var call in Calls(() => throw new OperationCanceledException(), cancelled.Token))
        {
            await Assert.ThrowsAsync<OperationCanceledException>(call);
        }

        Assert.Empty(_log.Errors);
    }

    [Fact]
    public async Task Once_the_server_stops_every_failure_and_every_new_call_is_UNAVAILABLE()
    {
        _lifetime.Stop();
        foreach (var call in Calls(() => throw new System.Threading.Channels.ChannelClosedException()))
        {
            var e = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.Unavailable, e.StatusCode);
            Assert.Equal("the server is shutting down", e.Status.Detail);
        }

        bool ran = false;
        var refused = await Assert.ThrowsAsync<RpcException>(() =>
            Interceptor().UnaryServerHandler<string, string>("x", new Context(default), (_, _) =>
            {
                ran = true;
                return Task.FromResult("y");
            }));
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.False(ran);
        Assert.Empty(_log.Errors);
    }

    /// <summary>The four call shapes through the interceptor, each with a handler that runs <paramref name="fail"/>.</summary>
    private IEnumerable<Func<Task>> Calls(Action fail, CancellationToken token = default)
    {
        var context = new Context(token);
        var interceptor = Interceptor();
        yield return () => interceptor.UnaryServerHandler<string, string>("x", context, async (_, _) =>
        {
            await Task.Yield();
            fail();
            return "y";
        });
        yield return () => interceptor.ClientStreamingServerHandler<string, string>(null!, context, async (_, _) =>
        {
            await Task.Yield();
            fail();
            return "y";
        });
        yield return () => interceptor.ServerStreamingServerHandler<string, string>("x", null!, context, async (_, _, _) =>
        {
            await Task.Yield();
            fail();
        });
        yield return () => interceptor.DuplexStreamingServerHandler<string, string>(null!, null!, context, (_, _, _) =>
        {
            fail();
            return Task.CompletedTask;
        });
    }

    private sealed class Context(CancellationToken token) : ServerCallContext
    {
        protected override string MethodCore => "/snn.v1.Snn/Test";

        protected override string HostCore => "localhost";

        protected override string PeerCore => "ipv4:127.0.0.1:1";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore { get; } = [];

        protected override CancellationToken CancellationTokenCore => token;

        protected override Metadata ResponseTrailersCore { get; } = [];

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore => throw new NotSupportedException();

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }

    private sealed class Lifetime : IHostApplicationLifetime
    {
        private readonly CancellationTokenSource _stopping = new();

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => _stopping.Token;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void Stop() => _stopping.Cancel();

        public void StopApplication() => Stop();
    }

    private sealed class ListLogger : ILogger<ErrorInterceptor>
    {
        public List<string> Errors { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error)
            {
                Errors.Add(formatter(state, exception) + " " + exception);
            }
        }
    }
}
