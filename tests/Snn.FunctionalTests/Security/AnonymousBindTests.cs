using Snn.Server;
using Snn.Server.Security;

namespace Snn.FunctionalTests.Security;

/// <summary>
/// A server without API keys serves anyone who reaches it, so by default it listens on loopback only: any other
/// address stops the start, naming <c>Snn:AllowAnonymous</c>. Only Build runs here (nothing binds a public address).
/// </summary>
public sealed class AnonymousBindTests
{
    [Theory]
    [InlineData("http://0.0.0.0:0", "")]
    [InlineData("http://*:0", "")]
    [InlineData("http://[::]:0", "")]
    [InlineData("http://127.0.0.1:0", "http://0.0.0.0:0")]
    [InlineData("http://192.0.2.1:0", "")]
    public void Without_keys_a_non_loopback_address_stops_the_start_naming_the_option(string urls, string httpUrls)
    {
        var e = Assert.Throws<InvalidOperationException>(() => ServerHost.Build(["--urls", urls, "--Snn:HttpUrls", httpUrls]));
        Assert.Contains("Snn:AllowAnonymous=true", e.Message, StringComparison.Ordinal);
        Assert.Contains("not a loopback address", e.Message, StringComparison.Ordinal);
        Assert.Contains("Snn:Auth:Keys", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:0")]
    [InlineData("http://[::1]:0")]
    [InlineData("http://localhost:5999")]
    public async Task Without_keys_loopback_is_allowed(string urls)
    {
        await using var app = ServerHost.Build(["--urls", urls, "--Snn:HttpUrls", "http://127.0.0.1:0"]);
    }

    [Fact]
    public async Task AllowAnonymous_or_keys_allow_any_address()
    {
        await using (ServerHost.Build(["--urls", "http://0.0.0.0:0", "--Snn:HttpUrls", "", "--Snn:AllowAnonymous", "true"]))
        {
        }

        await using (ServerHost.Build(["--urls", "http://0.0.0.0:0", "--Snn:HttpUrls", "",
            "--Snn:Auth:Keys:0:Tenant", "ops", "--Snn:Auth:Keys:0:KeySha256", ApiKeys.Hash("a-key-of-the-ops-team")]))
        {
        }
    }

    [Theory]
    [InlineData("--Snn:Auth:Keys:0:Tenant ops", "must set exactly one of Key")]
    [InlineData("--Snn:Auth:Keys:0:Tenant ops --Snn:Auth:Keys:0:Key 0123456789abcdef0123 --Snn:Auth:Keys:0:KeySha256 ab", "exactly one of Key")]
    [InlineData("--Snn:Auth:Keys:0:Key 0123456789abcdef0123", "tenant '' is not a valid name")]
    [InlineData("--Snn:Auth:Keys:0:Tenant ops --Snn:Auth:Keys:0:KeySha256 abc", "is not a SHA-256 in hex")]
    public void A_bad_key_entry_stops_the_start_naming_it(string settings, string reason)
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            ServerHost.Build(["--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "", .. settings.Split(' ')]));
        Assert.Contains("Snn:Auth:Keys:0", e.Message, StringComparison.Ordinal);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_short_key_or_a_bad_keys_file_line_stops_the_start()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ServerHost.Build(["--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "",
            "--Snn:Auth:Keys:0:Tenant", "ops", "--Snn:Auth:Keys:0:Key", "short"]));
        Assert.Contains("at least 16", e.Message, StringComparison.Ordinal);

        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "# keys\nops " + ApiKeys.Hash("a-key-of-the-ops-team") + "\nbroken-line-without-hash\n");
            e = Assert.Throws<InvalidOperationException>(() => ServerHost.Build(["--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "",
                "--Snn:Auth:KeysFile", file]));
            Assert.Contains("line 3", e.Message, StringComparison.Ordinal);
            Assert.Contains("'tenant sha256hex'", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
