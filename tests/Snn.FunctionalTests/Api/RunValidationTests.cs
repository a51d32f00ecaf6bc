using Grpc.Core;
using Snn.Protos.V1;
using static Snn.FunctionalTests.Api.Specs;

namespace Snn.FunctionalTests.Api;

/// <summary>
/// Run refuses bad opens and bad requests with the exact status and a message naming the field. A
/// refused request executes nothing, the instance is free again as soon as the status arrives, and
/// a stream driving another instance of the same network keeps stepping correctly throughout.
/// </summary>
public sealed class RunValidationTests(ApiServerFixture server) : ApiTest(server)
{
    private sealed record BadOpen(Func<string, RunOpen?> Open, StatusCode Code, params string[] Fragments);

    private sealed record BadRequest(Func<RunRequest> Request, StatusCode Code, params string[] Fragments);

    /// <summary>First requests that are refused. The network (argument) is <see cref="CreateAsync"/>'s.</summary>
    private static readonly Dictionary<string, BadOpen> s_badOpens = new()
    {
        ["no open in the first request"] = new(_ => null, StatusCode.InvalidArgument, "first RunRequest must carry open"),
        ["missing network"] = new(_ => new RunOpen { Network = "no-such-network" }, StatusCode.NotFound, "'no-such-network'"),
        ["empty network name"] = new(_ => new RunOpen(), StatusCode.InvalidArgument, "open.network"),
        ["missing instance"] = new(n => new RunOpen { Network = n, Instance = 2 }, StatusCode.NotFound,
            "open.instance 2", "2 instance(s)"),
        ["unknown spikes_from population"] = new(n => new RunOpen { Network = n, SpikesFrom = { "out", "nope" } }, StatusCode.NotFound,
            "open.spikes_from[1]", "'nope'"),
        ["record of an unknown population"] = new(n => new RunOpen { Network = n, Record = { new RecordSpec { Population = "nope", Variables = { "*" } } } },
            StatusCode.NotFound, "open.record[0].population", "'nope'"),
        ["record of a variable the model does not have"] = new(
            n => new RunOpen { Network = n, Record = { new RecordSpec { Population = "lif", Variables = { "v_mem", "mem" } } } },
            StatusCode.InvalidArgument, "open.record[0].variables[1]", "'mem'", "sinabs.IAF", "v_mem, i_syn"),
        ["record of a variable of a stateless model"] = new(
            n => new RunOpen { Network = n, Record = { new RecordSpec { Population = "out", Variables = { "v" } } } },
            StatusCode.InvalidArgument, "open.record[0].variables[0]", "'v'", "none"),
        ["record of a neuron out of range"] = new(
            n => new RunOpen { Network = n, Record = { new RecordSpec { Population = "lif", Variables = { "*" }, Indices = new IndexList { Values = { 0, 4 } } } } },
            StatusCode.InvalidArgument, "open.record[0].indices.values[1] = 4", "4 neurons"),
        ["record of an empty range"] = new(
            n => new RunOpen { Network = n, Record = { new RecordSpec { Population = "lif", Variables = { "*" }, Range = new IndexRange { Start = 2, End = 2 } } } },
            StatusCode.InvalidArgument, "open.record[0].range [2, 2)"),
        ["record of a range past the end"] = new(
            n => new RunOpen { Network = n, Record = { new RecordSpec { Population = "lif", Variables = { "*" }, Range = new IndexRange { Start = 1, End = 5 } } } },
            StatusCode.InvalidArgument, "open.record[0].range [1, 5)"),
    };

    /// <summary>Requests after a good open that end the stream.</summary>
    private static readonly Dictionary<string, BadRequest> s_badRequests = new()
    {
        ["input for a population that does not exist"] = new(() => Advance(Events("nope", [0])), StatusCode.NotFound,
            "inputs[0].population 'nope'"),
        ["neuron index out of range"] = new(() => Advance(Events("in", [1]), Events("lif", [0, 4])), StatusCode.InvalidArgument,
            "inputs[1].indices[1] = 4 is out of range", "0..3"),
        ["values length mismatch"] = new(() => Advance(Events("in", [0], [1f, 2f])), StatusCode.InvalidArgument,
            "inputs[0].values has 2 entries but indices has 1"),
        ["values without indices"] = new(() => Advance(new Input { Population = "in", Values = { 1f } }), StatusCode.InvalidArgument,
            "inputs[0].values"),
        ["NaN event value"] = new(() => Advance(Events("lif", [0, 1], [1f, float.NaN])), StatusCode.InvalidArgument,
            "inputs[0].values[1]", "NaN"),
        ["current of wrong length"] = new(() => Advance(Current("lif", 1f, 2f, 3f)), StatusCode.InvalidArgument,
            "inputs[0].current has 3 values", "'lif' has 4 neurons"),
        ["infinite current"] = new(() => Advance(Current("lif", 1f, 2f, float.PositiveInfinity, 0f)), StatusCode.InvalidArgument,
            "inputs[0].current[2]"),
        ["current and indices together"] = new(() => Advance(new Input { Population = "lif", Current = { 1f, 1f, 1f, 1f }, Indices = { 0 } }),
            StatusCode.InvalidArgument, "inputs[0]", "both current and indices"),
        ["offset beyond the input horizon"] = new(() => Advance(Events("in", [0], offset: 1024)), StatusCode.InvalidArgument,
            "inputs[0].offset is 1024", "1023"),
        ["open in a later request"] = new(() => new RunRequest { Open = new RunOpen { Network = "x" }, Advance = 1 }, StatusCode.InvalidArgument,
            "open is only allowed in the first RunRequest"),
    };

