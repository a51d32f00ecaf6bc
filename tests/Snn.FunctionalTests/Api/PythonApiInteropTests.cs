using Snn.FunctionalTests.Infrastructure;

namespace Snn.FunctionalTests.Api;

/// <summary>The SnnService API driven by python3-grpcio, an independent gRPC implementation.</summary>
public sealed class PythonApiInteropTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData("unary")]
    [InlineData("ping_pong")]
    [InlineData("error_status")]
    [InlineData("deadline")]
    [InlineData("cancel")]
    [InlineData("unknown_method")]
    [InlineData("oversized")]
    [InlineData("invalid_protobuf")]
    public async Task Python_grpcio_client(string name)
    {
        Python.RequireGrpc();
        var (code, stdout, stderr) = Python.Run(
        [
            Path.Combine(Python.OutputDir, "interop", "snn_api_client.py"),
            "--port", server.Address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--protos", Path.Combine(Python.OutputDir, "protos"),
            "--case", name,
        ], TimeSpan.FromSeconds(120));
        Assert.True(code == 0, $"python case {name} failed ({code}):\n{stdout}\n{stderr}");
        Assert.Contains("PASS " + name, stdout, StringComparison.Ordinal);

        // The harness leaves the server as it found it: no network of its own ("py-...") remains.
        using var client = new Snn.Client.SnnClient(server.Address);
        var left = (await client.ListNetworksAsync().Within()).Networks.Select(n => n.Spec.Name).Where(n => n.StartsWith("py-", StringComparison.Ordinal));
        Assert.Empty(left);
    }
}
