using Google.Protobuf;
using Grpc.Core;
using Snn.Protos.V1;
using static Snn.FunctionalTests.Api.Specs;

namespace Snn.FunctionalTests.Api;

/// <summary>
/// CreateNetwork refuses a malformed spec with the exact status and a message naming the field,
/// creates nothing, and leaves the server serving.
/// </summary>
public sealed class CreateNetworkValidationTests(ApiServerFixture server) : ApiTest(server)
{
    private sealed record BadSpec(Action<NetworkSpec> Break, StatusCode Code, params string[] Fragments);

    /// <summary>
    /// Each case starts from a valid spec: "in" (input, 4) → "lif" (sinabs.IAF, 4) one-to-one,
    /// "lif" → "out" (snntorch.Leaky, 3, beta 0.5) dense 3×4.
    /// </summary>
    private static readonly Dictionary<string, BadSpec> s_cases = new()
    {
        ["unknown model"] = new(s => s.Populations[1].Model = "sinabs.Nope", StatusCode.InvalidArgument,
            "spec.populations[1].model", "'sinabs.Nope'", "known models: input, passthrough, sinabs.IAF"),
        ["unknown parameter"] = new(s => s.Populations[1].Params["tau_nope"] = Num(1), StatusCode.InvalidArgument,
            "spec.populations[1].params.tau_nope", "has no parameter 'tau_nope'", "spike_threshold"),
        ["parameter for the input model"] = new(s => s.Populations[0].Params["spike_threshold"] = Num(1), StatusCode.InvalidArgument,
            "spec.populations[0].params.spike_threshold", "model 'input' has no parameter"),
        ["per-neuron array of wrong length"] = new(s => s.Populations[1].Params["spike_threshold"] = PerNeuron(1, 2, 3), StatusCode.InvalidArgument,
            "spec.populations[1].params.spike_threshold", "3 values", "(4)"),
        ["per-neuron array for a scalar-only parameter"] = new(s => { s.Populations[1].Model = "norse.LIF"; s.Populations[1].Params.Clear(); s.Populations[1].Params["alpha"] = PerNeuron(1, 1, 1, 1); },
            StatusCode.InvalidArgument, "spec.populations[1].params.alpha", "takes one value, not one per neuron"),
        ["NaN scalar parameter"] = new(s => s.Populations[1].Params["spike_threshold"] = Num(double.NaN), StatusCode.InvalidArgument,
            "spec.populations[1].params.spike_threshold", "NaN", "finite"),
        ["infinite scalar parameter"] = new(s => s.Populations[2].Params["beta"] = Num(double.PositiveInfinity), StatusCode.InvalidArgument,
            "spec.populations[2].params.beta", "finite"),
        ["scalar beyond float32"] = new(s => s.Populations[2].Params["threshold"] = Num(1e300), StatusCode.InvalidArgument,
            "spec.populations[2].params.threshold", "not a finite float32"),
        ["NaN per-neuron parameter"] = new(s => s.Populations[1].Params["spike_threshold"] = PerNeuron(1, 1, float.NaN, 1), StatusCode.InvalidArgument,
            "spec.populations[1].params.spike_threshold[2]", "NaN"),
        ["NaN dense weight"] = new(s => s.Projections[1].Dense.Weights[5] = float.NaN, StatusCode.InvalidArgument,
            "spec.projections[1].dense.weights[5]", "NaN"),
        ["infinite bias"] = new(s => s.Projections[1].Dense.Bias.Add([0, float.NegativeInfinity, 0]), StatusCode.InvalidArgument,
            "spec.projections[1].dense.bias[1]", "finite"),
        ["NaN one-to-one weight"] = new(s => s.Projections[0].OneToOne.Weights.Add([1, 1, 1, float.NaN]), StatusCode.InvalidArgument,
            "spec.projections[0].one_to_one.weights[3]", "NaN"),
        ["dense weights of wrong length"] = new(s => s.Projections[1].Dense.Weights.RemoveAt(0), StatusCode.InvalidArgument,
            "spec.projections[1].dense.weights", "11 values", "3*4 = 12"),
        ["bias of wrong length"] = new(s => s.Projections[1].Dense.Bias.Add([1, 2]), StatusCode.InvalidArgument,
            "spec.projections[1].dense.bias", "2 values", "(3)"),
        ["one-to-one between different sizes"] = new(s => s.Projections[0].Target = "out", StatusCode.InvalidArgument,
            "spec.projections[0]", "equal sizes", "'in' has 4", "'out' has 3"),
        ["projection without kind"] = new(s => s.Projections[0].ClearKind(), StatusCode.InvalidArgument,
            "spec.projections[0]", "no kind"),
        ["zero size"] = new(s => s.Populations[1].Size = 0, StatusCode.InvalidArgument,
            "spec.populations[1].size is 0", "1..16777216"),
        ["oversized population"] = new(s => s.Populations[1].Size = (1U << 24) + 1, StatusCode.InvalidArgument,
            "spec.populations[1].size is 16777217", "1..16777216"),
        ["size beyond int"] = new(s => s.Populations[1].Size = uint.MaxValue, StatusCode.InvalidArgument,
            "spec.populations[1].size"),
        ["shape that does not multiply to size"] = new(s => s.Populations[1].Shape.Add([2, 3]), StatusCode.InvalidArgument,
            "spec.populations[1].shape", "size 4"),
        ["projection to an unknown population"] = new(s => s.Projections[1].Target = "nowhere", StatusCode.InvalidArgument,
            "spec.projections[1].target", "'nowhere'"),
        ["projection from an unknown population"] = new(s => s.Projections[0].Source = "nowhere", StatusCode.InvalidArgument,
            "spec.projections[0].source", "'nowhere'"),
        ["duplicate population name"] = new(s => s.Populations[2].Name = "lif", StatusCode.InvalidArgument,
            "spec.populations[2].name", "'lif'"),
        ["duplicate projection name"] = new(s => s.Projections[1].Name = "ff", StatusCode.InvalidArgument,
            "spec.projections[1].name", "'ff'"),
        ["invalid network name"] = new(s => s.Name = "has space", StatusCode.InvalidArgument,
            "spec.name", "'has space'"),
        ["empty population name"] = new(s => s.Populations[0].Name = "", StatusCode.InvalidArgument,
            "spec.populations[0].name"),
        ["no populations"] = new(s => { s.Populations.Clear(); s.Projections.Clear(); }, StatusCode.InvalidArgument,
            "spec.populations is empty"),
        ["negative dt"] = new(s => s.Dt = -0.001, StatusCode.InvalidArgument,
            "spec.dt"),
        ["too many instances"] = new(s => s.Instances = 1025, StatusCode.InvalidArgument,
            "spec.instances is 1025", "1..1024"),
        ["instances beyond int"] = new(s => s.Instances = uint.MaxValue, StatusCode.InvalidArgument,
            "spec.instances is 4294967295", "1..1024"),
        ["sinabs.LIF without tau_mem"] = new(s => s.Populations[1].Model = "sinabs.LIF", StatusCode.InvalidArgument,
            "spec.populations[1].params.tau_mem", "requires parameter 'tau_mem'"),
        ["sinabs tau_mem not positive"] = new(s => { s.Populations[1].Model = "sinabs.LIF"; s.Populations[1].Params["tau_mem"] = Num(0); },
            StatusCode.InvalidArgument, "spec.populations[1].params.tau_mem", "'tau_mem' = 0", "out of range", "allowed: > 0"),
        ["sinabs tau_mem negative per neuron"] = new(s => { s.Populations[1].Model = "sinabs.LIF"; s.Populations[1].Params["tau_mem"] = PerNeuron(5, 5, -1, 5); },
            StatusCode.InvalidArgument, "spec.populations[1].params.tau_mem", "-1 (neuron 2)", "allowed: > 0"),
        ["sinabs threshold zero"] = new(s => s.Populations[1].Params["spike_threshold"] = Num(0), StatusCode.InvalidArgument,
            "spec.populations[1].params.spike_threshold", "'spike_threshold' = 0", "allowed: > 0"),
        ["snntorch threshold negative"] = new(s => s.Populations[2].Params["threshold"] = Num(-1), StatusCode.InvalidArgument,
            "spec.populations[2].params.threshold", "'threshold' = -1", "allowed: > 0"),
        ["snntorch beta missing"] = new(s => s.Populations[2].Params.Remove("beta"), StatusCode.InvalidArgument,
            "spec.populations[2].params.beta", "requires parameter 'beta'"),
        ["snntorch beta NaN"] = new(s => s.Populations[2].Params["beta"] = Num(double.NaN), StatusCode.InvalidArgument,
            "spec.populations[2].params.beta", "NaN"),
        ["norse tau_mem_inv not positive"] = new(s => { s.Populations[1].Model = "norse.LIF"; s.Populations[1].Params.Clear(); s.Populations[1].Params["tau_mem_inv"] = Num(-100); },
            StatusCode.InvalidArgument, "spec.populations[1].params.tau_mem_inv", "'tau_mem_inv' = -100", "allowed: > 0"),
        ["unknown reset_mechanism"] = new(s => s.Populations[2].Params["reset_mechanism"] = Text("halve"), StatusCode.InvalidArgument,
            "spec.populations[2].params.reset_mechanism", "\"subtract\", \"zero\", \"none\"", "'halve'"),
        ["unknown spike_fn"] = new(s => s.Populations[1].Params["spike_fn"] = Text("DoubleSpike"), StatusCode.InvalidArgument,
            "spec.populations[1].params.spike_fn", "\"MultiSpike\", \"SingleSpike\"", "'DoubleSpike'"),
        ["choice given as a number"] = new(s => s.Populations[2].Params["reset_mechanism"] = Num(1), StatusCode.InvalidArgument,
            "spec.populations[2].params.reset_mechanism", "must be one of"),
        ["number given as text"] = new(s => s.Populations[2].Params["threshold"] = Text("high"), StatusCode.InvalidArgument,
            "spec.populations[2].params.threshold", "must be a number"),
        ["flag given as a number"] = new(s => s.Populations[2].Params["reset_delay"] = Num(0), StatusCode.InvalidArgument,
            "spec.populations[2].params.reset_delay", "must be a flag"),
        ["parameter without a value"] = new(s => s.Populations[2].Params["threshold"] = new ParameterValue(), StatusCode.InvalidArgument,
            "spec.populations[2].params.threshold", "no value"),
        ["fixed parameter changed"] = new(s => s.Populations[1].Params["norm_input"] = Flag(true), StatusCode.InvalidArgument,
            "spec.populations[1].params.norm_input", "fixed at false"),
        ["unknown clock"] = new(s => s.Clock = (ClockMode)7, StatusCode.InvalidArgument,
            "spec.clock"),
    };

