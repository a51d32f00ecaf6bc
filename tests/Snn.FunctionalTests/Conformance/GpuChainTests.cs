using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Snn.Client;
using Snn.FunctionalTests.Infrastructure;
using Snn.Protos.V1;
using Snn.Server;
using StepLoop = Snn.Server.Engine.StepLoop;

namespace Snn.FunctionalTests.Conformance;

/// <summary>
/// A LOCKSTEP request that advances many steps runs on a device backend as chains of steps queued
/// with one wait each (Snn:Engine:ChainMilliseconds), or for chains longer than a part, one wait per
/// part. Over the API, every step's output (spikes of every population, and a state record taken every
/// 7th or 25th step, where a chain ends) must be the same bytes as on the CPU backend, which steps one by one. And where
/// the run reads one population's spikes and a watcher another's, the device writes only those for the host (the input's
/// and nobody else's stay on the device), and both streams still get the CPU backend's bytes.
/// </summary>
public sealed class GpuChainTests
{
    private static NetworkSpec Spec()
    {
        var random = new Random(41);
        float[] Dyadic(int n) => Enumerable.Range(0, n).Select(_ => random.Next(-64, 65) / 64f).ToArray();
        var spec = new NetworkSpec { Name = "chain", Clock = ClockMode.Lockstep, Dt = 0.001, Instances = 2 };
        spec.Populations.Add(new PopulationSpec { Name = "in", Model = "input", Size = 120 });
        spec.Populations.Add(new PopulationSpec { Name = "h", Model = "sinabs.LIF", Size = 90, Params = { ["tau_mem"] = new ParameterValue { Scalar = 8 } } });
        spec.Populations.Add(new PopulationSpec { Name = "o", Model = "snntorch.Leaky", Size = 20, Params = { ["beta"] = new ParameterValue { Scalar = 0.9 } } });
        spec.Projections.Add(new ProjectionSpec { Name = "w1", Source = "in", Target = "h", Dense = new DenseProjection { Weights = { Dyadic(90 * 120) }, Bias = { Dyadic(90) } } });
        spec.Projections.Add(new ProjectionSpec { Name = "rec", Source = "h", Target = "h", Dense = new DenseProjection { Weights = { Dyadic(90 * 90) } } });
        spec.Projections.Add(new ProjectionSpec { Name = "w2", Source = "h", Target = "o", DelaySteps = 2, Dense = new DenseProjection { Weights = { Dyadic(20 * 90) } } });
        return spec;
    }

