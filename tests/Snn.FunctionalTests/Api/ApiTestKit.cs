using Google.Protobuf;
using Grpc.Core;
using Snn.Client;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Api;

/// <summary>Every await of the API tests has a generous timeout: a hang fails the test instead of stalling the run.</summary>
internal static class ApiTimeouts
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    public static Task Within(this Task task) => task.WaitAsync(Default);

    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Default);

    public static Task Within(this ValueTask task) => task.AsTask().WaitAsync(Default);
}

/// <summary>Assertions on gRPC statuses.</summary>
internal static class Rpc
{
    /// <summary>
    /// Runs <paramref name="call"/> and asserts it fails with <paramref name="code"/> and a message
    /// containing every one of <paramref name="fragments"/> (ordinal).
    /// </summary>
    public static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call, params string[] fragments)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => call().Within());
        Assert.True(e.StatusCode == code, $"expected {code}, got {e.StatusCode}: {e.Status.Detail}");
        foreach (var fragment in fragments)
        {
            Assert.True(e.Status.Detail.Contains(fragment, StringComparison.Ordinal),
                $"the message of {e.StatusCode} does not contain \"{fragment}\": {e.Status.Detail}");
        }

        return e;
    }
}

/// <summary>Calls a method by name with any message types (unknown methods, raw bytes).</summary>
internal static class RawCall
{
    public static Task<TResponse> UnaryAsync<TRequest, TResponse>(CallInvoker invoker, string service, string method, TRequest request,
        MessageParser<TResponse> parser, CallOptions options = default)
        where TRequest : class, IMessage
        where TResponse : class, IMessage<TResponse>
    {
        var declared = new Method<TRequest, TResponse>(MethodType.Unary, service, method,
            Marshallers.Create<TRequest>(m => m.ToByteArray(), _ => throw new NotSupportedException()),
            Marshallers.Create(_ => throw new NotSupportedException(), parser.ParseFrom));
        return invoker.AsyncUnaryCall(declared, null, options, request).ResponseAsync;
    }
}

/// <summary>Names unique on a server shared by the tests of a class.</summary>
internal static class Names
{
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}

/// <summary>Builders for specs, parameters and inputs.</summary>
internal static class Specs
{
    /// <summary>The parameters a model needs besides its defaults (the catalogue's required ones), with test values.</summary>
    public static (string, ParameterValue)[] Required(string model) => s_required.GetValueOrDefault(model, []);

    private static readonly Dictionary<string, (string, ParameterValue)[]> s_required = new()
    {
        ["nir.I"] = [("r", Num(1000))],
        ["nir.LI"] = [("tau", Num(0.01)), ("r", Num(10)), ("v_leak", Num(0))],
        ["nir.IF"] = [("r", Num(1000)), ("v_threshold", Num(1))],
        ["nir.LIF"] = [("tau", Num(0.01)), ("r", Num(10)), ("v_leak", Num(0)), ("v_threshold", Num(1))],
        ["nir.CubaLI"] = [("tau_syn", Num(0.005)), ("tau_mem", Num(0.01)), ("r", Num(20)), ("v_leak", Num(0))],
        ["nir.CubaLIF"] = [("tau_syn", Num(0.005)), ("tau_mem", Num(0.01)), ("r", Num(20)), ("v_leak", Num(0)), ("v_threshold", Num(1))],
        ["sinabs.LIF"] = [("tau_mem", Num(10))],
        ["sinabs.ALIF"] = [("tau_mem", Num(10)), ("tau_adapt", Num(20))],
        ["snntorch.Leaky"] = [("beta", Num(0.9))],
        ["snntorch.RLeaky"] = [("beta", Num(0.9))],
        ["snntorch.Synaptic"] = [("alpha", Num(0.8)), ("beta", Num(0.9))],
        ["snntorch.Alpha"] = [("alpha", Num(0.9)), ("beta", Num(0.8))],
        ["snntorch.Lapicque"] = [("beta", Num(0.9))],
    };

    public static ParameterValue Num(double value) => new() { Scalar = value };

    public static ParameterValue PerNeuron(params float[] values) => new() { PerNeuron = new FloatList { Values = { values } } };

    public static ParameterValue Text(string value) => new() { Text = value };

    public static ParameterValue Flag(bool value) => new() { Flag = value };

    public static PopulationSpec Population(string name, string model, uint size, params (string Name, ParameterValue Value)[] parameters)
    {
        var p = new PopulationSpec { Name = name, Model = model, Size = size };
        foreach (var (key, value) in parameters)
        {
            p.Params[key] = value;
        }

        return p;
    }

    public static ProjectionSpec OneToOne(string name, string source, string target, params float[] weights) =>
        new() { Name = name, Source = source, Target = target, OneToOne = new OneToOneProjection { Weights = { weights } } };

    public static ProjectionSpec Dense(string name, string source, string target, float[] weights, float[]? bias = null)
    {
        var dense = new DenseProjection { Weights = { weights } };
        if (bias is not null)
        {
            dense.Bias.Add(bias);
        }

        return new ProjectionSpec { Name = name, Source = source, Target = target, Dense = dense };
    }

