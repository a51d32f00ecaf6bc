using Snn.Server.Rpc;

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
    [InlineData("HTTP://10.0.0.1", false, "10.0.0.1", 80)]
    public void Parse_ReadsSchemeHostAndPort(string url, bool https, string host, int port) =>
        Assert.Equal(new GrpcListenAddress(https, host, port), GrpcListenAddress.Parse(url));

    [Theory]
    [InlineData("http://127.0.0.1:8080")]
    [InlineData("https://*:443")]
    public void Parse_LeavesHttp1ToTheCaller(string url)
    {
        // Http1 marks the Snn:HttpUrls endpoints; ConfigureGrpcKestrel sets it, a URL cannot.
        Assert.False(GrpcListenAddress.Parse(url).Http1);
        Assert.True((GrpcListenAddress.Parse(url) with { Http1 = true }).Http1);
    }

    [Theory]
    [InlineData("ftp://x:1")]
    [InlineData("http://x:port")]
    [InlineData("http://:80")]
    [InlineData("http://[::1:80")]
    [InlineData("http://x:70000")]
    [InlineData("http://x:-1")]
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
