using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Snn.FunctionalTests.Infrastructure;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Nir;

/// <summary>
/// Each flavour's reference cases (tests/data/nir/flavors: a .nir file and the trace of the module that
/// library's importer builds from it): imported through ImportNetwork with that flavour and stepped
/// through Run on a real server, the NIR Output nodes' values must equal the trace bit for bit.
/// </summary>
public sealed class NirFlavorTraceTests(ServerFixture server) : IClassFixture<ServerFixture>
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
    public async Task Imported_network_reproduces_the_library_trace(string name)
    {
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Dir, name + ".json")));
        var root = json.RootElement;
        string flavor = root.GetProperty("flavor").GetString()!;
        int steps = root.GetProperty("steps").GetInt32();
        var input = root.GetProperty("input");
        string inputNode = input.GetProperty("node").GetString()!;
        var inputValues = Matrix(input.GetProperty("values"));

        using var client = server.CreateClient();
        var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;
        string network = "nir-" + name.Replace('_', '-');
        var imported = await client.Api.ImportNetworkAsync(new ImportNetworkRequest
        {
            Name = network,
            Nir = ByteString.CopyFrom(await File.ReadAllBytesAsync(Path.Combine(Dir, name + ".nir"))),
            Dt = root.GetProperty("dt").GetDouble(),
            Flavor = flavor,
        }, cancellationToken: cancel);
        try
        {
            // Which population each Output node reads: the report says so.
            var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var output in root.GetProperty("outputs").EnumerateObject())
            {
                var line = imported.Report.FirstOrDefault(l => l.Node == output.Name && l.Becomes.StartsWith("output of population ", StringComparison.Ordinal));
                outputs[output.Name] = line is null ? output.Name : line.Becomes["output of population ".Length..];
            }

            var open = new RunOpen { Network = network, Reset = true };
            open.SpikesFrom.Add(outputs.Values.Distinct());
            await using var session = client.Run(new CallOptions(cancellationToken: cancel));
            var opened = await session.OpenAsync(open, cancel);
            for (int t = 0; t < steps; t++)
            {
                var step = new Input { Population = inputNode, Offset = 0 };
                var row = inputValues[t];
                for (int i = 0; i < row.Length; i++)
                {
                    if (row[i] != 0)
                    {
                        step.Indices.Add((uint)i);
                        step.Values.Add(row[i]);
                    }
                }

                await session.AdvanceAsync(1, step.Indices.Count > 0 ? [step] : null, cancel);
            }

            await session.CompleteAsync();
            var got = new List<StepOutput>();
            await foreach (var s in session.ReadStepsAsync(cancel))
                got.Add(s);
            Assert.Equal(steps, got.Count);

            var problems = new List<string>();
            foreach (var output in root.GetProperty("outputs").EnumerateObject())
            {
                var expected = Matrix(output.Value.GetProperty("values"));
                int population = opened.SpikePopulations.IndexOf(outputs[output.Name]);
                for (int t = 0; t < steps; t++)
                {
                    var actual = new float[expected[t].Length];
                    var spikes = got[t].Spikes.FirstOrDefault(p => p.Population == population);
                    if (spikes is not null)
                    {
                        for (int k = 0; k < spikes.Indices.Count; k++)
                            actual[spikes.Indices[k]] = spikes.Values.Count > 0 ? spikes.Values[k] : 1f;
                    }

                    for (int i = 0; i < actual.Length; i++)
                    {
                        if (BitConverter.SingleToInt32Bits(actual[i]) != BitConverter.SingleToInt32Bits(expected[t][i]) && !(actual[i] == 0 && expected[t][i] == 0))
                            problems.Add($"{output.Name}[{i}] at step {t}: expected {expected[t][i]:R}, got {actual[i]:R}");
                    }
                }
            }

            Assert.True(problems.Count == 0,
                $"{name} ({flavor}): {problems.Count} values differ\n{string.Join("\n", problems.Take(20))}\nreport:\n" +
                string.Join("\n", imported.Report.Select(l => $"  {l.Node} -> {l.Becomes}: {l.Detail}")));
        }
        finally
        {
            await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = network });
        }
    }

    private static float[][] Matrix(JsonElement rows) =>
        rows.EnumerateArray().Select(r => r.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray()).ToArray();
}