    public static TheoryData<string> BadOpens => new(s_badOpens.Keys);

    public static TheoryData<string> BadRequests => new(s_badRequests.Keys);

    [Theory]
    [MemberData(nameof(BadOpens))]
    public async Task Bad_open_is_refused_and_other_streams_keep_stepping(string name)
    {
        var bad = s_badOpens[name];
        string network = await CreateAsync();
        await using var witness = await Witness.OpenAsync(Client, network, 1);

        await using (var run = Client.Run())
        {
            var open = bad.Open(network);
            await run.SendAsync(open is null ? new RunRequest { Advance = 1 } : new RunRequest { Open = open }).Within();
            await run.EndsWithAsync(bad.Code, bad.Fragments);
        }

        await witness.CheckAsync();
        await ExpectInstanceZeroAtAsync(network, 0);
        await witness.CloseAsync();
    }

    [Fact]
    public async Task Stream_that_ends_before_its_first_request_is_INVALID_ARGUMENT()
    {
        string network = await CreateAsync();
        await using var witness = await Witness.OpenAsync(Client, network, 1);

        await using (var run = Client.Run())
        {
            await run.CompleteAsync().Within();
            await run.EndsWithAsync(StatusCode.InvalidArgument, "send a RunRequest with open first");
        }

        await witness.CloseAsync();
    }

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_request_ends_the_stream_executes_nothing_and_other_streams_keep_stepping(string name)
    {
        var bad = s_badRequests[name];
        string network = await CreateAsync();
        await using var witness = await Witness.OpenAsync(Client, network, 1);

        await using (var run = await Client.OpenRunAsync(new RunOpen { Network = network, Instance = 0 }).Within())
        {
            Assert.Equal(0UL, (await run.StepAsync(Events("in", [2]))).Step);
            await witness.CheckAsync();
            await run.SendAsync(bad.Request()).Within();
            await run.EndsWithAsync(bad.Code, bad.Fragments);
        }

        await witness.CheckAsync();

        // The refused request's advance was not executed: the instance is at step 1, free for a new driver.
        await ExpectInstanceZeroAtAsync(network, 1);
        await witness.CloseAsync();
    }

    [Fact]
    public async Task Bad_input_in_the_first_request_is_answered_after_opened()
    {
        string network = await CreateAsync();
        await using var witness = await Witness.OpenAsync(Client, network, 1);

        await using (var run = Client.Run())
        {
            var first = Advance(Events("in", [7]));
            first.Open = new RunOpen { Network = network };
            await run.SendAsync(first).Within();
            await run.EndsWithAsync(StatusCode.InvalidArgument, "inputs[0].indices[0] = 7");
        }

        await witness.CheckAsync();
        await ExpectInstanceZeroAtAsync(network, 0);
        await witness.CloseAsync();
    }

    [Fact]
    public async Task Second_driver_is_ALREADY_EXISTS_while_the_first_keeps_working()
    {
        string network = await CreateAsync();
        await using var first = await Witness.OpenAsync(Client, network, 0);

        await Rpc.FailsAsync(StatusCode.AlreadyExists, () => Client.OpenRunAsync(new RunOpen { Network = network, Instance = 0 }),
            "instance 0", $"'{network}'", "already has a driver");
        await first.CheckAsync();

        // From another client (connection) too; and another instance is free.
        using var other = Server.CreateClient();
        await Rpc.FailsAsync(StatusCode.AlreadyExists, () => other.OpenRunAsync(new RunOpen { Network = network, Instance = 0 }));
        await first.CheckAsync();
        await using (var second = await Witness.OpenAsync(other, network, 1))
        {
            await first.CheckAsync();
            await second.CloseAsync();
        }

        await first.CloseAsync();
    }

    private static RunRequest Advance(params Input[] inputs) => new() { Inputs = { inputs }, Advance = 1 };

    /// <summary>"in" (input, 4) → "out" (passthrough, 4) and "in" → "lif" (sinabs.IAF, 4); two instances.</summary>
    private async Task<string> CreateAsync()
    {
        var spec = Relay(Names.Unique("runbad"), instances: 2);
        spec.Populations.Add(Population("lif", "sinabs.IAF", 4));
        spec.Projections.Add(OneToOne("in_lif", "in", "lif"));
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();
        return spec.Name;
    }

    /// <summary>Opens instance 0 right away (no retry: a refused call has released it before its status is sent).</summary>
    private async Task ExpectInstanceZeroAtAsync(string network, ulong step)
    {
        await using var run = await Client.OpenRunAsync(new RunOpen { Network = network, Instance = 0 }).Within();
        Assert.Equal(step, run.Opened!.Step);
        Assert.Equal(step, (await run.StepAsync()).Step);
        await run.EndAsync();
    }
}
