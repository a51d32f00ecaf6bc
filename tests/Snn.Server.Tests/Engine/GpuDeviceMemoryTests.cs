using Snn.Server.Backends;
using ILGPU.Runtime;
using Snn.Server.Backends.Cpu;
using Snn.Server.Backends.Gpu;
using Snn.Server.Engine;
using static Snn.Server.Tests.Engine.EngineHarness;
using static Snn.Server.Tests.Engine.GpuBackendTests;

namespace Snn.Server.Tests.Engine;

/// <summary>
/// A device without room for what a network needs: wherever an allocation is refused (as a full device refuses
/// it), the network steps on the CPU backend, or with shorter chains, with the same bits, and nothing it made
/// stays on the device. Run on ILGPU's CPU accelerator, which is never full: the backend's test hook refuses.
/// </summary>
public sealed class GpuDeviceMemoryTests : IClassFixture<GpuDeviceMemoryTests.Backend>
{
    private readonly GpuBackend _gpu;

    public GpuDeviceMemoryTests(Backend backend)
    {
        _gpu = backend.Gpu;
        _gpu.RefuseAllocation = null;
        _gpu.Allocated = null;
    }

    /// <summary>One ilgpu-cpu backend for a test class (compiling the kernels takes seconds); each test resets its hooks.</summary>
    public sealed class Backend : IDisposable
    {
        internal GpuBackend Gpu { get; } = GpuBackend.Create("ilgpu-cpu", 0, new CpuOptions { Threads = 1 });

        public void Dispose() => Gpu.Dispose();
    }

    private static readonly CpuBackend s_cpu = new(new CpuOptions { Threads = 1 });

    /// <summary>Dense weights with a bias, a recurrent and a delayed projection, three instances.</summary>
    internal static Network Build() => NetworkBuilder.Build(Net(
        [Pop("in", "input", 40), Pop("h", "sinabs.LIF", 30, P(("tau_mem", 8))), Pop("o", "snntorch.Leaky", 10, P(("beta", 0.95)))],
        [
            Dense("w1", "in", "h", Dyadic(new Random(2), 30 * 40), Dyadic(new Random(3), 30)),
            Dense("rec", "h", "h", Dyadic(new Random(4), 30 * 30)),
            Dense("w2", "h", "o", Dyadic(new Random(5), 10 * 30), delay: 2),
        ], 3), new EngineLimits());

