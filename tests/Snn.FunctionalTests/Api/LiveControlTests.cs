using Grpc.Core;
using Snn.Protos.V1;
using static Snn.FunctionalTests.Api.Specs;

namespace Snn.FunctionalTests.Api;

/// <summary>SetParameters, ResetState and GetState while Run streams are open.</summary>
public sealed class LiveControlTests(ApiServerFixture server) : ApiTest(server)
{
    [Fact]
    public async Task SetParameters_threshold_takes_effect_at_the_next_step_and_keeps_the_state()
    {
        var spec = Feed(Names.Unique("thr"), "sinabs.IAF", 2, 1, ("spike_threshold", Num(1)));
        await CreateAsync(spec);
        await using var run = await Client.OpenRunAsync(new RunOpen { Network = spec.Name }).Within();
        var pulse = Events("in", [0], [1.5f]);

        // v = 1.5 → one spike, v = 0.5.
        Assert.Equal(new[] { 0U }, (await run.StepAsync(pulse)).SpikesOf().Indices);

        var set = await SetAsync(spec.Name, PopulationChange("n", ("spike_threshold", Num(100))));
        Assert.Equal(1UL, set.EffectiveStep);

        // v = 2, 3.5, 5: below 100, no spikes.
        for (int k = 0; k < 3; k++)
        {
            var step = await run.StepAsync(pulse);
            Assert.Equal((ulong)(1 + k), step.Step);
            Assert.Empty(step.Spikes);
        }

        Assert.Equal(Num(100), (await GetAsync(spec.Name)).Spec.Populations[1].Params["spike_threshold"]);

        // Back to 1 without input: v = 5 gives a MultiSpike of 5, from exactly the next step.
        Assert.Equal(4UL, (await SetAsync(spec.Name, PopulationChange("n", ("spike_threshold", Num(1))))).EffectiveStep);
        var after = await run.StepAsync();
        Assert.Equal(4UL, after.Step);
        Assert.Equal([0U], after.SpikesOf().Indices);
        Assert.Equal([5f], after.SpikesOf().Values);
        await run.EndAsync();
    }

    [Fact]
    public async Task SetParameters_per_neuron_values_and_merge_with_the_others()
    {
        var spec = Feed(Names.Unique("pern"), "sinabs.IAF", 3, 1, ("spike_threshold", Num(1)), ("spike_fn", Text("SingleSpike")));
        await CreateAsync(spec);
        await using var run = await Client.OpenRunAsync(new RunOpen { Network = spec.Name }).Within();
        var all = Events("in", [0, 1, 2], [1.5f, 1.5f, 1.5f]);
        Assert.Equal(new[] { 0U, 1U, 2U }, (await run.StepAsync(all)).SpikesOf().Indices);

        await SetAsync(spec.Name, PopulationChange("n", ("spike_threshold", PerNeuron(1, 100, 1))));
        Assert.Equal(new[] { 0U, 2U }, (await run.StepAsync(all)).SpikesOf().Indices);
        await run.EndAsync();

        var network = await Client.GetNetworkAsync(new GetNetworkRequest { Name = spec.Name, IncludeWeights = true }).Within();
        var parameters = network.Spec.Populations[1].Params;
        Assert.Equal(PerNeuron(1, 100, 1), parameters["spike_threshold"]);
        Assert.Equal(Text("SingleSpike"), parameters["spike_fn"]); // untouched parameters keep their values
    }