    private static async Task<List<ByteString>> RunAsync(ServerHost host, uint recordEvery, bool split, CancellationToken token)
    {
        using var client = new SnnClient(host.Address);
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec() }, new CallOptions(cancellationToken: token));
        var outputs = new List<ByteString>();
        var random = new Random(7);
        IAsyncEnumerator<RunResponse>? watcher = null;
        if (split)
        {
            // A watcher of the same instance that reads 'h' alone, while the run reads 'o' alone.
            watcher = client.WatchAsync(new WatchRequest { Network = "chain", Instance = 1, SpikesFrom = { "h" } }, new CallOptions(cancellationToken: token))
                .GetAsyncEnumerator(token);
            Assert.True(await watcher.MoveNextAsync()); // attached
        }

        await using var run = await client.OpenRunAsync(new RunOpen
        {
            Network = "chain",
            Instance = 1,
            SpikesFrom = { split ? ["o"] : [] },
            Record = { new RecordSpec { Population = "h", Variables = { "*" }, Every = recordEvery } },
        }, new CallOptions(cancellationToken: token));
        foreach (uint advance in new uint[] { 40, 1, 60, 33 })
        {
            var request = new RunRequest { Advance = advance };
            for (uint s = 0; s < advance; s++)
            {
                var input = new Input { Population = "in", Offset = s };
                for (int e = 0; e < 30; e++)
                {
                    input.Indices.Add((uint)random.Next(120));
                }

                request.Inputs.Add(input);
            }

            await run.SendAsync(request);
            int steps = 0;
            while (steps < advance)
            {
                var response = await run.ReadAsync() ?? throw new InvalidOperationException("the Run stream ended early");
                foreach (var step in response.Steps)
                {
                    outputs.Add(step.ToByteString());
                }

                steps += response.Steps.Count;
            }
        }

        await run.CompleteAsync();
        while (await run.ReadAsync() is not null)
        {
        }

        if (watcher is not null)
        {
            int ran = outputs.Count, watched = 0;
            while (watched < ran)
            {
                Assert.True(await watcher.MoveNextAsync(), "the watcher's stream ended early");
                foreach (var step in watcher.Current.Steps)
                {
                    outputs.Add(step.ToByteString());
                }

                watched += watcher.Current.Steps.Count;
            }

            await watcher.DisposeAsync();
        }

        return outputs;
    }

    [Theory]
    [InlineData(7u, false)] // chains end every 7th step
    [InlineData(25u, false)] // chains longer than a part (StepLoop.ChainPart): the loop hands out a part's outputs while the device runs the next
    [InlineData(25u, true)] // the run reads 'o', a watcher 'h'
    public async Task Chained_steps_over_the_api_give_the_cpu_backends_outputs_byte_for_byte(uint recordEvery, bool split)
    {
        var token = new CancellationTokenSource(TimeSpan.FromMinutes(3)).Token;
        string[] common = ["--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", ""];
        List<ByteString> expected, actual;
        await using (var cpu = await ServerHost.StartAsync([.. TestData.Args(), .. common, "--Snn:Engine:Backend=cpu"], token))
        {
            expected = await RunAsync(cpu, recordEvery, split, token);
        }

        await using (var gpu = await ServerHost.StartAsync([.. TestData.Args(), .. common, "--Snn:Engine:Backend=ilgpu-cpu", "--Snn:Engine:ChainMilliseconds=1000", "--Snn:Engine:CpuBelowNeurons=0"], token))
        {
            actual = await RunAsync(gpu, recordEvery, split, token);
            var loop = gpu.Services.GetRequiredService<StepLoop>();
            Assert.True(loop.ChainedSteps > 100, $"only {loop.ChainedSteps} of {loop.StepsExecuted} steps ran in chains");
            var (stepping, waiting) = loop.SteppingTime; // the device check's split of a step's time
            Assert.True(waiting > TimeSpan.Zero && waiting < stepping, $"stepping {stepping}, of which waiting {waiting}");
        }

        Assert.Equal(split ? 2 * 134 : 134, expected.Count);
        if (split)
        {
            // The run's frames carry 'o' alone, the watcher's 'h' alone (a step without spikes lists none), and both spiked.
            var run = expected.Take(134).Select(o => StepOutput.Parser.ParseFrom(o)).ToList();
            var watched = expected.Skip(134).Select(o => StepOutput.Parser.ParseFrom(o)).ToList();
            Assert.All(run.Concat(watched), o => Assert.True(o.Spikes.Count <= 1));
            Assert.Contains(run, o => o.States.Count > 0);
            Assert.DoesNotContain(watched, o => o.States.Count > 0);
            Assert.Contains(run, o => o.Spikes.Any(p => p.Indices.Count > 0));
            Assert.Contains(watched, o => o.Spikes.Any(p => p.Indices.Count > 0));
        }

        Assert.Contains(expected, o => StepOutput.Parser.ParseFrom(o).States.Count > 0);
        Assert.Contains(expected, o => StepOutput.Parser.ParseFrom(o).Spikes.Any(p => p.Indices.Count > 0));
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i] == actual[i], $"step {i}: the ilgpu-cpu backend's output differs from the CPU backend's\n" +
                $"cpu: {StepOutput.Parser.ParseFrom(expected[i])}\nilgpu: {StepOutput.Parser.ParseFrom(actual[i])}");
        }
    }
}
