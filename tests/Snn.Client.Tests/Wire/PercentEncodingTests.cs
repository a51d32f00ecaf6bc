using Snn.Grpc;

namespace Snn.Client.Tests.Wire;

public sealed class PercentEncodingTests
{
    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("", "")]
    [InlineData("100%", "100%25")]
    [InlineData("a\tb\nc", "a%09b%0Ac")]
    [InlineData("\u263a", "%E2%98%BA")]
    [InlineData("\U0001F608", "%F0%9F%98%88")]
    [InlineData("~ and \u007f", "~ and %7F")]
    public void Encode_EscapesBytesOutsidePrintableAsciiAndPercent(string message, string expected) =>
        Assert.Equal(expected, PercentEncoding.Encode(message));

    [Fact]
    public void SpecialStatusMessage_OfTheInteropTests_RoundTrips()
    {
        const string message = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001F608\t\n";
        var encoded = PercentEncoding.Encode(message);
        Assert.All(encoded, c => Assert.InRange(c, (char)0x20, (char)0x7E));
        Assert.Equal(message, PercentEncoding.Decode(encoded));
    }

    [Theory]
    [InlineData("100%25", "100%")]
    [InlineData("%e2%98%ba", "\u263a")]
    [InlineData("50%", "50%")] // a lone % is kept
    [InlineData("%zz%4", "%zz%4")] // invalid escapes are kept
    [InlineData("%FF", "\uFFFD")] // invalid UTF-8 becomes the replacement character
    public void Decode_IsLenient(string value, string expected) => Assert.Equal(expected, PercentEncoding.Decode(value));
}
