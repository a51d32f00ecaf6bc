using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Grpc.AspNetCore.Web;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Snn.Server.Rpc;

namespace Snn.FunctionalTests.Transport;

/// <summary>
/// Real Kestrel on 127.0.0.1, port 0, composed as the server composes itself: endpoints from
/// <see cref="GrpcKestrelExtensions.ConfigureGrpcKestrel"/> (h2c for gRPC, an HTTP/1.1 endpoint
/// from <c>Snn:HttpUrls</c>), Grpc.AspNetCore with the limits from <c>Snn:MaxMessageBytes</c>,
/// <c>Snn:DetailedErrors</c> and the <see cref="ErrorInterceptor"/> (as GrpcSetup.AddSnnGrpc does),
/// gRPC-Web, health through Grpc.AspNetCore.HealthChecks, and <see cref="EchoTestService"/>
/// instead of snn.v1. Clients: Grpc.Net.Client, and a raw HTTP/2 client for what it will not send.
/// Disposing it fails the test if the server logged an error that was not expected.
/// </summary>
internal sealed class TransportTestHost : IAsyncDisposable
{
    /// <summary>Category and event id of the <see cref="ErrorInterceptor"/>'s "{Method} failed" line.</summary>
    public static readonly (string Category, int EventId) FaultLog = (typeof(ErrorInterceptor).FullName!, 1);

    private readonly WebApplication _app;

    private TransportTestHost(WebApplication app, CapturedLogs logs, TransportObservations observations, Uri address, Uri httpAddress,
        Func<HttpMessageHandler> createHandler, Action<GrpcChannelOptions>? channel)
    {
        _app = app;
        Logs = logs;
        Observations = observations;
        Address = address;
        HttpAddress = httpAddress;
        CreateHandler = createHandler;
        var options = new GrpcChannelOptions();
        channel?.Invoke(options);
        options.HttpHandler ??= createHandler();
        Channel = GrpcChannel.ForAddress(address, options);
        Client = new Protos.Echo.EchoClient(Channel);
        Http = new HttpClient(createHandler()) { BaseAddress = address };
    }

    /// <summary>The gRPC (h2c, or TLS) address.</summary>
    public Uri Address { get; }

    /// <summary>The HTTP/1.1 address (<c>Snn:HttpUrls</c>).</summary>
    public Uri HttpAddress { get; }

    public CapturedLogs Logs { get; }

    /// <summary>The server's one health check (the server has the step loop's): healthy until a test says otherwise.</summary>
    public HealthSwitch Health { get; private init; } = new();

    public TransportObservations Observations { get; }

    /// <summary>Makes a handler that trusts the host (its certificate, with TLS).</summary>
    public Func<HttpMessageHandler> CreateHandler { get; }

    public GrpcChannel Channel { get; }

    public Protos.Echo.EchoClient Client { get; }

    /// <summary>A plain HttpClient on <see cref="Address"/>, for hand-made requests.</summary>
    public HttpClient Http { get; }

    /// <summary>Error log lines this test expects from the server.</summary>
    public HashSet<(string Category, int EventId)> ExpectedErrors { get; } = [];

    /// <param name="settings">Server configuration, e.g. <c>Snn:MaxMessageBytes</c> or <c>Snn:DetailedErrors</c>.</param>
    /// <param name="certificate">Serve https:// with this certificate (and trust exactly it in the clients).</param>
    /// <param name="channel">Changes the test channel's options (e.g. its message limits).</param>
    public static async Task<TransportTestHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, X509Certificate2? certificate = null,
        Action<GrpcChannelOptions>? channel = null)
    {
        var logs = new CapturedLogs();
        var observations = new TransportObservations();
        var health = new HealthSwitch();

        // An empty content root: no appsettings from the test output folder can add endpoints.
        var contentRoot = Path.Combine(Path.GetTempPath(), "snn-transport-tests");
        Directory.CreateDirectory(contentRoot);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = contentRoot });
        var scheme = certificate is null ? "http" : "https";
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, scheme + "://127.0.0.1:0");
        builder.Configuration["Snn:HttpUrls"] = "http://127.0.0.1:0";
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        var config = builder.Configuration;
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(logs);

        // What ServerHost.Build and GrpcSetup.AddSnnGrpc do, with the echo service for snn.v1.
        int maxMessage = config.GetValue("Snn:MaxMessageBytes", 4 << 20);
        builder.ConfigureGrpcKestrel(certificate, maxMessageBytes: maxMessage);
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = maxMessage;
            o.MaxSendMessageSize = maxMessage;
            o.EnableDetailedErrors = config.GetValue("Snn:DetailedErrors", false);
            o.Interceptors.Add<ErrorInterceptor>();
        });
        builder.Services.AddGrpcHealthChecks(o => o.Services.Map(EchoTestService.Name, _ => true))
            .AddCheck("test", () => health.Healthy ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy());
        builder.Services.AddSingleton(observations);

        var app = builder.Build();
        app.UseRouting();
        app.UseGrpcWeb(new GrpcWebOptions { DefaultEnabled = true });
        app.MapGrpcService<EchoTestService>();
        app.MapGrpcHealthChecksService();
        app.MapGet("/plain", () => "plain");
        await app.StartAsync().WithTimeout();

        var endpoints = app.Services.GetRequiredService<ListenEndpoints>();
        Func<HttpMessageHandler> createHandler = certificate is null
            ? () => new SocketsHttpHandler()
            : () => new SocketsHttpHandler
            {
                // Trust exactly the test's self-signed certificate.
                SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == certificate.GetCertHashString() },
            };
        return new TransportTestHost(app, logs, observations, endpoints.Grpc.Single(), endpoints.Http.Single(), createHandler, channel) { Health = health };
    }

    /// <summary>Sends a hand-made HTTP/2 request, reads the body to its end, and returns the status from trailers or headers.</summary>
    public async Task<RawResponse> SendRawAsync(string path, byte[] body, string contentType = "application/grpc", Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        configure?.Invoke(request);
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WithTimeout();
        var responseBody = await response.Content.ReadAsByteArrayAsync().WithTimeout();
        static string? Get(HttpHeaders headers, string name) => headers.TryGetValues(name, out var values) ? values.First() : null;
        var message = Get(response.Headers, "grpc-message") ?? Get(response.TrailingHeaders, "grpc-message");
        return new RawResponse(
            response.StatusCode,
            responseBody,
            Get(response.Headers, "grpc-status"),
            Get(response.TrailingHeaders, "grpc-status"),
            message is null ? null : Uri.UnescapeDataString(message),
            Get(response.Headers, "grpc-accept-encoding"));
    }

    /// <summary>A gRPC frame (flag, big-endian length, payload) around <paramref name="payload"/>.</summary>
    public static byte[] Frame(byte[] payload, byte flag = 0)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    public async ValueTask DisposeAsync()
    {
        Observations.Release();
        Channel.Dispose();
        Http.Dispose();
        await _app.StopAsync().WithTimeout();
        await _app.DisposeAsync();
        var unexpected = Logs.UnexpectedErrors(ExpectedErrors);
        Assert.True(unexpected.Count == 0, "The server logged unexpected errors:\n" + string.Join("\n", unexpected));
    }

    internal sealed class HealthSwitch
    {
        public volatile bool Healthy = true;
    }

    internal sealed record RawResponse(HttpStatusCode HttpStatus, byte[] Body, string? HeaderStatus, string? TrailerStatus, string? Message, string? AcceptEncoding)
    {
        public string? GrpcStatus => TrailerStatus ?? HeaderStatus;
    }
}
