using Grpc.Core;
using Snn.Protos.V1;
using static Snn.FunctionalTests.Api.Specs;

namespace Snn.FunctionalTests.Api;

/// <summary>CreateNetwork, GetNetwork, ListNetworks and DeleteNetwork over the wire.</summary>
public sealed class NetworkLifecycleTests(ApiServerFixture server) : ApiTest(server)
{
    [Fact]
    public async Task Create_get_list_delete()
    {
        var spec = Feed(Names.Unique("life"), "sinabs.IAF", 3);
        var created = await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();
        Assert.Equal(spec.Name, created.Spec.Name);
        Assert.Equal(6UL, created.Neurons);
        Assert.Equal(3UL, created.Synapses);
        var instance = Assert.Single(created.Instances);
        Assert.Equal((0U, 0UL, false), (instance.Index, instance.Step, instance.Driven));

        var got = await Client.GetNetworkAsync(new GetNetworkRequest { Name = spec.Name }).Within();
        Assert.Equal(created, got);

        var other = Feed(Names.Unique("life"), "snntorch.Leaky", 2, 3, ("beta", Num(0.5)));
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = other }).Within();
        string[] ours = [spec.Name, other.Name];
        var listed = (await Client.ListNetworksAsync().Within()).Networks.Where(n => ours.Contains(n.Spec.Name)).ToList();
        Assert.Equal(new[] { spec.Name, other.Name }.Order(StringComparer.Ordinal), listed.Select(n => n.Spec.Name));
        Assert.Equal(got, listed.Single(n => n.Spec.Name == spec.Name));
        Assert.Equal([0U, 1U, 2U], listed.Single(n => n.Spec.Name == other.Name).Instances.Select(i => i.Index));

        await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = spec.Name }).Within();
        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.GetNetworkAsync(new GetNetworkRequest { Name = spec.Name }), spec.Name);
        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = spec.Name }), spec.Name);
        Assert.DoesNotContain((await Client.ListNetworksAsync().Within()).Networks, n => n.Spec.Name == spec.Name);

        // The name is free again.
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();
        await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = spec.Name }).Within();
        await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = other.Name }).Within();
    }

    [Fact]
    public async Task Get_reports_the_defaults_the_server_filled_in()
    {
        var spec = Feed(Names.Unique("life"), "norse.LIF", 2);
        var network = await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();

        Assert.Equal(0.001, network.Spec.Dt);
        Assert.Equal(1U, network.Spec.Instances);
        Assert.Equal(ClockMode.Lockstep, network.Spec.Clock);
        Assert.Equal(1.0, network.Spec.RealtimeFactor);
    }

    [Fact]
    public async Task Order_and_same_step_for_a_self_projection_and_a_back_edge()
    {
        // Declared out of order: b, a, in. in → a → b is the feed-forward path; b → a closes a cycle,
        // b → b is a self-projection: both deliver the previous step's spikes.
        var spec = new NetworkSpec
        {
            Name = Names.Unique("order"),
            Populations =
            {
                Population("b", "sinabs.IAF", 2),
                Population("a", "sinabs.IAF", 2),
                Population("in", "input", 2),
            },
            Projections =
            {
                OneToOne("in_a", "in", "a"),
                OneToOne("a_b", "a", "b"),
                Dense("b_a", "b", "a", [0.5f, 0, 0, 0.5f]),
                OneToOne("b_b", "b", "b", 0.25f, 0.25f),
            },
        };
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();

        var network = await Client.GetNetworkAsync(new GetNetworkRequest { Name = spec.Name }).Within();
        Assert.Equal(["in", "a", "b"], network.Order);
        Assert.Equal([true, true, false, false], network.SameStep);
        Assert.Equal(6UL, network.Neurons);
        Assert.Equal(2UL + 2 + 4 + 2, network.Synapses);

        // Behaviour agrees: a spike of "in" at step 0 reaches a and b at step 0 (same step) ...
        await using var run = await Client.OpenRunAsync(new RunOpen { Network = spec.Name, SpikesFrom = { "a", "b" } }).Within();
        var step0 = await run.StepAsync(Events("in", [1], [1f]));
        Assert.Equal([1U], step0.SpikesOf(0).Indices);
        Assert.Equal([1U], step0.SpikesOf(1).Indices);
        Assert.Empty(step0.Spikes.SelectMany(s => s.Values)); // all ones

        // ... and b's spike comes back to a and b only at step 1 (0.5 and 0.25: below threshold).
        var step1 = await run.StepAsync();
        Assert.Empty(step1.Spikes);
        await run.EndAsync();
        var a = await Client.GetStateAsync(new GetStateRequest { Network = spec.Name, Population = "a", Variables = { "v_mem" } }).Within();
        var b = await Client.GetStateAsync(new GetStateRequest { Network = spec.Name, Population = "b", Variables = { "v_mem" } }).Within();
        Assert.Equal([0f, 0.5f], a.Variables[0].Values);
        Assert.Equal([0f, 0.25f], b.Variables[0].Values);
    }

    [Fact]
    public async Task Include_weights_round_trips_dense_and_one_to_one_weights_and_per_neuron_parameters()
    {
        var spec = new NetworkSpec
        {
            Name = Names.Unique("weights"),
            Dt = 0.0005,
            Instances = 2,
            Populations =
            {
                Population("in", "input", 3),
                Population("hidden", "sinabs.LIF", 2,
                    ("tau_mem", PerNeuron(10f, 20.5f)), ("spike_threshold", Num(0.75)), ("spike_fn", Text("SingleSpike"))),
                Population("out", "snntorch.Leaky", 2,
                    ("beta", PerNeuron(0.25f, 0.9f)), ("reset_delay", Flag(false)), ("reset_mechanism", Text("zero"))),
            },
            Projections =
            {
                Dense("in_hidden", "in", "hidden", [0.5f, -1.25f, 2f, 0.125f, 3f, -0.0625f], [0.1f, -0.2f]),
                OneToOne("hidden_out", "hidden", "out", 1.5f, -2.5f),
                Dense("out_hidden", "out", "hidden", [1f, 2f, 3f, 4f]),
            },
        };
        spec.Populations[0].Shape.Add([1, 3]);
        spec.Projections[2].BiasOnFirstStep = false;
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();

        var full = await Client.GetNetworkAsync(new GetNetworkRequest { Name = spec.Name, IncludeWeights = true }).Within();
        var expected = spec.Clone();
        expected.Clock = ClockMode.Lockstep;
        expected.RealtimeFactor = 1;
        Assert.Equal(expected, full.Spec);
        Assert.Equal([true, true, false], full.SameStep);

        // Without include_weights: the same structure, no weights, per-neuron parameters without values.
        var light = await Client.GetNetworkAsync(new GetNetworkRequest { Name = spec.Name }).Within();
        Assert.Empty(light.Spec.Projections[0].Dense.Weights);
        Assert.Empty(light.Spec.Projections[0].Dense.Bias);
        Assert.Equal(ProjectionSpec.KindOneofCase.OneToOne, light.Spec.Projections[1].KindCase);
        Assert.Empty(light.Spec.Projections[1].OneToOne.Weights);
        Assert.Equal(ParameterValue.ValueOneofCase.PerNeuron, light.Spec.Populations[1].Params["tau_mem"].ValueCase);
        Assert.Empty(light.Spec.Populations[1].Params["tau_mem"].PerNeuron.Values);
        Assert.Equal(Num(0.75), light.Spec.Populations[1].Params["spike_threshold"]);
        Assert.Equal(Text("zero"), light.Spec.Populations[2].Params["reset_mechanism"]);
        Assert.Equal(Flag(false), light.Spec.Populations[2].Params["reset_delay"]);
        var listed = (await Client.ListNetworksAsync().Within()).Networks.Single(n => n.Spec.Name == spec.Name);
        Assert.Equal(light, listed);
    }

    [Fact]
    public async Task Duplicate_name_is_ALREADY_EXISTS_and_leaves_the_first_network_alone()
    {
        var spec = Feed(Names.Unique("dup"), "sinabs.IAF", 2);
        var first = await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();

        var again = Feed(spec.Name, "norse.LIF", 5);
        await Rpc.FailsAsync(StatusCode.AlreadyExists, () => Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = again }), $"'{spec.Name}'");

        Assert.Equal(first, await Client.GetNetworkAsync(new GetNetworkRequest { Name = spec.Name }).Within());
    }

    [Fact]
    public async Task Instances_report_their_step_and_driver()
    {
        var spec = Relay(Names.Unique("inst"), instances: 2);
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();

        await using var run = await Client.OpenRunAsync(new RunOpen { Network = spec.Name, Instance = 1 }).Within();
        await run.AdvanceAsync(3).Within();
        await run.ReadStepsAsync(3);

        var network = await Client.GetNetworkAsync(new GetNetworkRequest { Name = spec.Name }).Within();
        Assert.Equal([(0U, 0UL, false), (1U, 3UL, true)], network.Instances.Select(i => (i.Index, i.Step, i.Driven)));

        await run.EndAsync();
        network = await Client.GetNetworkAsync(new GetNetworkRequest { Name = spec.Name }).Within();
        Assert.Equal([(0U, 0UL, false), (1U, 3UL, false)], network.Instances.Select(i => (i.Index, i.Step, i.Driven)));
    }

    [Fact]
    public async Task Deleting_a_network_ends_its_open_streams_with_ABORTED()
    {
        var spec = Relay(Names.Unique("del"), instances: 2);
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();
        var witnessNetwork = Relay(Names.Unique("del-witness"));
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = witnessNetwork }).Within();
        await using var witness = await Witness.OpenAsync(Client, witnessNetwork.Name, 0);

        await using var run0 = await Client.OpenRunAsync(new RunOpen { Network = spec.Name, Instance = 0 }).Within();
        await using var run1 = await Client.OpenRunAsync(new RunOpen { Network = spec.Name, Instance = 1 }).Within();
        Assert.Equal(0UL, (await run0.StepAsync()).Step);

        await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = spec.Name }).Within();

        await run0.EndsWithAsync(StatusCode.Aborted, spec.Name);
        await run1.EndsWithAsync(StatusCode.Aborted, spec.Name);
        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.OpenRunAsync(new RunOpen { Network = spec.Name }), spec.Name);
        await witness.CloseAsync();
    }
}
