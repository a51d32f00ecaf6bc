using Snn.Conformance;
using Snn.FunctionalTests.Infrastructure;

namespace Snn.FunctionalTests.Conformance;

/// <summary>
/// Every reference case of the three libraries, replayed through the public API of a real server by
/// the conformance runner, must match the library's traces: no spike mismatch, states within 1e-5.
/// </summary>
public sealed class ReferenceCaseTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    public const double Tolerance = 1e-5;

    private static string Dir(string kind) => Path.Combine(AppContext.BaseDirectory, "data", kind);

    public static TheoryData<string> LayerCases() => Cases("refcases");

    private static TheoryData<string> Cases(string kind)
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Dir(kind), "*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(f));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(LayerCases))]
    public Task Layer_case_matches_the_library(string name) => Check("refcases", name);

    public static TheoryData<string> TranscribedCases() => Cases("transcribed");

    /// <summary>
    /// The models no library trace covers yet, against the NumPy float32 transcription of the library
    /// (tests/data/transcribed): through Run, the non-spiking models' v arrives as graded values.
    /// </summary>
    [Theory]
    [MemberData(nameof(TranscribedCases))]
    public Task Transcribed_case_matches_the_transcription(string name) => Check("transcribed", name);

    public static TheoryData<string> NetworkCases() => Cases("refnets");

    /// <summary>Every reference network: dense, one-to-one, conv2d and sum pooling projections, recurrent ones included.</summary>
    [Theory]
    [MemberData(nameof(NetworkCases))]
    public Task Network_case_matches_the_library(string name) => Check("refnets", name);

    private async Task Check(string kind, string name)
    {
        using var client = server.CreateClient();
        var log = new StringWriter();
        var runner = new CaseRunner(client, log);
        string outDir = Path.Combine(Path.GetTempPath(), "snn-conformance-" + Guid.NewGuid().ToString("N"));
        try
        {
            string reference = Path.Combine(Dir(kind), name + ".json");
            var result = await runner.RunFileAsync(reference, outDir, new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
            Assert.True(result.Ran, $"{name} did not run: {result.Message}");
            var cmp = CaseComparer.Compare(reference, Path.Combine(outDir, name + ".json"), Tolerance);
            Assert.True(cmp.Passes(Tolerance),
                $"{name}: {cmp.SpikeMismatches} spike mismatches, max state error {cmp.MaxStateError:G3}\n{string.Join("\n", cmp.Problems)}");
        }
        finally
        {
            if (Directory.Exists(outDir))
            {
                Directory.Delete(outDir, recursive: true);
            }
        }
    }
}
