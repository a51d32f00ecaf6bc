using Snn.Server.Rpc.Internal;

namespace Snn.FunctionalTests.Transport;

public sealed class GrpcListenAddressTests
{
    [Theory]
    [InlineData("http://127.0.0.1:50051", false, "127.0.0.1", 50051)]
    [InlineData("https://*:443", true, "*", 443)]
    [InlineData("http://[::1]:0", false, "::1", 0)]
    [InlineData("http://localhost:5000/", false, "localhost", 5000)]
    [InlineData("http://+:8080", false, "+", 8080)]
    [InlineData("https://example.org", true, "example.org", 443)]
    public void Parse_ReadsSchemeHostAndPort(string url, bool https, string host, int port) =>
        Assert.Equal(new GrpcListenAddress(https, host, port), GrpcListenAddress.Parse(url));

    [Theory]
    [InlineData("ftp://x:1")]
    [InlineData("http://x:port")]
    [InlineData("http://:80")]
    [InlineData("http://[::1:80")]
    [InlineData("http://x:70000")]
    public void Parse_RejectsInvalidUrls(string url) => Assert.Throws<FormatException>(() => GrpcListenAddress.Parse(url));

    [Fact]
    public void Address_IsNullForWildcardsAndHostNames()
    {
        Assert.Null(GrpcListenAddress.Parse("http://*:1").Address);
        Assert.Null(GrpcListenAddress.Parse("http://example.org:1").Address);
        Assert.NotNull(GrpcListenAddress.Parse("http://10.0.0.1:1").Address);
        Assert.True(GrpcListenAddress.Parse("http://LocalHost:1").IsLocalhost);
    }
}
