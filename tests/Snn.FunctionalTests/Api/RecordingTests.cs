using Snn.Protos.V1;
using static Snn.FunctionalTests.Api.Specs;

namespace Snn.FunctionalTests.Api;

/// <summary>
/// RunOpen.record (variables "*" or a list; neurons all, a list or a range; every k-th step) and
/// spikes_from: what a stream records equals the full recording and GetState.
/// </summary>
public sealed class RecordingTests(ApiServerFixture server) : ApiTest(server)
{
    private const int Size = 6;
    private const int Steps = 7;

    [Fact]
    public async Task Records_select_variables_neurons_and_steps_of_the_full_recording()
    {
        var spec = Feed(Names.Unique("rec"), "norse.LIF", Size, 1, ("v_th", Num(0.1)));
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();
        RecordSpec[] records =
        [
            new() { Population = "n", Variables = { "*" } },
            new() { Population = "n", Variables = { "v" }, Indices = new IndexList { Values = { 5, 1, 3, 1 } } },
            new() { Population = "n", Variables = { "i", "v" }, Range = new IndexRange { Start = 2, End = 5 } },
            new() { Population = "n", Variables = { "*" }, Every = 3 },
            new() { Population = "n", Variables = { "v" }, Every = 1, Range = new IndexRange { Start = 5, End = 6 } },
            new() { Population = "n" },
        ];
        await using var run = await Client.OpenRunAsync(new RunOpen { Network = spec.Name, Record = { records } }).Within();
        Assert.Equal(records, run.Opened!.Records);

        for (int t = 0; t < Steps; t++)
        {
            await run.AdvanceAsync(1, [Current("n", Enumerable.Range(0, Size).Select(k => (k + 1) * (t % 3 + 1) * 4f).ToArray())]).Within();
        }

        var steps = await run.ReadStepsAsync(Steps);
        for (int t = 0; t < Steps; t++)
        {
            var step = steps[t];
            Assert.Equal((ulong)t, step.Step);
            var full = Traces(step, 0);
            Assert.Equal(["v", "i"], full.Keys);
            Assert.All(full.Values, values => Assert.Equal(Size, values.Length));

            var list = Traces(step, 1);
            Assert.Equal(["v"], list.Keys);
            Assert.Equal(new[] { 5, 1, 3, 1 }.Select(k => full["v"][k]), list["v"]);

            var range = Traces(step, 2);
            Assert.Equal(["i", "v"], range.Keys);
            Assert.Equal(full["i"][2..5], range["i"]);
            Assert.Equal(full["v"][2..5], range["v"]);

            var sparse = Traces(step, 3);
            if (t % 3 == 0)
            {
                Assert.Equal(full["v"], sparse["v"]);
                Assert.Equal(full["i"], sparse["i"]);
            }
            else
            {
                Assert.Empty(sparse);
            }

            Assert.Equal(full["v"][5..], Traces(step, 4)["v"]);
            Assert.Empty(Traces(step, 5)); // no variables: nothing recorded
        }

        // The last step's full recording is the state GetState reads.
        var state = await Client.GetStateAsync(new GetStateRequest { Network = spec.Name, Population = "n" }).Within();
        Assert.Equal((ulong)Steps, state.Step);
        var last = Traces(steps[^1], 0);
        Assert.Equal(last["v"], state.Variables[0].Values);
        Assert.Equal(last["i"], state.Variables[1].Values);

        // Some neurons spiked and some did not: the recording is not trivially flat.
        Assert.Contains(steps, s => s.Spikes.Count > 0);
        await run.EndAsync();
    }

    [Fact]
    public async Task Every_k_counts_the_instance_steps_not_the_stream_steps()
    {
        var spec = Feed(Names.Unique("every"), "sinabs.IAF", 2);
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();
        await using (var first = await Client.OpenRunAsync(new RunOpen { Network = spec.Name }).Within())
        {
            await first.AdvanceAsync(2).Within();
            await first.ReadStepsAsync(2);
            await first.EndAsync();
        }

        await using var run = await Client.OpenRunAsync(new RunOpen
        {
            Network = spec.Name,
            Record = { new RecordSpec { Population = "n", Variables = { "v_mem" }, Every = 4 } },
        }).Within();
        Assert.Equal(2UL, run.Opened!.Step);
        await run.AdvanceAsync(8).Within();
        var steps = await run.ReadStepsAsync(8);
        Assert.Equal([4UL, 8UL], steps.Where(s => s.States.Count > 0).Select(s => s.Step));
        await run.EndAsync();
    }

    [Fact]
    public async Task Spikes_from_picks_and_orders_populations()
    {
        var spec = new NetworkSpec
        {
            Name = Names.Unique("spk"),
            Populations =
            {
                Population("in", "input", 3),
                Population("a", "sinabs.IAF", 3),
                Population("b", "passthrough", 3),
            },
            Projections = { OneToOne("in_a", "in", "a"), OneToOne("a_b", "a", "b", 0.5f, 0.5f, 0.5f) },
        };
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();

        await using (var byDefault = await Client.OpenRunAsync(new RunOpen { Network = spec.Name }).Within())
        {
            Assert.Equal(["a", "b"], byDefault.Opened!.SpikePopulations);
            var step = await byDefault.StepAsync(Events("in", [1, 2], [1f, 2f]));
            Assert.Equal(new uint[] { 1, 2 }, step.SpikesOf(0).Indices);
            Assert.Equal(new[] { 1f, 2f }, step.SpikesOf(0).Values); // sinabs MultiSpike: v = 2 is two spikes
            Assert.Equal(new uint[] { 1, 2 }, step.SpikesOf(1).Indices);
            Assert.Equal(new[] { 0.5f, 1f }, step.SpikesOf(1).Values);
            await byDefault.EndAsync();
        }

        await using var chosen = await Client.OpenRunAsync(new RunOpen { Network = spec.Name, SpikesFrom = { "b", "in" } }).Within();
        Assert.Equal(["b", "in"], chosen.Opened!.SpikePopulations);
        var only = await chosen.StepAsync(Events("in", [0], [3f]));
        Assert.Equal(new uint[] { 0 }, only.SpikesOf(0).Indices);
        Assert.Equal(new[] { 1.5f }, only.SpikesOf(0).Values); // a MultiSpike of 3 times 0.5
        Assert.Equal(new uint[] { 0 }, only.SpikesOf(1).Indices);
        Assert.Equal(new[] { 3f }, only.SpikesOf(1).Values);
        await chosen.EndAsync();
    }

    /// <summary>The traces of record <paramref name="record"/> at a step, by variable, in message order.</summary>
    private static Dictionary<string, float[]> Traces(StepOutput step, uint record) =>
        step.States.Where(s => s.Record == record).ToDictionary(s => s.Variable, s => s.Values.ToArray());
}