    [Fact]
    public async Task SetParameters_dense_weights_and_bias()
    {
        // "in" (2) → "out" (3, passthrough): out's output is exactly W·x + b.
        var spec = new NetworkSpec
        {
            Name = Names.Unique("dense"),
            Populations = { Population("in", "input", 2), Population("out", "passthrough", 3) },
            Projections = { Dense("w", "in", "out", [1f, 0.5f, -1f, 2f, 0.25f, 0f], [0.5f, -0.5f, 1f]) },
        };
        await CreateAsync(spec);
        await using var run = await Client.OpenRunAsync(new RunOpen { Network = spec.Name }).Within();
        var x = Events("in", [0, 1], [1f, 2f]);
        Assert.Equal(new[] { 2.5f, 2.5f, 1.25f }, Outputs(await run.StepAsync(x), 3));

        await SetAsync(spec.Name, WeightChange("w", [2f, 0f, 0f, 1f, -1f, 1f], [0f, 0.5f, -0.25f]));
        Assert.Equal(new[] { 2f, 2.5f, 0.75f }, Outputs(await run.StepAsync(x), 3));

        // Bias only: the weights stay.
        await SetAsync(spec.Name, WeightChange("w", [], [1f, 1f, 1f]));
        Assert.Equal(new[] { 3f, 3f, 2f }, Outputs(await run.StepAsync(x), 3));

        // Weights only: the bias stays.
        await SetAsync(spec.Name, WeightChange("w", [0f, 1f, 1f, 0f, 0f, 0f], []));
        Assert.Equal(new[] { 3f, 2f, 1f }, Outputs(await run.StepAsync(x), 3));
        await run.EndAsync();

        var dense = (await GetAsync(spec.Name)).Spec.Projections[0].Dense;
        Assert.Equal([0f, 1f, 1f, 0f, 0f, 0f], dense.Weights);
        Assert.Equal([1f, 1f, 1f], dense.Bias);
    }

    [Fact]
    public async Task SetParameters_one_to_one_weights()
    {
        var spec = new NetworkSpec
        {
            Name = Names.Unique("o2o"),
            Populations = { Population("in", "input", 3), Population("out", "passthrough", 3) },
            Projections = { OneToOne("w", "in", "out", 1f, 2f, 3f) },
        };
        await CreateAsync(spec);
        await using var run = await Client.OpenRunAsync(new RunOpen { Network = spec.Name }).Within();
        var ones = Events("in", [0, 1, 2]);
        Assert.Equal(new[] { 1f, 2f, 3f }, Outputs(await run.StepAsync(ones), 3));

        await SetAsync(spec.Name, WeightChange("w", [4f, -5f, 0.5f], []));
        Assert.Equal(new[] { 4f, -5f, 0.5f }, Outputs(await run.StepAsync(ones), 3));
        await run.EndAsync();
        Assert.Equal([4f, -5f, 0.5f], (await GetAsync(spec.Name)).Spec.Projections[0].OneToOne.Weights);
    }

    [Fact]
    public async Task SetParameters_with_one_bad_entry_changes_nothing()
    {
        var spec = new NetworkSpec
        {
            Name = Names.Unique("atomic"),
            Populations =
            {
                Population("in", "input", 2),
                Population("a", "sinabs.IAF", 2, ("spike_threshold", Num(1))),
                Population("b", "snntorch.Leaky", 2, ("beta", Num(0.5))),
            },
            Projections = { OneToOne("in_a", "in", "a"), Dense("a_b", "a", "b", [1f, 0f, 0f, 1f], [0f, 0f]) },
        };
        await CreateAsync(spec);
        var before = await GetAsync(spec.Name);
        await using var run = await Client.OpenRunAsync(new RunOpen { Network = spec.Name, SpikesFrom = { "a" } }).Within();
        Assert.Equal(new[] { 0U }, (await run.StepAsync(Events("in", [0], [1.5f]))).SpikesOf().Indices);

        // A valid threshold change, a valid weight change and one bad entry, in every position.
        SetParametersRequest[] requests =
        [
            Request(spec.Name, [PopulationChange("a", ("spike_threshold", Num(50))), PopulationChange("b", ("threshold", Num(-1)))],
                [WeightChange("a_b", [2f, 2f, 2f, 2f], [1f, 1f])]),
            Request(spec.Name, [PopulationChange("a", ("spike_threshold", Num(50)))],
                [WeightChange("a_b", [2f, 2f, 2f, 2f], [1f, 1f]), WeightChange("in_a", [1f, 2f, 3f], [])]),
            Request(spec.Name, [PopulationChange("b", ("beta", Num(0.25))), PopulationChange("a", ("no_such", Num(1)))], []),
            Request(spec.Name, [PopulationChange("a", ("spike_threshold", Num(50))), PopulationChange("nope", ("beta", Num(0.25)))], []),
            Request(spec.Name, [PopulationChange("a", ("spike_threshold", Num(50)))], [WeightChange("nope", [1f], [])]),
        ];
        foreach (var request in requests)
        {
            await Assert.ThrowsAsync<RpcException>(() => Client.SetParametersAsync(request).Within());
        }

        Assert.Equal(before.Spec, (await GetAsync(spec.Name)).Spec);

        // Behaviour agrees: threshold 1 still (v = 0.5 + 1.5 = 2 → a MultiSpike of 2).
        var step = await run.StepAsync(Events("in", [0], [1.5f]));
        Assert.Equal([0U], step.SpikesOf().Indices);
        Assert.Equal([2f], step.SpikesOf().Values);
        await run.EndAsync();
    }

