using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Snn.FunctionalTests.Api;
using Snn.FunctionalTests.Security;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Nir;

/// <summary>
/// ImportNetwork creates exactly as CreateNetwork does (under the caller's tenant, within its quotas) and logs
/// its report; ExportNetwork sees only the caller's networks. A server with API keys for alice and bob and a
/// quota of one network each.
/// </summary>
public sealed class NirTenantTests(NirTestFiles files) : IClassFixture<NirTestFiles>
{
    private static Task<SecuredServer> StartAsync() => SecuredServer.StartAsync(("Snn:Quotas:MaxNetworks", "1"));

    [Fact]
    public async Task Another_tenants_network_cannot_be_exported()
    {
        await using var server = await StartAsync();
        using var alice = server.Client(SecuredServer.AliceKey);
        using var bob = server.Client(SecuredServer.BobKey);
        await alice.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay("alices") }).Within();

        await Rpc.FailsAsync(StatusCode.NotFound, () => bob.ExportNetworkAsync("alices"), "network 'alices' does not exist");
        server.AssertNoErrorsLogged();
    }

    /// <summary>Needs NirImporter.</summary>
    [Fact]
    public async Task An_import_is_the_tenants_own_counts_against_its_quota_and_is_logged_line_by_line()
    {
        await using var server = await StartAsync();
        using var alice = server.Client(SecuredServer.AliceKey);
        using var bob = server.Client(SecuredServer.BobKey);
        var nir = ByteString.CopyFrom(files.Bytes("feedforward"));

        var imported = await alice.ImportNetworkAsync(new ImportNetworkRequest { Name = "model", Nir = nir }).Within();
        Assert.Equal("model", imported.Network.Spec.Name);
        await Rpc.FailsAsync(StatusCode.ResourceExhausted,
            () => alice.ImportNetworkAsync(new ImportNetworkRequest { Name = "model2", Nir = nir }), "MaxNetworks");

        // The same name is bob's to use, and his network is his alone.
        Assert.Equal("model", (await bob.ImportNetworkAsync(new ImportNetworkRequest { Name = "model", Nir = nir }).Within()).Network.Spec.Name);
        Assert.Equal("model", Assert.Single((await bob.ListNetworksAsync().Within()).Networks).Spec.Name);

        // One line per conversion and import, under the tenant-qualified name the server's logs use.
        var lines = server.LogEntries
            .Where(e => e.Level == LogLevel.Information && e.EventId.Id == 30 && e.Category == "Snn.Server.Services.SnnService")
            .Select(e => e.Message)
            .ToList();
        Assert.Equal(2 * imported.Report.Count, lines.Count);
        Assert.All(lines, line => Assert.StartsWith("NIR import ", line, StringComparison.Ordinal));
        Assert.Equal(imported.Report.Count, lines.Count(line => line.Contains("alice:model", StringComparison.Ordinal)));
        Assert.Equal(imported.Report.Count, lines.Count(line => line.Contains("bob:model", StringComparison.Ordinal)));
        Assert.Contains(lines, line => line.Contains("lif", StringComparison.Ordinal) && line.Contains(" → ", StringComparison.Ordinal));
        server.AssertNoErrorsLogged();
    }
}
