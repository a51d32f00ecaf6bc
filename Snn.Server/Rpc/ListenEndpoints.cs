using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Snn.Server.Rpc;

/// <summary>
/// The Kestrel endpoints by kind (gRPC over HTTP/2; HTTP/1.1 for JSON and gRPC-Web), with the ports
/// Kestrel bound once the server has started (port 0 asks for a free one).
/// </summary>
internal sealed class ListenEndpoints
{
    private readonly List<(ListenOptions Listen, bool Https, bool Localhost)> _grpc = [];
    private readonly List<(ListenOptions Listen, bool Https, bool Localhost)> _http = [];

    internal void Add(ListenOptions listen, GrpcListenAddress address) =>
        (address.Http1 ? _http : _grpc).Add((listen, address.Https, address.IsLocalhost));

    public IEnumerable<Uri> Grpc => _grpc.Select(ToUri);

    public IEnumerable<Uri> Http => _http.Select(ToUri);

    private static Uri ToUri((ListenOptions Listen, bool Https, bool Localhost) e)
    {
        string scheme = e.Https ? "https" : "http";
        if (e.Localhost || e.Listen.EndPoint is not IPEndPoint ip)
        {
            return new Uri($"{scheme}://localhost:{(e.Listen.EndPoint as IPEndPoint)?.Port}");
        }

        var host = ip.Address.Equals(IPAddress.Any) ? "127.0.0.1"
            : ip.Address.Equals(IPAddress.IPv6Any) ? "[::1]"
            : ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip.Address}]"
            : ip.Address.ToString();
        return new Uri($"{scheme}://{host}:{ip.Port}");
    }
}
