namespace Snn.FunctionalTests.Api;

/// <summary>The strict parser the /metrics tests use: it accepts the format and rejects what breaks it.</summary>
public sealed class PrometheusTextTests
{
    private const string Valid =
        "# TYPE a_total counter\n# HELP a_total Things, with a \\\\ and a \\n.\na_total{x=\"q\\\"uote\",y=\"\"} 3 1700000000000\n" +
        "# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1.5e0\nh_count 2\n" +
        "# A comment\ng NaN\n";

    [Fact]
    public void A_valid_exposition_parses_with_its_types_labels_and_values()
    {
        var parsed = PrometheusText.Parse(Valid);
        Assert.Equal("counter", parsed.Families["a_total"].Type);
        Assert.Equal("Things, with a \\ and a \n.", parsed.Families["a_total"].Help);
        Assert.Equal("q\"uote", parsed.Single("a_total").Label("x"));
        Assert.Equal(3, parsed.Value("a_total"));
        Assert.Equal(2, parsed.Value("h_count"));
        Assert.True(double.IsNaN(parsed.Value("g")));
    }

    [Theory]
    [InlineData("no_newline 1")]
    [InlineData("1bad 1\n")]
    [InlineData("m{le=\"1\" 1\n")]
    [InlineData("m{1x=\"1\"} 1\n")]
    [InlineData("m{x=\"a\\t\"} 1\n")]
    [InlineData("m{x=\"1\",x=\"2\"} 1\n")]
    [InlineData("m  1\n")]
    [InlineData("m one\n")]
    [InlineData("m 1 2 3\n")]
    [InlineData("m 1\nm 2\n")]
    [InlineData("# TYPE m countr\nm 1\n")]
    [InlineData("m 1\n# TYPE m counter\n")]
    [InlineData("a 1\nb 1\na 2\n")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n")]
    [InlineData("# TYPE h histogram\nh 2\n")]
    public void A_broken_exposition_is_rejected(string text) =>
        Assert.Throws<FormatException>(() => PrometheusText.Parse(text));
}
