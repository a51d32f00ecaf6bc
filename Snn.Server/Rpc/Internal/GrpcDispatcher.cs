using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Snn.Grpc;

namespace Snn.Server.Rpc.Internal;

/// <summary>
/// The transport's middleware: takes every gRPC request (content-type application/grpc), runs
/// it through its method handler and maps every outcome to a grpc-status. Other requests pass on.
/// </summary>
internal sealed class GrpcDispatcher(GrpcRouter router, IOptions<GrpcTransportOptions> options, ILogger<GrpcDispatcher> logger)
{
    private readonly GrpcTransportOptions _options = options.Value;

    public Task InvokeAsync(HttpContext httpContext, RequestDelegate next)
    {
        var request = httpContext.Request;
        var path = request.Path.Value ?? string.Empty;
        if (!GrpcProtocol.IsGrpcContentType(request.ContentType))
        {
            var looksLikeGrpc = request.ContentType?.StartsWith(GrpcProtocol.ContentType, StringComparison.OrdinalIgnoreCase) == true
                || (HttpMethods.IsPost(request.Method) && router.TryGetMethod(path, out _));
            if (!looksLikeGrpc)
            {
                return next(httpContext);
            }

            GrpcTransportLog.UnsupportedContentType(logger, path, request.ContentType);
            return RejectAsync(httpContext, StatusCodes.Status415UnsupportedMediaType, StatusCode.Internal, $"Content-Type '{request.ContentType}' is not supported: use application/grpc.");
        }

        if (!HttpMethods.IsPost(request.Method))
        {
            return RejectAsync(httpContext, StatusCodes.Status405MethodNotAllowed, StatusCode.Internal, "gRPC requests must use POST.");
        }

        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            GrpcTransportLog.NotHttp2(logger, path, request.Protocol);
            httpContext.Response.Headers.Connection = "Upgrade";
            httpContext.Response.Headers.Upgrade = "h2c";
            return RejectAsync(httpContext, StatusCodes.Status426UpgradeRequired, StatusCode.Internal, "gRPC requires HTTP/2.");
        }

        if (!router.TryGetMethod(path, out var handler))
        {
            return UnimplementedAsync(httpContext, path);
        }

