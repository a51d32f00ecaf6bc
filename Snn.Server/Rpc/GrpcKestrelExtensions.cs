using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Snn.Server.Rpc;

/// <summary>Kestrel endpoints set up the way gRPC needs them.</summary>
public static class GrpcKestrelExtensions
{
    /// <summary>The address used when no URL is configured: loopback only, h2c.</summary>
    public const string DefaultUrl = "http://127.0.0.1:50051";

    /// <summary>The HTTP/1.1 endpoint (JSON, gRPC-Web) used when <c>Snn:HttpUrls</c> is not configured: loopback only.</summary>
    public const string DefaultHttpUrl = "http://127.0.0.1:8080";

    /// <summary>Concurrent HTTP/2 streams per connection (<c>Snn:MaxStreamsPerConnection</c>). Defaults to 1,024.</summary>
    public const int DefaultMaxStreamsPerConnection = 1024;

    /// <summary>
    /// Configures Kestrel's endpoints from <c>--urls</c> / <c>ASPNETCORE_URLS</c> (the <c>urls</c>
    /// setting; also <c>http_ports</c>/<c>https_ports</c>), or <paramref name="defaultUrl"/> when
    /// none is set. <c>http://</c> endpoints are cleartext HTTP/2 only (h2c with prior knowledge:
    /// with HTTP/1.1 also enabled and no TLS, Kestrel would answer gRPC clients in HTTP/1.1);
    /// <c>https://</c> endpoints offer HTTP/1.1 and HTTP/2 through ALPN, with
    /// <paramref name="certificate"/> or else Kestrel's default certificate
    /// (<c>Kestrel:Certificates:Default</c> in configuration, or the development certificate).
    /// Port 0 binds a free port (not with <c>localhost</c>).
    /// <c>Snn:HttpUrls</c> (default <see cref="DefaultHttpUrl"/>; empty: none) adds HTTP/1.1 endpoints
    /// for the JSON API and gRPC-Web (<c>https://</c> ones also speak HTTP/2).
    /// Request bodies of the JSON API may be as large as <paramref name="maxMessageBytes"/> (Kestrel's
    /// limit; its default is 30 MB); gRPC and gRPC-Web requests have no body limit of Kestrel's, since
    /// grpc-dotnet holds each of their messages to the same number of bytes and answers RESOURCE_EXHAUSTED
    /// (a body limit would trip first, mid-read, as UNKNOWN).
    /// </summary>
    public static WebApplicationBuilder ConfigureGrpcKestrel(this WebApplicationBuilder builder, X509Certificate2? certificate = null,
        string defaultUrl = DefaultUrl, long maxMessageBytes = 4 << 20) =>
        builder.ConfigureGrpcKestrel(certificate, defaultUrl, maxMessageBytes, tlsOnly: false, checkAddresses: null);

    /// <summary>
    /// As the public overload; <paramref name="tlsOnly"/> (with a <paramref name="certificate"/>, from <c>Snn:Tls</c>)
    /// serves every endpoint, <c>http://</c> ones too, over TLS, and <paramref name="checkAddresses"/> sees every
    /// address before anything is bound.
    /// </summary>
    internal static WebApplicationBuilder ConfigureGrpcKestrel(this WebApplicationBuilder builder, X509Certificate2? certificate,
        string defaultUrl, long maxMessageBytes, bool tlsOnly, Action<IReadOnlyList<GrpcListenAddress>>? checkAddresses)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var addresses = new List<GrpcListenAddress>();
        foreach (var url in Split(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            addresses.Add(GrpcListenAddress.Parse(url));
        }

        if (addresses.Count == 0)
        {
            foreach (var port in Split(builder.Configuration[WebHostDefaults.HttpPortsKey]))
            {
                addresses.Add(GrpcListenAddress.Parse("http://*:" + port));
            }

            foreach (var port in Split(builder.Configuration[WebHostDefaults.HttpsPortsKey]))
            {
                addresses.Add(GrpcListenAddress.Parse("https://*:" + port));
            }
        }

        if (addresses.Count == 0)
        {
            addresses.Add(GrpcListenAddress.Parse(defaultUrl));
        }

        var httpAddresses = Split(SnnConfiguration.Get(builder.Configuration, "Snn:HttpUrls", DefaultHttpUrl))
            .Select(GrpcListenAddress.Parse)
            .Select(a => a with { Http1 = true })
            .ToList();

        if (tlsOnly && certificate is not null)
        {
            addresses = [.. addresses.Select(a => a with { Https = true })];
            httpAddresses = [.. httpAddresses.Select(a => a with { Https = true })];
        }

        checkAddresses?.Invoke([.. addresses, .. httpAddresses]);

        // The endpoints below replace the URL settings; clearing them avoids Kestrel's "overriding address" warning.
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, string.Empty);
        builder.WebHost.UseSetting(WebHostDefaults.HttpPortsKey, string.Empty);
        builder.WebHost.UseSetting(WebHostDefaults.HttpsPortsKey, string.Empty);

        int maxStreams = SnnConfiguration.Get(builder.Configuration, "Snn:MaxStreamsPerConnection", DefaultMaxStreamsPerConnection);
        if (maxStreams < 1)
        {
            throw new InvalidOperationException($"Snn:MaxStreamsPerConnection is {maxStreams}; it must be 1 or more");
        }

        var endpoints = new ListenEndpoints();
        builder.Services.AddSingleton(endpoints);
        builder.Services.AddSingleton<IStartupFilter, GrpcBodyLimit>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = maxMessageBytes;

            // Concurrent streams per connection: watchers and drivers of many instances share one
            // connection. Kestrel also keeps up to twice this many streams that the server ended
            // before the client finished sending (e.g. a Run refused for bad input) for 5 s, and
            // answers ENHANCE_YOUR_CALM beyond that; the default of 100 made 200 such refusals in a
            // burst fatal to the connection.
            kestrel.Limits.Http2.MaxStreamsPerConnection = maxStreams;
            foreach (var address in addresses.Concat(httpAddresses))
            {
                void Configure(ListenOptions listen)
                {
                    endpoints.Add(listen, address);
                    if (address.Https)
                    {
                        listen.Protocols = HttpProtocols.Http1AndHttp2;
                        if (certificate is not null)
                        {
                            listen.UseHttps(certificate);
                        }
                        else
                        {
                            listen.UseHttps();
                        }
                    }
                    else
                    {
                        // Cleartext: one protocol per endpoint (HTTP/2 with prior knowledge for gRPC, or HTTP/1.1).
                        listen.Protocols = address.Http1 ? HttpProtocols.Http1 : HttpProtocols.Http2;
                    }
                }

                if (address.IsLocalhost)
                {
                    if (address.Port == 0)
                    {
                        throw new InvalidOperationException("Port 0 cannot be used with 'localhost': use 127.0.0.1 or [::1].");
                    }

                    kestrel.ListenLocalhost(address.Port, Configure);
                }
                else if (address.Address is { } ip)
                {
                    kestrel.Listen(ip, address.Port, Configure);
                }
                else
                {
                    kestrel.ListenAnyIP(address.Port, Configure);
                }
            }
        });
        return builder;
    }

    private static string[] Split(string? value) =>
        string.IsNullOrWhiteSpace(value)
            ? []
            : value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>Lifts Kestrel's body limit for gRPC and gRPC-Web requests, whose messages grpc-dotnet limits itself.</summary>
internal sealed class GrpcBodyLimit : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, nextMiddleware) =>
        {
            if (context.Request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)
                && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = null;
            }

            return nextMiddleware(context);
        });
        next(app);
    };
}
