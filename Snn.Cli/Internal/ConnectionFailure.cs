using System.Net.Sockets;
using System.Security.Authentication;
using Grpc.Core;

namespace Snn.Cli.Internal;

/// <summary>
/// Turns a call that never reached the server (UNAVAILABLE with the transport's exception) into a
/// sentence that says what to change: nothing listening, a name that does not resolve, https:// to a
/// plain port, http:// to a TLS port. Null for other failures, which print their gRPC status.
/// </summary>
internal static class ConnectionFailure
{
    public static string? Describe(RpcException e, Uri? server)
    {
        if (e.StatusCode != StatusCode.Unavailable && e.StatusCode != StatusCode.Internal)
        {
            return null;
        }

        string where = server is null ? "the server" : $"the server at {server.GetLeftPart(UriPartial.Authority)}";
        string endpoint = server is null ? "the address" : $"{server.Host}:{server.Port}";
        for (var inner = e.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case AuthenticationException:
                    return $"{where} did not complete a TLS handshake: it does not speak TLS on that port, or its certificate is not trusted; for a plain (h2c) server use http://{endpoint} ({inner.Message})";
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused }:
                    return $"nothing is listening at {endpoint} (connection refused); start the server (dotnet run --project Snn.Server) or point --server or ${SnnCli.ServerVariable} at it";
                case SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain }:
                    return $"the host name '{server?.Host}' does not resolve; check --server or ${SnnCli.ServerVariable}";
                case SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.HostUnreachable or SocketError.NetworkUnreachable } socket:
                    return $"{endpoint} cannot be reached ({socket.SocketErrorCode}); check the address and that a firewall lets it through";
                case HttpProtocolException or HttpIOException when server?.Scheme == Uri.UriSchemeHttp:
                    return $"{where} broke off the HTTP/2 connection ({inner.Message}); if it serves TLS on that port, use https://{endpoint}";
            }
        }

        if (server?.Scheme == Uri.UriSchemeHttp && e.Status.Detail.Contains("HTTP/2", StringComparison.Ordinal) && e.StatusCode == StatusCode.Unavailable)
        {
            return $"{where} did not answer as an HTTP/2 (h2c) server ({e.Status.Detail}); if it serves TLS on that port, use https://{endpoint}";
        }

        return null;
    }
}