        return HandleCallAsync(httpContext, handler);
    }

    private async Task HandleCallAsync(HttpContext httpContext, GrpcMethodHandler handler)
    {
        var started = Stopwatch.GetTimestamp();
        LiftBodyLimits(httpContext);
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.IdentityEncoding;

        TimeSpan? timeout = null;
        string? timeoutHeader = httpContext.Request.Headers[GrpcProtocol.TimeoutHeader];
        if (timeoutHeader is not null)
        {
            if (GrpcTimeout.TryParse(timeoutHeader, out var parsed))
            {
                timeout = parsed;
            }
            else
            {
                GrpcTransportLog.InvalidTimeout(logger, handler.Path, timeoutHeader);
            }
        }

        using var call = new HttpServerCallContext(httpContext, _options, handler, timeout);
        Status status;
        try
        {
            var task = handler.InvokeAsync(call);
            if (!task.IsCompleted && call.DeadlineTask is { } deadline)
            {
                var first = await Task.WhenAny(task, deadline).ConfigureAwait(false);
                if (first != task)
                {
                    await EndOnDeadlineAsync(call, handler, task).ConfigureAwait(false);
                    LogCompleted(call, StatusCode.DeadlineExceeded, started);
                    return;
                }
            }

            await task.ConfigureAwait(false);
            status = call.Status;
        }
        catch (Exception ex)
        {
            status = MapException(call, ex);
        }

        try
        {
            await call.CompleteAsync(status).ConfigureAwait(false);
        }
        catch (Exception ex) when (call.ClientCancelled || ex is IOException or OperationCanceledException)
        {
            status = Status.DefaultCancelled;
        }
        catch (Exception ex)
        {
            GrpcTransportLog.TransportError(logger, handler.Path, ex);
            status = new Status(StatusCode.Internal, "The server failed to complete the call.");
        }

        LogCompleted(call, status.StatusCode, started);
    }

    private async Task EndOnDeadlineAsync(HttpServerCallContext call, GrpcMethodHandler handler, Task handlerTask)
    {
        GrpcTransportLog.DeadlineExceeded(logger, handler.Path);
        try
        {
            await call.EndOnDeadlineAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            // The client may already be gone; its call has ended either way.
        }

        // The handler's token is cancelled; wait for it so the HttpContext outlives it.
        try
        {
            await handlerTask.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            GrpcTransportLog.HandlerFaultedAfterEnd(logger, handler.Path, ex);
        }
    }

    private Status MapException(HttpServerCallContext call, Exception exception)
    {
        switch (exception)
        {
            case RpcException rpc:
                foreach (var entry in rpc.Trailers)
                {
                    call.ResponseTrailers.Add(entry);
                }

                return rpc.Status;
            case OperationCanceledException or IOException when call.DeadlineExceeded:
                return new Status(StatusCode.DeadlineExceeded, "Deadline exceeded.");
            case OperationCanceledException or IOException when call.ClientCancelled:
                return new Status(StatusCode.Cancelled, "The client cancelled the call.");
            case OperationCanceledException:
                return new Status(StatusCode.Cancelled, "The call was cancelled by the server.");
            default:
                GrpcTransportLog.HandlerException(logger, call.Method, exception);
                var detail = _options.EnableDetailedErrors
                    ? $"Exception was thrown by handler. {exception.GetType().Name}: {exception.Message}"
                    : "Exception was thrown by handler.";
                return new Status(StatusCode.Unknown, detail, exception);
        }
    }

    private void LogCompleted(HttpServerCallContext call, StatusCode code, long started)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            GrpcTransportLog.RpcCompleted(logger, call.Method, code, Stopwatch.GetElapsedTime(started).TotalMilliseconds, call.Peer);
        }
    }

    private Task UnimplementedAsync(HttpContext httpContext, string path)
    {
        var started = Stopwatch.GetTimestamp();
        var slash = path.LastIndexOf('/');
        var service = slash > 0 ? path[1..slash] : string.Empty;
        var message = router.IsServiceRegistered(service)
            ? $"Method '{path[(slash + 1)..]}' of service '{service}' is unimplemented."
            : $"Service '{service}' is unimplemented.";
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.IdentityEncoding;
        response.Headers[GrpcProtocol.StatusHeader] = HttpServerCallContext.StatusCodeText(StatusCode.Unimplemented);
        response.Headers[GrpcProtocol.MessageHeader] = PercentEncoding.Encode(message);
        if (logger.IsEnabled(LogLevel.Information))
        {
            var connection = httpContext.Connection;
            GrpcTransportLog.RpcCompleted(logger, path, StatusCode.Unimplemented, Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                HttpServerCallContext.FormatPeer(connection.RemoteIpAddress, connection.RemotePort));
        }

        return Task.CompletedTask;
    }

    private static Task RejectAsync(HttpContext httpContext, int httpStatus, StatusCode code, string message)
    {
        var response = httpContext.Response;
        response.StatusCode = httpStatus;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.StatusHeader] = HttpServerCallContext.StatusCodeText(code);
        response.Headers[GrpcProtocol.MessageHeader] = PercentEncoding.Encode(message);
        return Task.CompletedTask;
    }

    private static void LiftBodyLimits(HttpContext httpContext)
    {
        // Streams are long-lived and may idle: no total body size cap (messages are capped one
        // by one) and no minimum data rate (Kestrel would otherwise reset an idle stream).
        var maxSize = httpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (maxSize is { IsReadOnly: false })
        {
            maxSize.MaxRequestBodySize = null;
        }

        var minRate = httpContext.Features.Get<IHttpMinRequestBodyDataRateFeature>();
        if (minRate is not null)
        {
            minRate.MinDataRate = null;
        }
    }
}
