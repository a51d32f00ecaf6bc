using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Snn.Server.Engine;

namespace Snn.Benchmarks.Engine;

/// <summary>
/// Networks stepped through the CPU backend in this process, with input events at a fixed rate.
/// One operation is one network step of every instance.
/// </summary>
[MemoryDiagnoser]
public class EngineBenchmarks
{
    private EngineFixture _fixture = null!;

    /// <summary>The benchmark types the program runs for <c>engine</c>.</summary>
    public static readonly Type[] Types = [typeof(EngineBenchmarks)];

    /// <summary>Networks this build of the engine can build (vision and sparse need their projection kinds).</summary>
    public static IEnumerable<string> Networks
    {
        get
        {
            yield return "dense";
            yield return "one-to-one";
            if (EngineNetworks.Supports(ProjectionKind.Conv2d) && EngineNetworks.Supports(ProjectionKind.SumPool2d))
            {
                yield return "vision";
            }

            if (EngineNetworks.Supports(ProjectionKind.Sparse))
            {
                yield return "sparse";
            }
        }
    }

    [ParamsSource(nameof(Networks))]
    public string Network { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _fixture = Create(Network);
        _fixture.Measure(20); // past the transient
        EngineFigures.Record(Network, _fixture);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _fixture = null!;
        GC.Collect();
    }

    [Benchmark]
    public void Step() => _fixture.Step();

    /// <summary>The network and its input event rate (2% of the input population per step).</summary>
    internal static EngineFixture Create(string network) => network switch
    {
        "dense" => new EngineFixture(EngineNetworks.Dense(), EngineNetworks.InputName, 0.02),
        "one-to-one" => new EngineFixture(EngineNetworks.OneToOne(), EngineNetworks.InputName, 0.02),
        "vision" => new EngineFixture(EngineNetworks.Vision(), EngineNetworks.InputName, 0.02),
        "sparse" => new EngineFixture(EngineNetworks.Sparse(), EngineNetworks.InputName, 0.02),
        _ => throw new ArgumentException($"unknown network '{network}'", nameof(network)),
    };
}

/// <summary>Figures of a network measured at set-up, read by the report (same process).</summary>
internal static class EngineFigures
{
    public static ConcurrentDictionary<string, (long Neurons, long Synapses, double SynapticEvents, double Spikes)> ByNetwork { get; } = new();

    public static void Record(string name, EngineFixture fixture)
    {
        var (events, spikes) = fixture.Measure(50);
        ByNetwork[name] = (fixture.Network.Neurons, fixture.Network.Synapses, events, spikes);
    }
}
