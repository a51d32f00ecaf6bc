using Snn.Grpc;

namespace Snn.Client.Tests.Wire;

public sealed class GrpcTimeoutTests
{
    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("5010m", 50_100_000L)]
    [InlineData("442463u", 4_424_630L)]
    [InlineData("1000n", 10L)]
    [InlineData("1n", 1L)] // rounds up to one tick: a deadline is never shortened to zero
    [InlineData("0n", 0L)]
    [InlineData("99999999S", 999_999_990_000_000L)]
    [InlineData("99999999H", 99_999_999L * 36_000_000_000L)]
    public void Parse_AllUnits(string value, long expectedTicks)
    {
        Assert.True(GrpcTimeout.TryParse(value, out var timeout));
        Assert.Equal(expectedTicks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("10x")]
    [InlineData("-1S")]
    [InlineData("1.5S")]
    [InlineData("123456789S")] // more than 8 digits
    [InlineData(" 1S")]
    public void Parse_RejectsInvalidValues(string value) => Assert.False(GrpcTimeout.TryParse(value, out _));

    [Theory]
    [InlineData(0L, "0n")]
    [InlineData(-5L, "0n")]
    [InlineData(1L, "100n")]
    [InlineData(999_999L, "99999900n")]
    [InlineData(1_000_000L, "100000u")]
    [InlineData(50_100_000L, "5010000u")]
    [InlineData(999_999_990L, "99999999u")]
    [InlineData(10_000_000_000L, "1000000m")] // 1e9 us does not fit in 8 digits
    [InlineData(36_000_000_000L, "3600000m")]
    public void Format_UsesTheFinestUnitThatFits(long ticks, string expected) =>
        Assert.Equal(expected, GrpcTimeout.Format(TimeSpan.FromTicks(ticks)));

    [Fact]
    public void Format_HugeValues_ClampTo8DigitsOfHours()
    {
        Assert.Equal("99999999H", GrpcTimeout.Format(TimeSpan.MaxValue));
        var value = GrpcTimeout.Format(TimeSpan.FromDays(30));
        Assert.True(value.Length <= 9);
        Assert.True(GrpcTimeout.TryParse(value, out var parsed));
        Assert.True(parsed >= TimeSpan.FromDays(30));
    }

    [Theory]
    [InlineData(1L)]
    [InlineData(12_345L)]
    [InlineData(123_456_789L)]
    [InlineData(987_654_321_012L)]
    public void FormatThenParse_NeverShortensTheTimeout(long ticks)
    {
        var timeout = TimeSpan.FromTicks(ticks);
        var text = GrpcTimeout.Format(timeout);
        Assert.True(text.Length <= 9, text);
        Assert.True(GrpcTimeout.TryParse(text, out var parsed));
        Assert.True(parsed >= timeout, $"{text} -> {parsed} < {timeout}");
        Assert.True(parsed - timeout < TimeSpan.FromTicks(Math.Max(10, ticks / 1000)), $"{text} -> {parsed} is much longer than {timeout}");
    }
}