    [Fact]
    public void Whichever_allocation_the_device_refuses_the_network_steps_on_the_cpu_backend_and_leaves_nothing_there()
    {
        // What a placement makes: the constructor's buffers, then the first upload's (weights, parameter lanes).
        var all = new List<MemoryBuffer>();
        _gpu.Allocated = all.Add;
        var probe = Build();
        Assert.True(_gpu.OnDevice(probe));
        int total = all.Count;
        _gpu.Release(probe);
        Assert.All(all, b => Assert.True(b.IsDisposed, $"a released network left a buffer of {b.LengthInBytes} bytes on the device"));

        int earlier = _gpu.Placements().Count;
        for (int refused = 0; refused < total; refused++)
        {
            var made = new List<MemoryBuffer>();
            _gpu.Allocated = made.Add;
            int n = 0;
            _gpu.RefuseAllocation = _ => n++ == refused;
            var net = Build();
            Assert.False(_gpu.OnDevice(net), $"refused allocation {refused} of {total}, yet the network is on the device");
            Assert.Equal(refused, made.Count);
            Assert.All(made, b => Assert.True(b.IsDisposed,
                $"refused allocation {refused} of {total}: a buffer of {b.LengthInBytes} bytes made before it stayed on the device"));
            _gpu.RefuseAllocation = null;
            _gpu.Release(net);
        }

        Assert.Equal(total, _gpu.Placements().Skip(earlier).Count(p => p.Contains(": on the CPU backend, the device has no room for it: the driver refused", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(30 * 40 * 4)] // the input weights, made by the first upload
    [InlineData(40 * 3 * 4)] // the input population's rows, made by the constructor
    public void A_network_the_device_cannot_hold_gives_the_cpu_backends_bits(int refusedFrom)
    {
        _gpu.RefuseAllocation = bytes => bytes >= refusedFrom;
        var cpu = Build();
        var gpu = Build();
        Assert.False(_gpu.OnDevice(gpu));
        _gpu.RefuseAllocation = null;
        Assert.False(_gpu.OnDevice(gpu)); // placed once: it stays on the CPU backend

        var rng = new Random(7);
        for (int t = 0; t < 30; t++)
        {
            int[] due = t % 4 == 2 ? [0, 2] : [0, 1, 2];
            var drive = Enumerable.Range(0, 3).Select(_ => Drive(rng, 40, t)).ToArray();
            Step(s_cpu, cpu, due, drive);
            Step(_gpu, gpu, due, drive);
            Compare(cpu, gpu, $"step {t}");
        }

        Assert.Contains(gpu.Populations[^1].Spikes, x => x != 0f);
        _gpu.Release(gpu);
    }

    [Fact]
    public void Growing_the_chain_slots_keeps_the_latest_spikes_of_an_instance_the_chain_leaves_out()
    {
        var (cpu, gpu) = (Build(), Build());
        var rng = new Random(8);
        int[] all = [0, 1, 2];
        StepUnrefreshed(cpu, gpu, all, rng, slot: 0, alone: true); // instance 1's latest spikes: in the one slot's output lists only
        int k = _gpu.BeginChain(gpu, 5); // more slots: the output lists are made anew
        Assert.Equal(5, k);
        for (int s = 0; s < k; s++)
        {
            StepUnrefreshed(cpu, gpu, [0, 2], rng, s);
        }

        _gpu.Send(gpu);
        _gpu.Complete(gpu);
        _gpu.RefreshHost(gpu);
        Compare(cpu, gpu, "after a chain that left instance 1 out");
        Assert.Contains(cpu.Populations[1].Slice(cpu.Populations[1].Spikes, 1).ToArray(), x => x != 0f);
        _gpu.Release(gpu);
    }

    [Fact]
    public void A_device_with_no_room_for_longer_chains_steps_shorter_ones_with_the_same_bits()
    {
        var (cpu, gpu) = (Build(), Build());
        Assert.True(_gpu.OnDevice(gpu));
        var rng = new Random(9);
        StepUnrefreshed(cpu, gpu, [0, 1, 2], rng, slot: 0, alone: true);

        // One slot's buffers fit, 128 slots' do not (the step ints of one slot are 84 bytes).
        _gpu.RefuseAllocation = bytes => bytes > 1024;
        Assert.Equal(1, _gpu.BeginChain(gpu, 5));
        Assert.Contains(_gpu.Placements(), p => p.StartsWith("net: chains of at most 1 step(s) from now on, the device has no room for longer ones", StringComparison.Ordinal));
        _gpu.RefuseAllocation = null;
        for (int t = 0; t < 12; t++)
        {
            Assert.Equal(1, _gpu.BeginChain(gpu, 5)); // it does not try again
            StepUnrefreshed(cpu, gpu, t % 3 == 1 ? [0, 2] : [0, 1, 2], rng, slot: 0);
            _gpu.Send(gpu);
            _gpu.Complete(gpu);
        }

        _gpu.RefreshHost(gpu);
        Compare(cpu, gpu, "after the chains of one step");
        Assert.True(_gpu.OnDevice(gpu));
        _gpu.Release(gpu);
    }

    [Fact]
    public void A_network_whose_edit_needs_room_the_device_lacks_goes_on_on_the_cpu_backend()
    {
        var (cpu, gpu) = (Build(), Build());
        var rng = new Random(10);
        for (int t = 0; t < 10; t++)
        {
            var drive = Enumerable.Range(0, 3).Select(_ => Drive(rng, 40, t)).ToArray();
            Step(s_cpu, cpu, [0, 1, 2], drive);
            Step(_gpu, gpu, [0, 1, 2], drive);
        }

        Assert.True(_gpu.OnDevice(gpu));

        // A reset of instance 0, as the loop makes it: the upload after it makes the parameter lanes anew.
        _gpu.RefreshHost(gpu);
        foreach (var net in new[] { cpu, gpu })
        {
            foreach (var p in net.Populations)
            {
                p.Reset(0);
            }

            net.Instances[0].Step = 0;
        }

        _gpu.RefuseAllocation = _ => true;
        _gpu.HostEdited(gpu, HostEdit.Parameters);
        _gpu.RefuseAllocation = null;
        Assert.False(_gpu.OnDevice(gpu));
        Assert.Contains(_gpu.Placements(), p => p.StartsWith("net: on the CPU backend, the device has no room for it since an edit: the driver refused", StringComparison.Ordinal));
        for (int t = 0; t < 20; t++)
        {
            var drive = Enumerable.Range(0, 3).Select(_ => Drive(rng, 40, t)).ToArray();
            Step(s_cpu, cpu, [0, 1, 2], drive);
            Step(_gpu, gpu, [0, 1, 2], drive);
            Compare(cpu, gpu, $"step {t} after the edit");
        }

        _gpu.Release(gpu);
    }

    /// <summary>
    /// One step of <paramref name="due"/> on both, the device's queued into <paramref name="slot"/> of a chain, or
    /// (<paramref name="alone"/>) completed at once; the host arrays are not refreshed.
    /// </summary>
    private void StepUnrefreshed(Network cpu, Network gpu, int[] due, Random rng, int slot, bool alone = false)
    {
        var drive = Enumerable.Range(0, 3).Select(_ => Drive(rng, 40, 0)).ToArray();
        Feed(cpu, due, drive);
        Feed(gpu, due, drive);
        s_cpu.Step(cpu, due);
        _gpu.Enqueue(gpu, due, slot);
        if (alone)
        {
            _gpu.Complete(gpu);
        }

        foreach (int i in due)
        {
            cpu.Instances[i].Step++;
            gpu.Instances[i].Step++;
        }
    }
}

/// <summary>Which of the accelerators' exceptions say "out of memory" (the driver's own, which CI cannot provoke).</summary>
public sealed class DeviceMemoryExceptionTests
{
    [Fact]
    public void The_drivers_out_of_memory_errors_are_told_from_the_others()
    {
        Assert.True(DeviceMemoryException.IsOutOfMemory(Cuda(ILGPU.Runtime.Cuda.CudaError.CUDA_ERROR_OUT_OF_MEMORY)));
        Assert.False(DeviceMemoryException.IsOutOfMemory(Cuda(ILGPU.Runtime.Cuda.CudaError.CUDA_ERROR_ILLEGAL_ADDRESS)));
        Assert.True(DeviceMemoryException.IsOutOfMemory(new ILGPU.Runtime.OpenCL.CLException(ILGPU.Runtime.OpenCL.CLError.CL_MEM_OBJECT_ALLOCATION_FAILURE)));
        Assert.True(DeviceMemoryException.IsOutOfMemory(new ILGPU.Runtime.OpenCL.CLException(ILGPU.Runtime.OpenCL.CLError.CL_OUT_OF_RESOURCES)));
        Assert.False(DeviceMemoryException.IsOutOfMemory(new ILGPU.Runtime.OpenCL.CLException(ILGPU.Runtime.OpenCL.CLError.CL_INVALID_KERNEL)));
        Assert.True(DeviceMemoryException.IsOutOfMemory(new OutOfMemoryException()));
        Assert.False(DeviceMemoryException.IsOutOfMemory(new InvalidOperationException("out of memory")));
    }

    /// <summary>
    /// CudaException(CudaError) asks the driver for the error's text, and CI has no driver: the exception ILGPU throws,
    /// with the error it records (its Error property, the enum's name), made without its constructor.
    /// </summary>
    private static ILGPU.Runtime.Cuda.CudaException Cuda(ILGPU.Runtime.Cuda.CudaError error)
    {
        var e = (ILGPU.Runtime.Cuda.CudaException)System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject(typeof(ILGPU.Runtime.Cuda.CudaException));
        var field = typeof(ILGPU.Runtime.Cuda.CudaException).GetField("<Error>k__BackingField",
            System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!;
        field.SetValue(e, error.ToString());
        Assert.Equal(error.ToString(), e.Error);
        return e;
    }
}

/// <summary>The sparse weights' regrouping by target (what the device reads): the same on several cores as in one pass.</summary>
public sealed class SparseRegroupingTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void A_regrouping_called_off_stops_and_throws(int parts)
    {
        // 100,000 sources with 10 synapses each into 1,000 targets: long enough that every range looks at the token.
        const int Sources = 100_000, Targets = 1_000;
        var rowStart = Enumerable.Range(0, Sources + 1).Select(s => s * 10).ToArray();
        var column = Enumerable.Range(0, Sources * 10).Select(k => k % Targets).ToArray();
        var values = new float[column.Length];
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.Throws<OperationCanceledException>(() => DeviceNetwork.ByColumn(rowStart, column, values, Targets, parts, cancel.Token));
        var (start, _, _) = DeviceNetwork.ByColumn(rowStart, column, values, Targets, parts, CancellationToken.None);
        Assert.Equal(column.Length, start[Targets]);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(16)]
    public void Regrouping_in_parts_keeps_the_order_of_one_pass(int parts)
    {
        // 400 sources (some without synapses), 50 targets, 20,000 synapses: many per target, repeated pairs too.
        var rng = new Random(parts);
        const int Sources = 400, Targets = 50;
        var perSource = Enumerable.Range(0, Sources).Select(s => s % 7 == 3 ? 0 : rng.Next(0, 100)).ToArray();
        var rowStart = new int[Sources + 1];
        for (int s = 0; s < Sources; s++)
        {
            rowStart[s + 1] = rowStart[s] + perSource[s];
        }

        var column = Enumerable.Range(0, rowStart[Sources]).Select(_ => rng.Next(Targets)).ToArray();
        var values = Enumerable.Range(0, column.Length).Select(k => (float)k).ToArray(); // each entry told apart

        var (start, rows, regrouped) = DeviceNetwork.ByColumn(rowStart, column, values, Targets, parts);
        var (start1, rows1, regrouped1) = DeviceNetwork.ByColumn(rowStart, column, values, Targets, 1);
        Assert.Equal(start1, start);
        Assert.Equal(rows1, rows);
        Assert.Equal(regrouped1, regrouped);

        // One pass: per target, its synapses by source, then by CSR position.
        for (int t = 0; t < Targets; t++)
        {
            var expected = Enumerable.Range(0, column.Length).Where(k => column[k] == t).ToArray(); // CSR order is source order
            Assert.Equal(expected.Select(k => values[k]), regrouped[start[t]..start[t + 1]]);
            Assert.Equal(expected.Select(k => Array.FindLastIndex(rowStart, r => r <= k)), rows[start[t]..start[t + 1]]);
        }
    }
}
