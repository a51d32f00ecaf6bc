using BenchmarkDotNet.Attributes;

namespace Snn.Benchmarks.Kernels;

/// <summary>
/// What a backend that splits a population across this machine's two cores would get: the same step
/// as <see cref="KernelBenchmarks"/>, with the neuron range cut in two halves
/// (<c>SplittableAcrossNeurons</c>) and the second half stepped by a busy-waiting worker thread.
/// Allocation-free; the hand-off costs well under a microsecond.
/// </summary>
[MemoryDiagnoser]
public class SplitKernelBenchmarks
{
    private KernelFixture _fixture = null!;
    private Thread? _worker;
    private volatile int _go;
    private volatile int _done;
    private volatile bool _stop;

    public static IEnumerable<string> Models => ModelSetup.Targeted.Where(m => Selection.Models.Any(s => s.Model == m));

    public static IEnumerable<string> Shapes => Selection.Shapes.Where(s => s.Instances == 1 && s.Size >= 65536).Select(s => s.ToString());

    [ParamsSource(nameof(Models))]
    public string Model { get; set; } = "";

    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _fixture = new KernelFixture(ModelSetup.Get(Model), PopulationShape.Parse(Shape));
        _fixture.Settle(50);
        _stop = false;
        _worker = new Thread(Work) { IsBackground = true, Name = "split-kernel-worker" };
        _worker.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop = true;
        _worker?.Join();
    }

    [Benchmark]
    public void Step()
    {
        var f = _fixture;
        int half = f.Shape.Size / 2 / 16 * 16;
        _done = 0;
        _go = 1;
        f.Kernel.Step(f.State, f.Input, f.Recurrent, f.Spikes, 0, 1, 0, half);
        while (_done == 0)
        {
            Thread.SpinWait(8);
        }
    }

    private void Work()
    {
        // Busy-waits without yielding: the worker owns the second core for the benchmark's lifetime.
        while (!_stop)
        {
            if (_go == 0)
            {
                Thread.SpinWait(8);
                continue;
            }

            _go = 0;
            var f = _fixture;
            int half = f.Shape.Size / 2 / 16 * 16;
            f.Kernel.Step(f.State, f.Input, f.Recurrent, f.Spikes, 0, 1, half, f.Shape.Size);
            _done = 1;
        }
    }
}
