using Snn.Grpc;

namespace Snn.Server.Rpc;

/// <summary>
/// The server side of one call, as a service handler sees it (named as in Grpc.Core.Api, so
/// that handlers could move to Grpc.AspNetCore by changing namespaces).
/// </summary>
public abstract class ServerCallContext
{
    /// <summary>The full method name, <c>/package.Service/Method</c>.</summary>
    public abstract string Method { get; }

    /// <summary>The value of the <c>:authority</c> (host) of the request.</summary>
    public abstract string Host { get; }

    /// <summary>The client address, e.g. <c>ipv4:127.0.0.1:52344</c> or <c>ipv6:[::1]:52344</c>.</summary>
    public abstract string Peer { get; }

    /// <summary>The call's deadline (UTC) from <c>grpc-timeout</c>; <see cref="DateTime.MaxValue"/> when none was sent.</summary>
    public abstract DateTime Deadline { get; }

    /// <summary>Cancelled when the client cancels (RST_STREAM), disconnects, or the deadline passes.</summary>
    public abstract CancellationToken CancellationToken { get; }

    /// <summary>The custom metadata the client sent (reserved and <c>grpc-*</c> headers excluded; <c>-bin</c> values decoded).</summary>
    public abstract Metadata RequestHeaders { get; }

    /// <summary>Trailing metadata sent with the status; add entries before the handler returns.</summary>
    public abstract Metadata ResponseTrailers { get; }

    /// <summary>
    /// The status sent when the handler returns normally; defaults to OK. A handler may set a
    /// non-OK status instead of throwing <see cref="RpcException"/> (a unary response is then not sent).
    /// </summary>
    public abstract Status Status { get; set; }

    /// <summary>
    /// Sends the response headers (initial metadata) now. At most once per call, and before the
    /// first response message. Streaming calls send their headers at the handler's first
    /// asynchronous suspension; call this before that point to add custom headers.
    /// </summary>
    public abstract Task WriteResponseHeadersAsync(Metadata responseHeaders);
}
