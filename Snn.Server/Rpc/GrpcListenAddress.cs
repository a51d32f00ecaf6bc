using System.Globalization;
using System.Net;

namespace Snn.Server.Rpc;

/// <summary>One listen URL (<c>http://127.0.0.1:50051</c>, <c>https://*:443</c>, <c>http://[::1]:0</c>, <c>http://localhost:5000</c>).</summary>
internal readonly record struct GrpcListenAddress(bool Https, string Host, int Port, bool Http1 = false)
{
    public static GrpcListenAddress Parse(string url)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        var text = url.Trim();
        bool https;
        if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            https = false;
            text = text["http://".Length..];
        }
        else if (text.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            https = true;
            text = text["https://".Length..];
        }
        else
        {
            throw new FormatException($"Listen URL '{url}' must start with http:// or https://.");
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            text = text[..slash];
        }

        string host;
        string? portText = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"Listen URL '{url}' has an unterminated IPv6 address.");
            }

            host = text[1..close];
            if (close + 1 < text.Length)
            {
                portText = text[(close + 1)..].TrimStart(':');
            }
        }
        else
        {
            var colon = text.LastIndexOf(':');
            host = colon >= 0 ? text[..colon] : text;
            portText = colon >= 0 ? text[(colon + 1)..] : null;
        }

        var port = https ? 443 : 80;
        if (!string.IsNullOrEmpty(portText) && !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port))
        {
            throw new FormatException($"Listen URL '{url}' has an invalid port.");
        }

        if (host.Length == 0 || port is < 0 or > 65535)
        {
            throw new FormatException($"Listen URL '{url}' needs a host and a port between 0 and 65535.");
        }

        return new GrpcListenAddress(https, host, port);
    }

    /// <summary>The address to bind, or null for "any address" (<c>*</c>, <c>+</c> or a host name).</summary>
    public IPAddress? Address => IPAddress.TryParse(Host, out var ip) ? ip : null;

    public bool IsLocalhost => string.Equals(Host, "localhost", StringComparison.OrdinalIgnoreCase);
}
