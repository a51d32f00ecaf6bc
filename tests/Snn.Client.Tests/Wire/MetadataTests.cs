using Snn.Grpc;

namespace Snn.Client.Tests.Wire;

public sealed class MetadataTests
{
    [Fact]
    public void Keys_AreCaseInsensitive_AndStoredLowerCase()
    {
        var metadata = new Metadata { { "X-Trace-Id", "a" }, { "x-trace-id", "b" } };
        Assert.Equal("x-trace-id", metadata[0].Key);
        Assert.Equal("b", metadata.GetValue("X-TRACE-ID"));
        Assert.Equal(["a", "b"], metadata.GetAll("x-trace-id").Select(e => e.Value));
        Assert.Null(metadata.Get("missing"));
    }

    [Fact]
    public void BinaryKeys_CarryBytes()
    {
        var metadata = new Metadata { { "x-data-bin", new byte[] { 1, 2 } } };
        Assert.True(metadata[0].IsBinary);
        Assert.Equal(new byte[] { 1, 2 }, metadata.GetValueBytes("x-data-bin"));
        Assert.Throws<InvalidOperationException>(() => metadata[0].Value);
    }

    [Theory]
    [InlineData("x-data-bin", "text")]
    [InlineData("bad key", "v")]
    [InlineData("k\u00e9y", "v")]
    [InlineData("", "v")]
    [InlineData("x-ok", "new\nline")]
    [InlineData("x-ok", "caf\u00e9")]
    public void InvalidEntries_AreRejected(string key, string value) =>
        Assert.ThrowsAny<ArgumentException>(() => new Metadata.Entry(key, value));

    [Fact]
    public void BinaryValue_UnderAnAsciiKey_IsRejected() =>
        Assert.Throws<ArgumentException>(() => new Metadata.Entry("x-text", [1]));

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("Application/GRPC; charset=utf-8", true)]
    [InlineData("application/grpc+json", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void ContentType_IsRecognised(string? contentType, bool expected) =>
        Assert.Equal(expected, GrpcProtocol.IsGrpcContentType(contentType));

    [Theory]
    [InlineData(new byte[] { 0xAB, 0xAB, 0xAB }, "q6ur")]
    [InlineData(new byte[] { 1 }, "AQ")]
    [InlineData(new byte[] { 1, 2 }, "AQI")]
    public void BinaryValues_AreSentUnpadded_AndReadPaddedOrNot(byte[] value, string expected)
    {
        Assert.Equal(expected, GrpcProtocol.EncodeBinaryValue(value));
        Assert.Equal(value, GrpcProtocol.DecodeBinaryValue(expected));
        Assert.Equal(value, GrpcProtocol.DecodeBinaryValue(Convert.ToBase64String(value)));
    }

    [Theory]
    [InlineData("grpc-status", true)]
    [InlineData(":path", true)]
    [InlineData("te", true)]
    [InlineData("content-type", true)]
    [InlineData("authorization", false)]
    [InlineData("x-custom", false)]
    public void ReservedHeaders_AreNotMetadata(string name, bool reserved) =>
        Assert.Equal(reserved, GrpcProtocol.IsReservedHeader(name));

    [Fact]
    public void RpcException_CarriesStatusAndTrailers()
    {
        var error = new RpcException(new Status(StatusCode.NotFound, "gone"), [new Metadata.Entry("x-a", "b")]);
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("gone", error.Status.Detail);
        Assert.Equal("b", error.Trailers.GetValue("x-a"));
        Assert.Equal(string.Empty, default(Status).Detail);
        Assert.Equal(17, Enum.GetValues<StatusCode>().Length);
    }
}
