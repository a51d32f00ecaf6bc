using Snn.FunctionalTests.Infrastructure;
using System.Net;
using System.Net.Sockets;
using Snn.FunctionalTests.Api;
using Snn.Server;
using Snn.Server.Observability;
using Snn.Server.Rpc;

namespace Snn.FunctionalTests.Deploy;

/// <summary><c>Snn.Server --healthcheck</c>, the container's HEALTHCHECK: asks /healthz of the server its configuration names.</summary>
public sealed class HealthProbeTests
{
    [Fact]
    public async Task Probe_of_a_running_server_exits_0()
    {
        await using var server = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "http://127.0.0.1:0"]).Within();
        var output = new StringWriter();

        int code = await HealthProbe.RunAsync([HealthProbe.Switch, "--Snn:HttpUrls", server.HttpAddress!.ToString()], output).Within();

        Assert.True(code == 0, output.ToString());
        Assert.StartsWith($"healthy: {new Uri(server.HttpAddress, "/healthz")} answered 200 Healthy", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_where_nothing_listens_exits_1_naming_the_address()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var output = new StringWriter();

        int code = await HealthProbe.RunAsync([HealthProbe.Switch, $"--Snn:HttpUrls=http://0.0.0.0:{port}"], output).Within();

        Assert.Equal(1, code);
        Assert.StartsWith($"unhealthy: http://127.0.0.1:{port}/healthz:", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_without_an_http_endpoint_exits_1_saying_why()
    {
        var output = new StringWriter();

        int code = await HealthProbe.RunAsync([HealthProbe.Switch, "--Snn:HttpUrls="], output).Within();

        Assert.Equal(1, code);
        Assert.Contains("Snn:HttpUrls is empty", output.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://0.0.0.0:8080", "http://127.0.0.1:8080/healthz")]
    [InlineData("http://*:8080", "http://127.0.0.1:8080/healthz")]
    [InlineData("http://+:9000", "http://127.0.0.1:9000/healthz")]
    [InlineData("http://[::]:8080", "http://[::1]:8080/healthz")]
    [InlineData("https://localhost:8443", "https://localhost:8443/healthz")]
    [InlineData("http://10.1.2.3:8080", "http://10.1.2.3:8080/healthz")]
    public void Probe_asks_an_any_address_bind_on_loopback(string url, string probe) =>
        Assert.Equal(new Uri(probe), HealthProbe.ProbeUri(GrpcListenAddress.Parse(url)));
}
