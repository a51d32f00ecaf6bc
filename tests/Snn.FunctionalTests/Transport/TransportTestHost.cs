using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Snn.Client.Internal;
using Snn.Grpc;
using Snn.Server.Rpc;

namespace Snn.FunctionalTests.Transport;

/// <summary>
/// Real Kestrel on 127.0.0.1, port 0, serving <see cref="EchoTestService"/> and Health through the
/// transport. Disposing it fails the test if the server logged an error that was not expected.
/// </summary>
internal sealed class TransportTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TransportTestHost(WebApplication app, CapturedLogs logs, TransportObservations observations, Uri address, HttpMessageHandler? handler)
    {
        _app = app;
        Logs = logs;
        Observations = observations;
        Address = address;
        Connection = new GrpcConnection(GrpcConnection.CreateHttpClient(address, handler), disposeHttpClient: true);
    }

    public Uri Address { get; }

    public CapturedLogs Logs { get; }

    public TransportObservations Observations { get; }

    /// <summary>Our client, over its own HttpClient.</summary>
    public GrpcConnection Connection { get; }

    /// <summary>Error event ids this test expects the server to log.</summary>
    public HashSet<int> ExpectedErrorEventIds { get; } = [];

    public static async Task<TransportTestHost> StartAsync(Action<GrpcTransportOptions>? configure = null, X509Certificate2? certificate = null)
    {
        var logs = new CapturedLogs();
        var observations = new TransportObservations();

        // An empty content root: no appsettings from the test output folder can add endpoints.
        var contentRoot = Path.Combine(Path.GetTempPath(), "snn-transport-tests");
        Directory.CreateDirectory(contentRoot);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = contentRoot });
        var scheme = certificate is null ? "http" : "https";
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, scheme + "://127.0.0.1:0");
        builder.ConfigureGrpcKestrel(certificate);
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(logs);
        builder.Services.AddGrpcTransport(configure);
        builder.Services.AddGrpcRoutes((router, _) => EchoTestService.Register(router, observations));
        builder.Services.AddHealthService();

        var app = builder.Build();
        app.UseGrpcTransport();
        app.MapGet("/plain", () => "plain");
        await app.StartAsync().WithTimeout();

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        var port = new Uri(addresses.First()).Port;
        HttpMessageHandler? handler = null;
        if (certificate is not null)
        {
            // Trust exactly the test's self-signed certificate.
            handler = new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == certificate.GetCertHashString() },
            };
        }

        return new TransportTestHost(app, logs, observations, new Uri(string.Create(CultureInfo.InvariantCulture, $"{scheme}://127.0.0.1:{port}")), handler);
    }

    /// <summary>Sends a hand-made HTTP/2 request, reads the body to its end, and returns the status from trailers or headers.</summary>
    public async Task<RawResponse> SendRawAsync(string path, byte[] body, string contentType = GrpcProtocol.ContentType, Action<HttpRequestMessage>? configure = null)
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
        using var response = await Connection.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WithTimeout();
        var responseBody = await response.Content.ReadAsByteArrayAsync().WithTimeout();
        static string? Get(HttpHeaders headers, string name) => headers.TryGetValues(name, out var values) ? values.First() : null;
        var headerStatus = Get(response.Headers, GrpcProtocol.StatusHeader);
        var trailerStatus = Get(response.TrailingHeaders, GrpcProtocol.StatusHeader);
        var message = Get(response.Headers, GrpcProtocol.MessageHeader) ?? Get(response.TrailingHeaders, GrpcProtocol.MessageHeader);
        return new RawResponse(
            response.StatusCode,
            responseBody,
            headerStatus,
            trailerStatus,
            message is null ? null : PercentEncoding.Decode(message),
            Get(response.Headers, GrpcProtocol.AcceptEncodingHeader));
    }

    /// <summary>A frame with the given flag around <paramref name="payload"/>.</summary>
    public static byte[] Frame(byte[] payload, byte flag = 0)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>Waits until the server has logged the per-RPC line for <paramref name="method"/>.</summary>
    public async Task<string> WaitForRpcLogAsync(string method)
    {
        var deadline = DateTime.UtcNow + TestTimeouts.Default;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var entry in Logs.Entries)
            {
                if (IsRpcLine(entry.Category, entry.EventId.Id) && entry.Message.Contains(method, StringComparison.Ordinal))
                {
                    return entry.Message;
                }
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"No RPC log line for {method}.");
    }

    /// <summary>True for the transport's per-RPC log line (event 1000 of the Snn.Server.Rpc categories).</summary>
    public static bool IsRpcLine(string category, int eventId) =>
        eventId == 1000 && category.StartsWith("Snn.Server.Rpc", StringComparison.Ordinal);

    public async ValueTask DisposeAsync()
    {
        Observations.Release();
        Connection.Dispose();
        await _app.StopAsync().WithTimeout();
        await _app.DisposeAsync();
        var unexpected = Logs.UnexpectedErrors(ExpectedErrorEventIds);
        Assert.True(unexpected.Count == 0, "The server logged unexpected errors:\n" + string.Join("\n", unexpected));
    }

    internal sealed record RawResponse(HttpStatusCode HttpStatus, byte[] Body, string? HeaderStatus, string? TrailerStatus, string? Message, string? AcceptEncoding)
    {
        public string? GrpcStatus => TrailerStatus ?? HeaderStatus;
    }
}