    public static TheoryData<string> Cases => new(s_cases.Keys);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_spec_is_refused_with_a_message_naming_the_field(string name)
    {
        var bad = s_cases[name];
        var spec = ValidSpec(Names.Unique("bad"));
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within(); // the base is valid
        await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = spec.Name }).Within();

        bad.Break(spec);
        await Rpc.FailsAsync(bad.Code, () => Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }), bad.Fragments);

        if (spec.Name.Length > 0 && !spec.Name.Contains(' ', StringComparison.Ordinal))
        {
            await Rpc.FailsAsync(StatusCode.NotFound, () => Client.GetNetworkAsync(new GetNetworkRequest { Name = spec.Name }));
        }

        Assert.NotEmpty((await Client.GetServerInfoAsync().Within()).Models);
    }

    /// <summary>
    /// Invalid UTF-8 in a string field is refused, not decoded to U+FFFD: Google.Protobuf validates UTF-8
    /// while parsing and the server answers INVALID_ARGUMENT naming the message (the parser does not say
    /// which field). The HTTP/JSON API refuses it too (400: the JSON is not well formed), and leaves
    /// percent-escapes that are not UTF-8 undecoded in route and query values (so no U+FFFD arises).
    /// </summary>
    [Fact]
    public async Task Invalid_utf8_in_a_string_field_is_INVALID_ARGUMENT()
    {
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(Server.Address);
        var invoker = channel.CreateCallInvoker();
        static Method<byte[], TResponse> Raw<TResponse>(string method, MessageParser<TResponse> parser)
            where TResponse : class, IMessage<TResponse> =>
            new(MethodType.Unary, "snn.v1.Snn", method, Marshallers.Create<byte[]>(b => b, b => b),
                Marshallers.Create<TResponse>(_ => throw new NotSupportedException(), parser.ParseFrom));

        // GetNetworkRequest.name (field 1) = bytes FF FE: not UTF-8.
        await Rpc.FailsAsync(StatusCode.InvalidArgument,
            () => invoker.AsyncUnaryCall(Raw("GetNetwork", Network.Parser), null, default, [0x0A, 0x02, 0xFF, 0xFE]).ResponseAsync,
            "GetNetworkRequest", "UTF-8");

        // A valid spec whose model "sinabs.IAF" has its last three bytes replaced by FF FE FD.
        var spec = ValidSpec(Names.Unique("utf8"));
        byte[] bytes = new CreateNetworkRequest { Spec = spec }.ToByteArray();
        byte[] model = System.Text.Encoding.UTF8.GetBytes("sinabs.IAF");
        int at = bytes.AsSpan().IndexOf(model);
        Assert.True(at >= 0);
        bytes[at + 7] = 0xFF;
        bytes[at + 8] = 0xFE;
        bytes[at + 9] = 0xFD;
        await Rpc.FailsAsync(StatusCode.InvalidArgument,
            () => invoker.AsyncUnaryCall(Raw("CreateNetwork", Network.Parser), null, default, bytes).ResponseAsync,
            "CreateNetworkRequest", "UTF-8");
        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.GetNetworkAsync(new GetNetworkRequest { Name = spec.Name }));

        // The same spec as JSON with the name's bytes FF FE: HTTP 400 INVALID_ARGUMENT.
        using var http = new HttpClient { BaseAddress = Server.HttpAddress };
        byte[] json = [.. "{\"name\":\"a"u8, 0xFF, 0xFE, .. "\",\"populations\":[{\"name\":\"in\",\"model\":\"input\",\"size\":4}]}"u8];
        using var body = new ByteArrayContent(json);
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync("/v1/networks", body).Within();
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"code\":3", await response.Content.ReadAsStringAsync().Within(), StringComparison.Ordinal);
        Assert.DoesNotContain((await Client.ListNetworksAsync().Within()).Networks, n => n.Spec.Name.StartsWith('a'));
    }

    [Fact]
    public async Task Missing_spec_is_INVALID_ARGUMENT()
    {
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => Client.CreateNetworkAsync(new CreateNetworkRequest()), "spec");
    }

    [Fact]
    public async Task Taken_name_is_ALREADY_EXISTS()
    {
        var spec = ValidSpec(Names.Unique("taken"));
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();
        await Rpc.FailsAsync(StatusCode.AlreadyExists, () => Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }), $"'{spec.Name}'");
    }

    [Fact]
    public async Task Snntorch_beta_outside_0_1_is_clamped_as_snntorch_does()
    {
        // The catalogue says beta is clamped to [0, 1] at every use: beta -0.5 acts as 0, so mem = x.
        var spec = Feed(Names.Unique("beta"), "snntorch.Leaky", 2, 1, ("beta", Num(-0.5)), ("threshold", Num(100)));
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();
        await using var run = await Client.OpenRunAsync(new RunOpen { Network = spec.Name }).Within();
        await run.StepAsync(Current("n", 0.5f, 0.25f));
        await run.StepAsync(Current("n", 0.5f, 0.25f));
        await run.EndAsync();

        var state = await Client.GetStateAsync(new GetStateRequest { Network = spec.Name, Population = "n" }).Within();
        Assert.Equal([0.5f, 0.25f], state.Variables.Single(v => v.Variable == "mem").Values);
    }

    private static NetworkSpec ValidSpec(string name) => new()
    {
        Name = name,
        Populations =
        {
            Population("in", "input", 4),
            Population("lif", "sinabs.IAF", 4, ("spike_threshold", Num(1))),
            Population("out", "snntorch.Leaky", 3, ("beta", Num(0.5))),
        },
        Projections =
        {
            OneToOne("ff", "in", "lif"),
            Dense("dense", "lif", "out", Enumerable.Range(0, 12).Select(i => i / 8f).ToArray()),
        },
    };
}
