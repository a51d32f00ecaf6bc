using System.Text.Json;
using Snn.Server.Nir;
using Snn.Server.Services;
using Snn.Server.Tests.Engine;

namespace Snn.Server.Tests.Nir;

/// <summary>
/// Each flavour's reference case (tests/data/nir/flavors) imported and stepped in process: the NIR
/// Output nodes must equal the library's trace bit for bit. CI runs this at both vector widths; the
/// functional tests run the same cases through ImportNetwork and Run.
/// </summary>
public sealed class NirFlavorCaseTests
{
    private static string Dir => Path.Combine(AppContext.BaseDirectory, "data", "nir", "flavors");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Dir, "*.json").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileNameWithoutExtension(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Imported_case_steps_as_the_library_does(string name)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, name + ".json")));
        var root = json.RootElement;
        var flavor = Enum.Parse<NirFlavor>(root.GetProperty("flavor").GetString()!, ignoreCase: true);
        var graph = NirReader.Read(Path.Combine(Dir, name + ".nir"));
        var result = NirImporter.Import(graph, new NirImportOptions("net", root.GetProperty("dt").GetDouble(), flavor, Strict: false));
        var harness = new EngineHarness(SpecMapping.ToDefinition(result.Spec));

        var input = root.GetProperty("input");
        string inputNode = input.GetProperty("node").GetString()!;
        var inputs = Matrix(input.GetProperty("values"));
        var outputs = root.GetProperty("outputs").EnumerateObject()
            .Select(o => (Node: o.Name, Population: OutputPopulation(result, o.Name), Expected: Matrix(o.Value.GetProperty("values"))))
            .ToList();

        var problems = new List<string>();
        for (int t = 0; t < inputs.Length; t++)
        {
            harness.Step(inputNode, _ => inputs[t]);
            foreach (var (node, population, expected) in outputs)
            {
                var actual = harness.Output(population);
                for (int i = 0; i < actual.Length; i++)
                {
                    if (actual[i] != expected[t][i] || float.IsNaN(actual[i]) != float.IsNaN(expected[t][i]))
                        problems.Add($"{node}[{i}] at step {t}: expected {expected[t][i]:R}, got {actual[i]:R}");
                }
            }
        }

        Assert.True(problems.Count == 0,
            $"{name}: {problems.Count} values differ\n{string.Join("\n", problems.Take(20))}\nreport:\n" +
            string.Join("\n", result.Report.Select(l => $"  {l.Node} -> {l.Becomes}: {l.Detail}")));
    }

    /// <summary>The population an Output node reads, as the report names it.</summary>
    private static string OutputPopulation(NirImportResult result, string output)
    {
        const string prefix = "output of population ";
        var line = result.Report.FirstOrDefault(l => l.Node == output && l.Becomes.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? output : line.Becomes[prefix.Length..];
    }

    private static float[][] Matrix(JsonElement rows) =>
        rows.EnumerateArray().Select(r => r.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray()).ToArray();
}
