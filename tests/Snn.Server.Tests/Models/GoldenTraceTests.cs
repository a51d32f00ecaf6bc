using Snn.Server.Models;
using Xunit.Abstractions;

namespace Snn.Server.Tests.Models;

/// <summary>
/// Every reference case, step by step: spikes and every recorded state after each step must have
/// the reference's float32 bits (-0 == +0). norse.LIFAdEx allows 1e-6 (its exp may differ by 1 ulp).
/// </summary>
public sealed class GoldenTraceTests(ITestOutputHelper output)
{
    public static TheoryData<string, StepMode> Cases()
    {
        var data = new TheoryData<string, StepMode>();
        foreach (var name in RefCase.Names())
        {
            foreach (var mode in Enum.GetValues<StepMode>())
            {
                data.Add(name, mode);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesReference(string caseName, StepMode mode)
    {
        var c = RefCase.Load(caseName);
        var run = new CaseRunner(c, mode);
        run.Run();
        output.WriteLine($"{caseName} [{mode}]: mismatches {run.Mismatches}, max error {run.MaxError:R}");
        if (c.ServerModel == "norse.LIFAdEx")
        {
            Assert.True(run.MaxError <= 1e-6f, $"{caseName}: max error {run.MaxError:R}; first: {run.FirstMismatch}");
        }
        else
        {
            Assert.True(run.Mismatches == 0, $"{caseName}: {run.Mismatches} values differ, max error {run.MaxError:R}; first: {run.FirstMismatch}");
        }
    }

    [Fact]
    public void EveryCatalogueModelHasAReferenceCase()
    {
        var covered = RefCase.Names().Select(n => RefCase.Load(n).ServerModel).ToHashSet();
        // nir.* follow no library: NirGenericTraceTests checks them against their own reference.
        foreach (var model in ModelCatalog.All.Where(m => m.Name is not ("input" or "passthrough") && !m.Name.StartsWith("nir.", StringComparison.Ordinal)))
        {
            Assert.Contains(model.Name, covered);
        }
    }
}
