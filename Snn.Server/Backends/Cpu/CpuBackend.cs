using System.Runtime.Intrinsics.X86;
using Snn.Server.Engine;

namespace Snn.Server.Backends.Cpu;

/// <summary>
/// The default backend: SIMD kernels over the host arrays. Due instances that are adjacent are
/// stepped by one kernel call, so a network whose instances all advance together costs one call per
/// population per step.
/// </summary>
internal sealed class CpuBackend : IComputeBackend
{
    public string Name => "cpu";

    public string Device { get; } =
        $"{System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} cores, " +
        $"{(Avx512F.IsSupported ? "AVX-512" : Avx2.IsSupported ? "AVX2" : "SSE")}, Vector<float> width {System.Numerics.Vector<float>.Count}";

    public void Step(Network network, ReadOnlySpan<int> due)
    {
        var scratch = network.Scratch;
        foreach (int p in network.Order)
        {
            var pop = network.Populations[p];
            int size = pop.Size;
            foreach (var projection in pop.Incoming)
            {
                var source = projection.Source;
                var into = projection.IntoRecurrentInput ? pop.RecurrentInput : pop.Input;
                foreach (int i in due)
                {
                    projection.Deliver(
                        source.Spikes.AsSpan(i * source.Size, source.Size),
                        into.AsSpan(i * size, size),
                        scratch,
                        projection.BiasAt(network.Instances[i].Step));
                }
            }

            var kernel = pop.Kernel;
            int run = 0;
            while (run < due.Length)
            {
                int first = due[run];
                int count = 1;
                while (run + count < due.Length && due[run + count] == first + count)
                {
                    count++;
                }

                kernel.Step(pop.State, pop.Input, pop.RecurrentInput, pop.Spikes, first, count, 0, size);
                run += count;
            }
        }
    }
}
