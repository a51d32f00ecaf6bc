using Google.Protobuf;
using Grpc.Core;
using Snn.FunctionalTests.Api;
using Snn.Protos.V1;
using static Snn.FunctionalTests.Api.Specs;

namespace Snn.FunctionalTests.Hostile;

/// <summary>
/// The defects the hostile-input fuzz found, one small case each, on the shared in-process server (whose
/// fixture also fails the class when anything is logged at error level). Before the fixes these answered
/// UNKNOWN or INTERNAL and logged errors, accepted a shape of 10^20 neurons, or killed the Watch stream.
/// </summary>
public sealed class HostileRegressionTests(ApiServerFixture server) : ApiTest(server)
{
    private static readonly byte[] Name = new GetNetworkRequest { Name = "nothing" }.ToByteArray();

    public static TheoryData<string, string, byte[], string?, StatusCode, string> Framing => new()
    {
        { "compressed flag 2", "GetNetwork", [2, 0, 0, 0, 0], null, StatusCode.InvalidArgument, "compressed-flag byte 2" },
        { "compressed flag 7 on Run", "Run", [7, 0, 0, 0, 0], null, StatusCode.InvalidArgument, "compressed-flag byte 7" },
        { "compressed flag, no grpc-encoding", "GetNetwork", GrpcWire.Frame(Name, compressed: true), null, StatusCode.InvalidArgument, "no grpc-encoding header" },
        { "gzip that is not gzip", "GetNetwork", GrpcWire.Frame(Name, compressed: true), "gzip", StatusCode.InvalidArgument, "not valid gzip data" },
        { "ends inside a prefix", "GetNetwork", [0, 0, 0], null, StatusCode.InvalidArgument, "ends inside the 5-byte prefix of message 1 (3 of 5 bytes)" },
        { "ends inside a message", "Watch", GrpcWire.Frame(Name, declaredLength: 100), null, StatusCode.InvalidArgument, $"its prefix promises 100 bytes, {Name.Length} came" },
        { "no message", "GetNetwork", [], null, StatusCode.InvalidArgument, "carries none" },
        { "two messages", "GetNetwork", GrpcWire.Frames([Name, Name]), null, StatusCode.InvalidArgument, "carries more" },
        { "a length of 2^32-1", "GetNetwork", GrpcWire.Frame(Name, declaredLength: uint.MaxValue), null, StatusCode.ResourceExhausted, "is 4294967295 bytes; the server takes messages of at most 4194304 bytes (Snn:MaxMessageBytes)" },
    };

    [Theory]
    [MemberData(nameof(Framing))]
    public async Task Malformed_gRPC_framing_is_refused_with_a_status_that_says_how(string what, string method, byte[] body, string? encoding, StatusCode code, string fragment)
    {
        using var wire = new GrpcWire(Server.Address);
        var outcome = await wire.CallAsync($"/snn.v1.Snn/{method}", GrpcWire.Body(body), encoding is null ? null : [new("grpc-encoding", encoding)]);
        Assert.True(outcome.Status == code && outcome.Detail.Contains(fragment, StringComparison.Ordinal), $"{what}: {outcome}");
    }

    [Fact]
    public async Task A_status_interval_beyond_one_day_is_INVALID_ARGUMENT_for_Run_and_Watch()
    {
        string name = Names.Unique("interval");
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Relay(name) }).Within();
        await Rpc.FailsAsync(StatusCode.InvalidArgument, async () =>
        {
            await foreach (var _ in Client.WatchAsync(new WatchRequest { Network = name, StatusIntervalMs = uint.MaxValue }))
            {
            }
        }, "status_interval_ms is 4294967295; it must be at most 86400000");
        await Rpc.FailsAsync(StatusCode.InvalidArgument, async () =>
        {
            await using var run = await Client.OpenRunAsync(new RunOpen { Network = name, StatusIntervalMs = uint.MaxValue });
            await run.ReadAsync();
        }, "open.status_interval_ms is 4294967295");

        // One day is allowed.
        await using (var run = await Client.OpenRunAsync(new RunOpen { Network = name, StatusIntervalMs = 86_400_000 }).Within())
        {
            await run.EndAsync();
        }

        await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name }).Within();
    }

    /// <summary>153 × 2000111376 × 2109804217 is 16 modulo 2^64: the 64-bit product wrapped to the size, and the shape was accepted.</summary>
    [Fact]
    public async Task A_shape_whose_product_overflows_to_its_size_is_refused()
    {
        var spec = Feed(Names.Unique("wrap"), "sinabs.IAF", 16);
        spec.Populations[0].Shape.Add([153, 2000111376, 2109804217]);
        await Rpc.FailsAsync(StatusCode.InvalidArgument, () => Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }),
            "spec.populations[0].shape [153,2000111376,2109804217] does not multiply to size 16");
    }
}
