using Snn.Cli;
using Snn.FunctionalTests.Cli;
using Snn.FunctionalTests.Infrastructure;

namespace Snn.FunctionalTests.Nir;

/// <summary><c>snn import</c> and <c>snn export</c> against a real server: the report table, the file written, the errors.</summary>
public sealed class NirCliTests(ServerFixture server, NirTestFiles files) : IClassFixture<ServerFixture>, IClassFixture<NirTestFiles>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("snn-nir-cli-").FullName;

    private string Server => server.Address.ToString();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_malformed_file_fails_with_the_status_naming_node_and_field_and_a_missing_file_is_a_usage_error()
    {
        var malformed = await CliRunner.RunAsync("import", files.PathOf("missing_dataset"), "--name", "cli-nir-bad", "-s", Server);
        Assert.True(malformed.ExitCode == SnnCli.RpcFailed, malformed.ToString());
        Assert.Contains("error: INVALID_ARGUMENT (3): NIR node 'lif', field 'tau': ", malformed.Error);
        Assert.Equal(string.Empty, malformed.Output);

        var missing = await CliRunner.RunAsync("import", Path.Combine(_directory, "none.nir"), "--name", "cli-nir-bad", "-s", Server);
        Assert.True(missing.ExitCode == SnnCli.UsageError, missing.ToString());
        Assert.Contains("cannot read", missing.Error);

        var flavour = await CliRunner.RunAsync("import", files.PathOf("feedforward"), "--name", "cli-nir-bad", "--flavor", "lava", "-s", Server);
        Assert.NotEqual(0, flavour.ExitCode);
        Assert.Contains("lava", flavour.Error);

        var export = await CliRunner.RunAsync("export", "cli-nir-none", "-o", Path.Combine(_directory, "none.nir"), "-s", Server);
        Assert.True(export.ExitCode == SnnCli.RpcFailed, export.ToString());
        Assert.Contains("NOT_FOUND (5)", export.Error);
        Assert.False(File.Exists(Path.Combine(_directory, "none.nir")));
    }

    /// <summary>Needs NirImporter, NirExporter and NirWriter.</summary>
    [Fact]
    public async Task Import_prints_the_report_and_the_network_and_export_writes_the_file()
    {
        const string name = "cli-nir";
        var imported = await CliRunner.RunAsync("import", files.PathOf("feedforward"), "--name", name, "--flavor", "generic",
            "--dt", "0.001", "--instances", "2", "-s", Server);
        Assert.True(imported.ExitCode == 0, imported.ToString());
        Assert.Matches(@"(?m)^NODE\s+BECOMES\s+LOSSY\s+DETAIL$", imported.Output);
        Assert.Matches(@"(?m)^lif\s+\S", imported.Output);
        Assert.Matches(@"(?m)^\d+ conversion\(s\), \d+ lossy$", imported.Output);
        Assert.Contains($"created network '{name}': ", imported.Output);
        Assert.Contains("2 instance(s)", imported.Output);

        var file = Path.Combine(_directory, "model.nir");
        var exported = await CliRunner.RunAsync("export", name, "-o", file, "-s", Server);
        Assert.True(exported.ExitCode == 0, exported.ToString());
        Assert.Matches(@"(?m)^NODE\s+BECOMES\s+LOSSY\s+DETAIL$", exported.Output);
        Assert.Contains($"wrote network '{name}' to {file} ({new FileInfo(file).Length} bytes)", exported.Output);
        Assert.Equal(Hdf5Signature.Bytes, File.ReadAllBytes(file)[..8]);

        // The exported file imports again.
        var again = await CliRunner.RunAsync("import", file, "--name", name + "-again", "-s", Server);
        Assert.True(again.ExitCode == 0, again.ToString());
        foreach (var n in new[] { name, name + "-again" })
        {
            Assert.Equal(0, (await CliRunner.RunAsync("delete", n, "-s", Server)).ExitCode);
        }
    }
}
