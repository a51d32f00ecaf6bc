using Snn.Cli;
using Snn.FunctionalTests.Api;
using Snn.FunctionalTests.Cli;
using Snn.FunctionalTests.Configuration;

namespace Snn.FunctionalTests.Security;

/// <summary>
/// <c>snn</c> sends the key in <c>SNN_API_KEY</c>. The variable is process-wide, so this runs in the collection
/// that runs alone.
/// </summary>
[Collection(ConfigurationCollection.Name)]
public sealed class CliKeyTests
{
    [Fact]
    public async Task The_CLI_sends_the_key_in_SNN_API_KEY_and_without_it_is_told_to()
    {
        await using var server = await SecuredServer.StartAsync().Within();
        string address = server.Address.ToString();
        var refused = await CliRunner.RunAsync("list", "--server", address);
        Assert.Equal(SnnCli.RpcFailed, refused.ExitCode);
        Assert.Contains("UNAUTHENTICATED", refused.Error, StringComparison.Ordinal);
        Assert.Contains("authorization: Bearer KEY", refused.Error, StringComparison.Ordinal);

        Environment.SetEnvironmentVariable(SnnCli.KeyVariable, SecuredServer.AliceKey);
        try
        {
            var info = await CliRunner.RunAsync("info", "--server", address);
            Assert.True(info.ExitCode == 0, info.ToString());
            Assert.Contains("cpu", info.Output, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(SnnCli.KeyVariable, null);
        }
    }
}
