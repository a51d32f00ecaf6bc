using Microsoft.Extensions.Configuration;
using Snn.Server.Security;

namespace Snn.Server.Tests.Security;

/// <summary>TenantScope's qualified names: no tenant's names meet another's, and the anonymous tenant's stay as given.</summary>
public sealed class TenantScopeTests
{
    [Fact]
    public void A_tenant_owns_exactly_its_qualified_names()
    {
        string net = TenantScope.Qualify("alice", "net");
        Assert.Equal("alice:net", net);
        Assert.True(TenantScope.Owns("alice", net));
        Assert.False(TenantScope.Owns("bob", net));
        Assert.False(TenantScope.Owns("alic", net));          // a prefix of the tenant is another tenant
        Assert.False(TenantScope.Owns("alice", "alicenet"));
        Assert.False(TenantScope.Owns("alice", "alice:"));
        Assert.False(TenantScope.Owns(TenantScope.Anonymous, net));
        Assert.True(TenantScope.Owns(TenantScope.Anonymous, "net"));
        Assert.Equal("net", TenantScope.Qualify(TenantScope.Anonymous, "net"));
    }

    [Fact]
    public void Keys_match_their_tenant_only()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Snn:Auth:Keys:0:Tenant"] = "alice",
            ["Snn:Auth:Keys:0:Key"] = "alice-key-0123456789",
            ["Snn:Auth:Keys:1:Tenant"] = "bob",
            ["Snn:Auth:Keys:1:KeySha256"] = ApiKeys.Hash("bob-key-0123456789"),
        }).Build();
        var keys = ApiKeys.Load(config);
        Assert.True(keys.Enabled);
        Assert.Equal("alice", keys.Match("alice-key-0123456789"));
        Assert.Equal("bob", keys.Match("bob-key-0123456789"));
        Assert.Null(keys.Match("alice-key-012345678"));
        Assert.Null(keys.Match(""));
        Assert.False(ApiKeys.Load(new ConfigurationBuilder().Build()).Enabled);
    }

    [Fact]
    public void One_key_for_two_tenants_stops_the_start()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Snn:Auth:Keys:0:Tenant"] = "alice",
            ["Snn:Auth:Keys:0:Key"] = "shared-key-0123456789",
            ["Snn:Auth:Keys:1:Tenant"] = "bob",
            ["Snn:Auth:Keys:1:Key"] = "shared-key-0123456789",
        }).Build();
        var e = Assert.Throws<InvalidOperationException>(() => ApiKeys.Load(config));
        Assert.Contains("both tenant 'alice' and tenant 'bob'", e.Message, StringComparison.Ordinal);
    }
}
