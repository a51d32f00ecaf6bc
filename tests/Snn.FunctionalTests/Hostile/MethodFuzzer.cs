using System.Collections.Concurrent;
using CsCheck;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Snn.Protos.V1;
using static Snn.FunctionalTests.Api.Specs;

namespace Snn.FunctionalTests.Hostile;

/// <summary>
/// Sends seeded, repeatable fuzz cases to every method of <c>snn.v1.Snn</c> (taken from the service
/// descriptor) over one HTTP/2 connection, and checks each answer against the statuses that method may
/// give. Case i of method m is generated from <c>PCG(m, seed + i)</c> alone, so a failure names a case
/// that can be generated again whatever the concurrency did.
/// </summary>
internal sealed class MethodFuzzer(GrpcWire wire, IReadOnlyList<string> vocabulary, string targetNetwork)
{
    /// <summary>What a request may end with, whatever it holds: the statuses the API documents for bad input.</summary>
    private static readonly StatusCode[] Refusals =
        [StatusCode.InvalidArgument, StatusCode.NotFound, StatusCode.AlreadyExists, StatusCode.FailedPrecondition, StatusCode.ResourceExhausted];

    /// <summary>
    /// Per method, what else it may answer: ABORTED for a stream whose network another case deleted. A
    /// method added later gets OK and the refusals until someone writes its line here.
    /// </summary>
    private static readonly Dictionary<string, StatusCode[]> Extra = new()
    {
        ["Run"] = [StatusCode.Aborted],
        ["Watch"] = [StatusCode.Aborted],
    };

    public static IEnumerable<MethodDescriptor> Methods => Protos.V1.Snn.Descriptor.Methods;

    public static string PathOf(MethodDescriptor method) => $"/{method.Service.FullName}/{method.Name}";

    /// <summary>Statuses allowed for <paramref name="method"/>: OK, the refusals, and its extras; never UNKNOWN or INTERNAL.</summary>
    public static IReadOnlySet<StatusCode> Allowed(MethodDescriptor method) =>
        new HashSet<StatusCode>([StatusCode.OK, .. Refusals, .. Extra.GetValueOrDefault(method.Name, [])]);

    /// <summary>Runs <paramref name="count"/> cases against <paramref name="method"/>; returns what came back, by outcome.</summary>
    public async Task<FuzzReport> FuzzAsync(MethodDescriptor method, int methodIndex, ulong seed, int count, int concurrency, CancellationToken cancellationToken)
    {
        var cases = ProtobufFuzz.Cases(Valid(method.InputType), method.IsClientStreaming);
        var allowed = Allowed(method);
        var report = new FuzzReport(method.Name);
        string path = PathOf(method);
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
            async (i, cancel) =>
            {
                var fuzz = cases.Generate(new PCG((uint)methodIndex, seed + (ulong)i), null!, out _);
                var outcome = await wire.CallAsync(path, GrpcWire.Body(fuzz.Body), cancellationToken: cancel);
                bool ok = outcome switch
                {
                    { Transport: true } => false,
                    { LeftOpen: true } => method.IsServerStreaming && outcome.Http == 200,
                    { Status: { } status } => outcome.Http == 200 && allowed.Contains(status),
                    _ => false,
                };
                report.Add(outcome, ok ? null : $"case {i} (PCG({methodIndex}, {seed} + {i})): {fuzz} → {outcome}");
            });
        return report;
    }

    /// <summary>Valid requests: from the descriptor, and for the messages the server knows, realistic ones that reach its deeper checks.</summary>
    private Gen<IMessage> Valid(MessageDescriptor type)
    {
        var generic = ProtobufFuzz.Messages(type, vocabulary);
        Gen<IMessage>? realistic = type.FullName switch
        {
            "snn.v1.CreateNetworkRequest" => Gen.Select(Gen.Int[0, 50], Gen.OneOf([.. vocabulary]), Gen.UInt[1, 64], Gen.UInt[0, 3]).Select(
                (int n, string model, uint size, uint instances) => (IMessage)new CreateNetworkRequest { Spec = Feed($"fz-{n}", model, size, instances) }),
            "snn.v1.RunRequest" => Gen.Select(Gen.UInt[0, 3], Gen.UInt[0, 40], Gen.UInt[0, 64]).Select((uint instance, uint advance, uint neuron) =>
                (IMessage)new RunRequest
                {
                    Open = new RunOpen { Network = targetNetwork, Instance = instance, SpikesFrom = { "n" } },
                    Advance = advance,
                    Inputs = { Events("in", [neuron]) },
                }),
            "snn.v1.WatchRequest" => Gen.UInt[0, 3].Select(i => (IMessage)new WatchRequest { Network = targetNetwork, Instance = i, SpikesFrom = { "n" } }),
            "snn.v1.GetStateRequest" => Gen.Select(Gen.UInt[0, 3], Gen.OneOf([.. vocabulary])).Select((uint i, string v) =>
                (IMessage)new GetStateRequest { Network = targetNetwork, Instance = i, Population = "n", Variables = { v } }),
            "snn.v1.SetParametersRequest" => Gen.Select(Gen.OneOf([.. vocabulary]), Gen.Double[-2, 2]).Select((string p, double v) =>
                (IMessage)new SetParametersRequest { Network = targetNetwork, Populations = { new PopulationParameters { Population = "n", Params = { [p] = Num(v) } } } }),
            _ => null,
        };
        return realistic is null ? generic : Gen.OneOf(generic, realistic);
    }
}

/// <summary>Counts of outcomes for one method, and the first cases that ended outside the allowed set.</summary>
internal sealed class FuzzReport(string method)
{
    private readonly ConcurrentDictionary<string, int> _counts = new();
    private readonly ConcurrentQueue<string> _failures = new();

    public string Method => method;

    public int Failures => _failures.Count;

    public int Total => _counts.Values.Sum();

    public void Add(Outcome outcome, string? failure)
    {
        string key = outcome.Transport ? "transport error" : outcome.LeftOpen ? "stream left open" : $"{outcome.Status}";
        _counts.AddOrUpdate(key, 1, (_, n) => n + 1);
        if (failure is not null && _failures.Count < 20)
        {
            _failures.Enqueue(failure);
        }
    }

    public string Summary() =>
        $"{method}: {Total} cases: {string.Join(", ", _counts.OrderByDescending(c => c.Value).Select(c => $"{c.Key} {c.Value}"))}";

    public string FailureText() => string.Join(Environment.NewLine, _failures);
}