    /// <summary>"in" (input, <paramref name="size"/>) → "n" (<paramref name="model"/>), one-to-one with weight 1.</summary>
    public static NetworkSpec Feed(string name, string model, uint size, uint instances = 1, params (string Name, ParameterValue Value)[] parameters) =>
        new()
        {
            Name = name,
            Instances = instances,
            Populations = { Population("in", "input", size), Population("n", model, size, parameters) },
            Projections = { OneToOne("ff", "in", "n") },
        };

    /// <summary>"in" (input, 4) → "out" (passthrough, 4), one-to-one: out's spikes are exactly the input events.</summary>
    public static NetworkSpec Relay(string name, uint instances = 1) =>
        new()
        {
            Name = name,
            Instances = instances,
            Populations = { Population("in", "input", 4), Population("out", "passthrough", 4) },
            Projections = { OneToOne("ff", "in", "out") },
        };

    public static Input Events(string population, uint[] indices, float[]? values = null, uint offset = 0)
    {
        var input = new Input { Population = population, Offset = offset, Indices = { indices } };
        if (values is not null)
        {
            input.Values.Add(values);
        }

        return input;
    }

    public static Input Current(string population, params float[] values) => new() { Population = population, Current = { values } };
}

/// <summary>Reading a Run stream step by step, each read with a timeout.</summary>
internal static class RunReading
{
    /// <summary>Reads responses until exactly <paramref name="count"/> more steps have arrived.</summary>
    public static async Task<List<StepOutput>> ReadStepsAsync(this RunSession session, int count)
    {
        var steps = new List<StepOutput>(count);
        while (steps.Count < count)
        {
            var response = await session.ReadAsync().Within();
            Assert.True(response is not null, $"the stream ended after {steps.Count} of {count} steps");
            Assert.Null(response.Opened);
            steps.AddRange(response.Steps);
        }

        Assert.Equal(count, steps.Count);
        return steps;
    }

    /// <summary>Advances one step with <paramref name="inputs"/> and returns that step's output.</summary>
    public static async Task<StepOutput> StepAsync(this RunSession session, params Input[] inputs)
    {
        await session.AdvanceAsync(1, inputs).Within();
        return (await session.ReadStepsAsync(1))[0];
    }

    /// <summary>Half-closes and expects the stream to end with OK and no further steps.</summary>
    public static async Task EndAsync(this RunSession session)
    {
        await session.CompleteAsync().Within();
        var rest = await session.ReadAsync().Within();
        Assert.Null(rest);
        Assert.Equal(StatusCode.OK, session.Status?.StatusCode);
    }

    /// <summary>Reads until the stream fails; asserts the status and message fragments.</summary>
    public static Task<RpcException> EndsWithAsync(this RunSession session, StatusCode code, params string[] fragments) =>
        Rpc.FailsAsync(code, async () =>
        {
            while (await session.ReadAsync().Within() is not null)
            {
            }
        }, fragments);

    /// <summary>The spikes of spike population <paramref name="population"/> at a step: (indices, values with 1 where omitted).</summary>
    public static (uint[] Indices, float[] Values) SpikesOf(this StepOutput step, uint population = 0)
    {
        var spikes = step.Spikes.SingleOrDefault(s => s.Population == population);
        if (spikes is null)
        {
            return ([], []);
        }

        var values = spikes.Values.Count > 0 ? spikes.Values.ToArray() : Enumerable.Repeat(1f, spikes.Indices.Count).ToArray();
        return (spikes.Indices.ToArray(), values);
    }
}

/// <summary>
/// A stream that drives an instance of a <see cref="Specs.Relay"/> network (or one that contains it) alongside a test and checks,
/// whenever asked, that it still steps correctly: the next step number, and out's spikes equal to the
/// events sent (neuron step % 4 with value step + 1).
/// </summary>
internal sealed class Witness : IAsyncDisposable
{
    private readonly RunSession _session;
    private ulong _next;

    private Witness(RunSession session, ulong next)
    {
        _session = session;
        _next = next;
    }

    public static async Task<Witness> OpenAsync(SnnClient client, string relayNetwork, uint instance)
    {
        var session = await client.OpenRunAsync(new RunOpen { Network = relayNetwork, Instance = instance, SpikesFrom = { "out" } }).Within();
        var witness = new Witness(session, session.Opened!.Step);
        await witness.CheckAsync();
        return witness;
    }

    public async Task CheckAsync()
    {
        uint neuron = (uint)(_next % 4);
        float value = _next + 1;
        var step = await _session.StepAsync(Specs.Events("in", [neuron], [value]));
        Assert.Equal(_next, step.Step);
        var (indices, values) = step.SpikesOf();
        Assert.Equal([neuron], indices);
        Assert.Equal([value], values);
        _next++;
    }

    /// <summary>Checks once more, then ends the stream cleanly.</summary>
    public async Task CloseAsync()
    {
        await CheckAsync();
        await _session.EndAsync();
    }

    public ValueTask DisposeAsync() => _session.DisposeAsync();
}