    [Fact]
    public async Task SetParameters_errors()
    {
        var spec = new NetworkSpec
        {
            Name = Names.Unique("seterr"),
            Populations = { Population("in", "input", 2), Population("a", "sinabs.IAF", 2), Population("b", "passthrough", 3) },
            Projections = { OneToOne("in_a", "in", "a"), Dense("a_b", "a", "b", new float[6]) },
        };
        await CreateAsync(spec);
        string n = spec.Name;

        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.SetParametersAsync(new SetParametersRequest { Network = "no-such-net" }), "'no-such-net'");
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => Client.SetParametersAsync(new SetParametersRequest()), "network");
        await Rpc.FailsAsync(StatusCode.NotFound, () => SetAsync(n, PopulationChange("nope", ("x", Num(1)))),
            "populations[0].population 'nope'");
        await Rpc.FailsAsync(StatusCode.NotFound, () => SetAsync(n, WeightChange("nope", [1f], [])),
            "projections[0].projection 'nope'");
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => SetAsync(n, PopulationChange("a", ("spike_threshold", Num(-1)))),
            "populations[0].params.spike_threshold", "'spike_threshold' = -1", "allowed: > 0");
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => SetAsync(n, PopulationChange("a", ("spike_threshold", Num(double.NaN)))),
            "populations[0].params.spike_threshold", "finite");
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => SetAsync(n, PopulationChange("a", ("spike_threshold", PerNeuron(1, 2, 3)))),
            "populations[0].params.spike_threshold", "3 values", "(2)");
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => SetAsync(n, PopulationChange("a", ("reset_fn", Text("Explode")))),
            "populations[0].params.reset_fn", "\"MembraneSubtract\", \"MembraneReset\"");
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => SetAsync(n, PopulationChange("a", ("tau", Num(1)))),
            "populations[0].params.tau", "has no parameter 'tau'");
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => SetAsync(n, PopulationChange("b", ("beta", Num(1)))),
            "populations[0].params.beta", "model 'passthrough'");
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => SetAsync(n, WeightChange("a_b", [1f, 2f, 3f], [])),
            "projections[0].weights has 3 values", "3*2 = 6");
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => SetAsync(n, WeightChange("a_b", [], [1f, 2f])),
            "projections[0].bias has 2 values", "(3)");
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => SetAsync(n, WeightChange("a_b", [1f, 2f, 3f, 4f, 5f, float.NaN], [])),
            "projections[0].weights[5]", "NaN");
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => SetAsync(n, WeightChange("in_a", [1f, 2f, 3f], [])),
            "projections[0].weights has 3 values", "(2)");
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => SetAsync(n, WeightChange("in_a", [], [1f, 1f])),
            "projections[0].bias", "no bias");
    }

    [Fact]
    public async Task ResetState_of_one_instance_and_of_all_returns_to_the_initial_state_at_step_0()
    {
        // norse.LIF starts at v = v_leak, i = 0.
        float[] vLeak = [0.25f, -0.5f, 0f];
        var spec = Feed(Names.Unique("reset"), "norse.LIF", 3, 2, ("v_leak", PerNeuron(vLeak)));
        await CreateAsync(spec);
        await ExpectInitialAsync(spec.Name, 0);
        await ExpectInitialAsync(spec.Name, 1);

        await using var run0 = await Client.OpenRunAsync(new RunOpen { Network = spec.Name, Instance = 0 }).Within();
        await using var run1 = await Client.OpenRunAsync(new RunOpen { Network = spec.Name, Instance = 1 }).Within();
        GetStateResponse? afterFirstStep1 = null;
        for (int k = 0; k < 3; k++)
        {
            await run0.StepAsync(Current("n", 20f, 10f, 5f));
            await run1.StepAsync(Current("n", 5f, 10f, 20f));
            afterFirstStep1 ??= await StateAsync(spec.Name, 1);
        }

        var state0 = await StateAsync(spec.Name, 0);
        var state1 = await StateAsync(spec.Name, 1);
        Assert.Equal(3UL, state0.Step);
        Assert.NotEqual(vLeak, state1.Variables[0].Values);

        await Client.ResetStateAsync(new ResetStateRequest { Network = spec.Name, Instance = 1 }).Within();
        await ExpectInitialAsync(spec.Name, 1);
        Assert.Equal(state0, await StateAsync(spec.Name, 0)); // the other instance is untouched
        Assert.Equal([3UL, 0UL], (await GetAsync(spec.Name)).Instances.Select(i => i.Step));

        // The open stream goes on from step 0 with the reset state: the same trace as the first time.
        var again = await run1.StepAsync(Current("n", 5f, 10f, 20f));
        Assert.Equal(0UL, again.Step);
        Assert.Equal(afterFirstStep1, await StateAsync(spec.Name, 1));

        await Client.ResetStateAsync(new ResetStateRequest { Network = spec.Name }).Within();
        await ExpectInitialAsync(spec.Name, 0);
        await ExpectInitialAsync(spec.Name, 1);
        Assert.Equal(0UL, (await run0.StepAsync()).Step);
        await run0.EndAsync();
        await run1.EndAsync();

        // RunOpen.reset does the same for its instance.
        await using var run = await Client.OpenRunAsync(new RunOpen { Network = spec.Name, Instance = 0, Reset = true }).Within();
        Assert.Equal(0UL, run.Opened!.Step);
        await ExpectInitialAsync(spec.Name, 0);
        await run.EndAsync();

        async Task ExpectInitialAsync(string network, uint instance)
        {
            var state = await StateAsync(network, instance);
            Assert.Equal(0UL, state.Step);
            Assert.Equal(["v", "i"], state.Variables.Select(v => v.Variable));
            Assert.Equal(vLeak, state.Variables[0].Values);
            Assert.Equal([0f, 0f, 0f], state.Variables[1].Values);
        }
    }

    [Fact]
    public async Task ResetState_errors()
    {
        var spec = Relay(Names.Unique("reseterr"), instances: 2);
        await CreateAsync(spec);

        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.ResetStateAsync(new ResetStateRequest { Network = "no-such-net" }), "'no-such-net'");
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => Client.ResetStateAsync(new ResetStateRequest()), "network");
        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.ResetStateAsync(new ResetStateRequest { Network = spec.Name, Instance = 2 }),
            "instance 2", "2 instance(s)");
    }

    [Fact]
    public async Task GetState_after_some_steps_equals_the_last_recorded_step()
    {
        var spec = Feed(Names.Unique("state"), "norse.LIF", 5, 2, ("v_th", Num(0.05)));
        await CreateAsync(spec);
        await using var run = await Client.OpenRunAsync(new RunOpen
        {
            Network = spec.Name,
            Instance = 1,
            Record = { new RecordSpec { Population = "n", Variables = { "*" } } },
        }).Within();
        await run.AdvanceAsync(2, [Current("n", 10f, 20f, 30f, 40f, 50f), Events("in", [1, 3], [5f, 7f], offset: 1)]).Within();
        await run.AdvanceAsync(2, [Events("n", [0, 4], [3f, 1f])]).Within();
        var steps = await run.ReadStepsAsync(4);
        Assert.Equal([0UL, 1UL, 2UL, 3UL], steps.Select(s => s.Step));
        var last = steps[^1].States.ToDictionary(t => t.Variable, t => t.Values.ToArray());

        var all = await Client.GetStateAsync(new GetStateRequest { Network = spec.Name, Instance = 1, Population = "n" }).Within();
        Assert.Equal(4UL, all.Step);
        Assert.Equal(["v", "i"], all.Variables.Select(v => v.Variable));
        Assert.Equal(last["v"], all.Variables[0].Values);
        Assert.Equal(last["i"], all.Variables[1].Values);

        var some = await Client.GetStateAsync(new GetStateRequest
        {
            Network = spec.Name,
            Instance = 1,
            Population = "n",
            Variables = { "i", "v" },
            Neurons = { 4, 0, 2, 0 },
        }).Within();
        Assert.Equal(4UL, some.Step);
        Assert.Equal(["i", "v"], some.Variables.Select(v => v.Variable));
        uint[] neurons = [4, 0, 2, 0];
        Assert.Equal(neurons.Select(k => last["i"][k]), some.Variables[0].Values);
        Assert.Equal(neurons.Select(k => last["v"][k]), some.Variables[1].Values);

        // The other instance has not moved.
        var other = await Client.GetStateAsync(new GetStateRequest { Network = spec.Name, Instance = 0, Population = "n", Variables = { "i" } }).Within();
        Assert.Equal(0UL, other.Step);
        Assert.Equal(new float[5], other.Variables.Single().Values);

        // A population without state variables has none to report.
        var input = await Client.GetStateAsync(new GetStateRequest { Network = spec.Name, Instance = 1, Population = "in" }).Within();
        Assert.Equal(4UL, input.Step);
        Assert.Empty(input.Variables);
        await run.EndAsync();
    }

    [Fact]
    public async Task GetState_errors()
    {
        var spec = Feed(Names.Unique("staterr"), "norse.LIF", 3, 2);
        await CreateAsync(spec);
        string n = spec.Name;

        await Rpc.FailsAsync(StatusCode.InvalidArgument,
            () => Client.GetStateAsync(new GetStateRequest { Network = n, Population = "n", Variables = { "v", "w" } }),
            "variables[1] 'w'", "norse.LIF", "v, i");
        await Rpc.FailsAsync(StatusCode.InvalidArgument,
            () => Client.GetStateAsync(new GetStateRequest { Network = n, Population = "n", Neurons = { 0, 3 } }),
            "neurons[1] = 3 is out of range", "3 neurons");
        await Rpc.FailsAsync(StatusCode.NotFound,
            () => Client.GetStateAsync(new GetStateRequest { Network = n, Instance = 2, Population = "n" }),
            "instance 2", "2 instance(s)");
        await Rpc.FailsAsync(StatusCode.NotFound,
            () => Client.GetStateAsync(new GetStateRequest { Network = n, Population = "nope" }),
            "population 'nope'");
        await Rpc.FailsAsync(StatusCode.NotFound,
            () => Client.GetStateAsync(new GetStateRequest { Network = "no-such-net", Population = "n" }),
            "'no-such-net'");
        await Rpc.FailsAsync(StatusCode.InvalidArgument,
            () => Client.GetStateAsync(new GetStateRequest { Population = "n" }),
            "network");
    }

    private async Task CreateAsync(NetworkSpec spec) =>
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();

    private Task<Network> GetAsync(string name) =>
        Client.GetNetworkAsync(new GetNetworkRequest { Name = name, IncludeWeights = true }).Within();

    private Task<GetStateResponse> StateAsync(string network, uint instance) =>
        Client.GetStateAsync(new GetStateRequest { Network = network, Instance = instance, Population = "n" }).Within();

    private Task<SetParametersResponse> SetAsync(string network, PopulationParameters change) =>
        Client.SetParametersAsync(Request(network, [change], [])).Within();

    private Task<SetParametersResponse> SetAsync(string network, ProjectionWeights change) =>
        Client.SetParametersAsync(Request(network, [], [change])).Within();

    private static SetParametersRequest Request(string network, PopulationParameters[] populations, ProjectionWeights[] projections) =>
        new() { Network = network, Populations = { populations }, Projections = { projections } };

    private static PopulationParameters PopulationChange(string population, params (string Name, ParameterValue Value)[] parameters)
    {
        var change = new PopulationParameters { Population = population };
        foreach (var (name, value) in parameters)
        {
            change.Params[name] = value;
        }

        return change;
    }

    private static ProjectionWeights WeightChange(string projection, float[] weights, float[] bias) =>
        new() { Projection = projection, Weights = { weights }, Bias = { bias } };

    /// <summary>The output of a passthrough population at a step as a dense vector (0 where it emitted nothing).</summary>
    private static float[] Outputs(StepOutput step, int size)
    {
        var dense = new float[size];
        var (indices, values) = step.SpikesOf();
        for (int k = 0; k < indices.Length; k++)
        {
            dense[indices[k]] = values[k];
        }

        return dense;
    }
}
