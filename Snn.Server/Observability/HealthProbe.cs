using System.Net;
using Snn.Server.Rpc;

namespace Snn.Server.Observability;

/// <summary>
/// <c>Snn.Server --healthcheck</c>: asks the server running beside it (same configuration: appsettings.json,
/// <c>Snn__*</c> environment variables, switches) for <c>/healthz</c> on its first HTTP/1.1 endpoint
/// (<c>Snn:HttpUrls</c>) and exits 0 when it answers 200, 1 otherwise. The container's HEALTHCHECK runs
/// it, so the image needs no curl, and the probe follows the configured port.
/// </summary>
internal static class HealthProbe
{
    public const string Switch = "--healthcheck";

    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var config = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args.Where(a => a != Switch).ToArray())
            .Build();
        string urls = SnnConfiguration.Get(config, "Snn:HttpUrls", GrpcKestrelExtensions.DefaultHttpUrl);
        string? first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (first is null)
        {
            output.WriteLine("unhealthy: Snn:HttpUrls is empty; the health probe asks /healthz on the HTTP/1.1 endpoint");
            return 1;
        }

        var uri = ProbeUri(GrpcListenAddress.Parse(first));
        using var handler = new HttpClientHandler
        {
            // The probe asks the server in the same container over loopback: its certificate names the public host.
            ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await http.GetAsync(uri);
            string body = await response.Content.ReadAsStringAsync();
            output.WriteLine($"{(response.StatusCode == HttpStatusCode.OK ? "healthy" : "unhealthy")}: {uri} answered {(int)response.StatusCode} {body}");
            return response.StatusCode == HttpStatusCode.OK ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            output.WriteLine($"unhealthy: {uri}: {e.Message}");
            return 1;
        }
    }

    /// <summary>The /healthz address of a listen URL; an any-address bind (<c>0.0.0.0</c>, <c>*</c>, <c>+</c>) is asked on loopback.</summary>
    internal static Uri ProbeUri(GrpcListenAddress address)
    {
        string host = address.Address switch
        {
            null when address.IsLocalhost => "localhost",
            null => "127.0.0.1",
            var ip when ip.Equals(IPAddress.Any) => "127.0.0.1",
            var ip when ip.Equals(IPAddress.IPv6Any) => "[::1]",
            var ip when ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 => $"[{ip}]",
            var ip => ip.ToString(),
        };
        return new Uri($"{(address.Https ? "https" : "http")}://{host}:{address.Port}/healthz");
    }
}
