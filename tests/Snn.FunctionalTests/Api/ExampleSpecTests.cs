using Snn.Client.Specs;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Api;

/// <summary>
/// Every spec file in examples/ is created on a real server through the client's file loader (as
/// <c>snn create --file</c> does), driven with input for a few steps, and spikes reach the last
/// population of its feed-forward order.
/// </summary>
public sealed class ExampleSpecTests(ApiServerFixture server) : ApiTest(server)
{
    private const uint Steps = 10;

    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var file in ExampleFiles())
        {
            data.Add(file);
        }

        return data;
    }

    private static List<string> ExampleFiles() =>
        Directory.EnumerateFiles(RepositoryFiles.Resolve("examples"))
            .Where(f => Path.GetExtension(f) is ".json" or ".yaml" or ".yml")
            .Select(f => Path.GetFileName(f))
            .Order(StringComparer.Ordinal)
            .ToList()!;

    [Fact]
    public void The_examples_cover_json_yaml_and_an_npy_sidecar()
    {
        var files = ExampleFiles();
        Assert.Contains(files, f => f.EndsWith(".json", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith(".yaml", StringComparison.Ordinal));
        Assert.Contains(files, f => File.ReadAllText(RepositoryFiles.Resolve("examples", f)).Contains("npy:", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Example_is_created_and_runs(string fileName)
    {
        string path = RepositoryFiles.Resolve("examples", fileName);
        var file = NetworkSpecFile.Load(path);
        Assert.Empty(file.Warnings);

        var network = await Client.CreateNetworkFromFileAsync(path).Within();
        try
        {
            Assert.Equal(file.Spec.Name, network.Spec.Name);
            string last = network.Order[^1];
            var inputs = file.Spec.Populations.Where(p => p.Model == "input").ToList();
            Assert.NotEmpty(inputs);

            for (uint instance = 0; instance < Math.Max(1, file.Spec.Instances); instance++)
            {
                await using var run = await Client.OpenRunAsync(new RunOpen { Network = network.Spec.Name, Instance = instance, SpikesFrom = { last } }).Within();

                // Every input neuron gets 2.0 at each of the steps.
                var batch = new List<Input>();
                for (uint t = 0; t < Steps; t++)
                {
                    batch.AddRange(inputs.Select(p => new Input
                    {
                        Population = p.Name,
                        Offset = t,
                        Indices = { Enumerable.Range(0, (int)p.Size).Select(i => (uint)i) },
                        Values = { Enumerable.Repeat(2f, (int)p.Size) },
                    }));
                }

                await run.AdvanceAsync(Steps, batch).Within();
                int spikes = 0;
                using var timeout = new CancellationTokenSource(ApiTimeouts.Default);
                await foreach (var step in run.ReadStepsAsync(timeout.Token))
                {
                    spikes += step.Spikes.Sum(s => s.Indices.Count);
                    if (step.Step == Steps - 1)
                    {
                        break;
                    }
                }

                Assert.True(spikes > 0, $"{fileName}: no spikes in '{last}' (instance {instance}) in {Steps} steps");
            }
        }
        finally
        {
            await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = network.Spec.Name }).Within();
        }
    }
}
