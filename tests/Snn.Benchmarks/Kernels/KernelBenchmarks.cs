using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;

namespace Snn.Benchmarks.Kernels;

/// <summary>
/// One step of one population: every model of the catalogue at every benchmark shape, one kernel
/// call per operation, on buffers laid out as <c>Population</c> lays them out.
/// </summary>
[MemoryDiagnoser]
public class KernelBenchmarks
{
    private KernelFixture _fixture = null!;

    public static IEnumerable<string> Models => Selection.Models.Select(m => m.Model);

    public static IEnumerable<string> Shapes => Selection.Shapes.Select(s => s.ToString());

    [ParamsSource(nameof(Models))]
    public string Model { get; set; } = "";

    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _fixture = new KernelFixture(ModelSetup.Get(Model), PopulationShape.Parse(Shape));
        _fixture.Settle(50); // past the initial transient, into the steady state the benchmark measures
    }

    [Benchmark]
    public void Step() => _fixture.Step();
}

/// <summary>
/// The roofline: a memory copy that moves the same bytes as a kernel step (half read, half written),
/// for every number of float32 streams per neuron that a selected model moves, at every population size.
/// </summary>
[MemoryDiagnoser]
public class RooflineBenchmarks
{
    private float[] _source = [];
    private float[] _destination = [];

    public static IEnumerable<int> StreamCounts => Selection.Models.Select(m => m.StreamsPerNeuron).Distinct().Order();

    public static IEnumerable<long> NeuronCounts => Selection.Shapes.Select(s => s.Neurons).Distinct().Order();

    [ParamsSource(nameof(StreamCounts))]
    public int Streams { get; set; }

    [ParamsSource(nameof(NeuronCounts))]
    public long Neurons { get; set; }

    /// <summary>Floats copied: half of the streams' floats are read, half written.</summary>
    public static long CopyLength(long neurons, int streams) => (neurons * streams + 1) / 2;

    [GlobalSetup]
    public void Setup()
    {
        long n = CopyLength(Neurons, Streams);
        _source = new float[n];
        _destination = new float[n];
        new Random(1).NextBytes(MemoryMarshal.AsBytes(_source.AsSpan()));
    }

    /// <summary>The runtime's memmove (Span.CopyTo).</summary>
    [Benchmark]
    public void Copy() => _source.AsSpan().CopyTo(_destination);

    /// <summary>A plain SIMD load/store loop, 4 × 64 bytes per iteration (the kernels' access pattern).</summary>
    [Benchmark]
    public void CopySimd()
    {
        ref float src = ref MemoryMarshal.GetArrayDataReference(_source);
        ref float dst = ref MemoryMarshal.GetArrayDataReference(_destination);
        nuint n = (nuint)_source.Length;
        nuint w = (nuint)Vector512<float>.Count;
        nuint i = 0;
        for (; i + (4 * w) <= n; i += 4 * w)
        {
            var a = Vector512.LoadUnsafe(ref src, i);
            var b = Vector512.LoadUnsafe(ref src, i + w);
            var c = Vector512.LoadUnsafe(ref src, i + (2 * w));
            var d = Vector512.LoadUnsafe(ref src, i + (3 * w));
            a.StoreUnsafe(ref dst, i);
            b.StoreUnsafe(ref dst, i + w);
            c.StoreUnsafe(ref dst, i + (2 * w));
            d.StoreUnsafe(ref dst, i + (3 * w));
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref dst, i) = Unsafe.Add(ref src, i);
        }
    }
}

/// <summary>The models and shapes a run covers (set from the command line before the run).</summary>
internal static class Selection
{
    public static ModelSetup[] Models { get; set; } = ModelSetup.All;

    public static PopulationShape[] Shapes { get; set; } = PopulationShape.All;
}
