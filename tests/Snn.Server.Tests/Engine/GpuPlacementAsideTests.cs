using ILGPU.Runtime;
using Snn.Server.Backends;
using Snn.Server.Backends.Cpu;
using Snn.Server.Backends.Gpu;
using Snn.Server.Engine;
using static Snn.Server.Tests.Engine.EngineHarness;
using static Snn.Server.Tests.Engine.GpuBackendTests;
using static Snn.Server.Tests.Engine.GpuDeviceMemoryTests;

namespace Snn.Server.Tests.Engine;

/// <summary>
/// A network placed on the device off the step loop (<see cref="EngineOptions.PlaceAsideFromSynapses"/>): it steps on
/// the CPU backend while its copy is made, and moves to the device between two steps, with the same bits throughout.
/// The placement thread is held at its first allocation (the backend's allocation hook) so that the tests choose when
/// it ends. The network is <see cref="GpuDeviceMemoryTests.Build"/>'s; its hidden population also takes external input.
/// Steps are taken as the loop takes them: where the backend keeps the host inputs zero, only the rows of the
/// input populations are cleared before the next inputs.
/// </summary>
public sealed class GpuPlacementAsideTests : IClassFixture<GpuDeviceMemoryTests.Backend>, IDisposable
{
    private static readonly CpuBackend s_cpu = new(new CpuOptions { Threads = 1 });
    private readonly GpuBackend _gpu;
    private readonly ManualResetEventSlim _gate = new(false);

    public GpuPlacementAsideTests(GpuDeviceMemoryTests.Backend backend)
    {
        _gpu = backend.Gpu;
        _gpu.PlaceAsideFromSynapses = 0; // every network
        _gpu.Allocated = null;
        _gpu.RefuseAllocation = _ =>
        {
            Assert.True(_gate.Wait(TimeSpan.FromMinutes(2)), "the test never let the placement go on");
            return false;
        };
    }

    public void Dispose()
    {
        _gate.Set();
        _gpu.RefuseAllocation = null;
        _gpu.PlaceAsideFromSynapses = EngineOptions.DefaultPlaceAsideFromSynapses;
    }

    [Fact]
    public async Task A_network_placed_off_the_loop_steps_on_the_cpu_meanwhile_and_moves_to_the_device_with_the_same_bits()
    {
        var (cpu, gpu) = (Build(), Build());
        var rng = new Random(11);
        for (int t = 0; t < 8; t++)
        {
            LoopStep(cpu, gpu, [0, 1, 2], rng, t);
        }

        Assert.Null(_gpu.Find(gpu));
        Assert.Equal("on the CPU backend while its device copy is made (2,400 synapses), then on the device", gpu.StepsOn);
        var work = _gpu.PlacementAside(gpu)!;
        Assert.False(work.IsCompleted);

        _gate.Set();
        await work.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Null(_gpu.Find(gpu)); // taken between two steps, not before

        // Taken at this step, of two of the three instances: instance 1's rows still hold the CPU backend's sums when
        // it is next due, and the hidden population's external input is a whole marked row.
        for (int t = 8; t < 30; t++)
        {
            LoopStep(cpu, gpu, t % 3 == 2 ? [0, 1, 2] : [0, 2], rng, t);
            Assert.NotNull(_gpu.Find(gpu));
        }

        Assert.Equal("on the device", gpu.StepsOn);
        Assert.Contains(gpu.Populations[^1].Spikes, x => x != 0f);
        _gpu.Release(gpu);
    }

    [Fact]
    public async Task An_edit_of_the_parameters_while_a_network_is_placed_off_the_loop_places_it_again_with_the_new_ones()
    {
        var (cpu, gpu) = (Build(), Build());
        var rng = new Random(12);
        LoopStep(cpu, gpu, [0, 1, 2], rng, 0);
        var first = _gpu.PlacementAside(gpu)!;
        _gate.Set();
        await first.WaitAsync(TimeSpan.FromMinutes(2)); // made from the weights as they are now, not yet taken

        // SetParameters, as the loop makes it: the host's weights change, then the backend hears of it.
        var weights = Dyadic(new Random(13), 30 * 40);
        foreach (var net in new[] { cpu, gpu })
        {
            net.Projections[0].Install(net.Projections[0].PrepareWeights(weights, null, "w1"));
        }

        _gpu.HostEdited(gpu, HostEdit.Parameters); // the first copy is dropped, and another begun
        Assert.Null(_gpu.Find(gpu));
        var second = _gpu.PlacementAside(gpu);
        Assert.NotNull(second);
        Assert.NotSame(first, second);
        await second!.WaitAsync(TimeSpan.FromMinutes(2));
        for (int t = 1; t < 25; t++)
        {
            LoopStep(cpu, gpu, [0, 1, 2], rng, t);
        }

        Assert.Equal("on the device", gpu.StepsOn);
        _gpu.Release(gpu);
    }

    [Fact]
    public async Task An_edit_of_the_parameters_of_a_network_on_the_device_steps_it_on_the_cpu_until_its_new_copy_is_ready()
    {
        _gate.Set();
        var (cpu, gpu) = (Build(), Build());
        var rng = new Random(15);
        Assert.True(_gpu.OnDevice(gpu));
        for (int t = 0; t < 6; t++)
        {
            LoopStep(cpu, gpu, [0, 1, 2], rng, t);
        }

        // SetParameters, as the loop makes it: the host made current, the weights changed, then the backend hears of it.
        _gate.Reset();
        _gpu.RefreshHost(gpu);
        var weights = Dyadic(new Random(16), 10 * 30);
        foreach (var net in new[] { cpu, gpu })
        {
            net.Projections[2].Install(net.Projections[2].PrepareWeights(weights, null, "w2"));
        }

        _gpu.HostEdited(gpu, HostEdit.Parameters);
        Assert.Null(_gpu.Find(gpu));
        Assert.Equal("on the CPU backend while its device copy is made again after an edit (2,400 synapses), then on the device", gpu.StepsOn);
        var work = _gpu.PlacementAside(gpu)!;
        for (int t = 6; t < 10; t++)
        {
            LoopStep(cpu, gpu, t == 8 ? [1] : [0, 1, 2], rng, t);
        }

        _gate.Set();
        await work.WaitAsync(TimeSpan.FromMinutes(2));
        for (int t = 10; t < 25; t++)
        {
            LoopStep(cpu, gpu, t % 4 == 0 ? [0, 2] : [0, 1, 2], rng, t);
        }

        Assert.Equal("on the device", gpu.StepsOn);
        Assert.Contains(gpu.Populations[^1].Spikes, x => x != 0f);
        _gpu.Release(gpu);
    }

    [Fact]
    public async Task A_network_deleted_while_it_is_placed_off_the_loop_leaves_nothing_on_the_device()
    {
        var made = TrackAllocations();
        var gpu = Build();
        Assert.False(_gpu.KeepsHostInputsZero(gpu)); // its first step: placed off the loop
        var work = _gpu.PlacementAside(gpu)!;
        _gpu.Release(gpu);
        Assert.Null(_gpu.PlacementAside(gpu));
        _gate.Set();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => work.WaitAsync(TimeSpan.FromMinutes(2))); // called off before its weights
        Assert.True(SpinUntil(() => AllFreed(made)), "a network deleted while it was placed left buffers on the device");
    }

    [Fact]
    public async Task A_network_deleted_while_its_weights_go_up_stops_before_the_next_projection()
    {
        // Two sparse projections, into 37 and 41 neurons: each regroups its synapses by target, then allocates where each
        // target's start (38 and 42 ints) and sources go. The placement is held at the first projection's, and called off.
        var made = TrackAllocations();
        using var reached = new ManualResetEventSlim(false);
        int firstStarts = 0;
        _gpu.RefuseAllocation = bytes =>
        {
            if (bytes == 38 * 4 && Interlocked.Increment(ref firstStarts) == 1)
            {
                reached.Set();
                Assert.True(_gate.Wait(TimeSpan.FromMinutes(2)), "the test never let the placement go on");
            }

            return false;
        };
        int[] pre = [.. Enumerable.Range(0, 200).Select(k => k % 50)];
        var gpu = NetworkBuilder.Build(Net([Pop("in", "input", 50), Pop("a", "sinabs.IAF", 37), Pop("b", "sinabs.IAF", 41)], [
            Sparse("sa", "in", "a", pre, [.. Enumerable.Range(0, 200).Select(k => k % 37)], new float[200]),
            Sparse("sb", "in", "b", pre, [.. Enumerable.Range(0, 200).Select(k => k % 41)], new float[200]),
        ]), new EngineLimits());
        Assert.False(_gpu.KeepsHostInputsZero(gpu));
        var work = _gpu.PlacementAside(gpu)!;
        Assert.True(reached.Wait(TimeSpan.FromMinutes(2)));
        _gpu.Release(gpu);
        _gate.Set();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => work.WaitAsync(TimeSpan.FromMinutes(2)));
        lock (made)
        {
            Assert.DoesNotContain(made, b => b.LengthInBytes == 42 * 4); // the second projection never went up
        }

        Assert.True(SpinUntil(() => AllFreed(made)), "a network deleted while its weights went up left buffers on the device");
    }

    [Fact]
    public async Task Placements_off_the_loop_go_one_at_a_time_and_one_called_off_before_its_turn_never_starts()
    {
        int entered = 0;
        _gpu.RefuseAllocation = _ =>
        {
            Interlocked.Increment(ref entered);
            Assert.True(_gate.Wait(TimeSpan.FromMinutes(2)), "the test never let the placement go on");
            return false;
        };
        var (first, second) = (Build(), Build());
        Assert.False(_gpu.KeepsHostInputsZero(first));
        Assert.True(SpinUntil(() => Volatile.Read(ref entered) == 1)); // held at its first allocation
        Assert.False(_gpu.KeepsHostInputsZero(second));
        var waiting = _gpu.PlacementAside(second)!;
        Thread.Sleep(200); // were the second under way, it would have reached its first allocation by now
        Assert.Equal(1, Volatile.Read(ref entered));

        _gpu.Release(second); // called off while it waits for its turn
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        _gate.Set();
        Assert.True(_gpu.OnDevice(first));
        _gpu.Release(first);
    }

    [Fact]
    public void A_device_with_no_room_for_a_network_placed_off_the_loop_leaves_it_on_the_cpu_backend()
    {
        var (cpu, gpu) = (Build(), Build());
        var rng = new Random(14);
        _gpu.RefuseAllocation = bytes => bytes == 30 * 40 * 4; // the input weights, uploaded off the loop
        LoopStep(cpu, gpu, [0, 1, 2], rng, 0);
        Assert.False(_gpu.OnDevice(gpu)); // waits for it
        Assert.StartsWith("on the CPU backend, the device has no room for it: the driver refused", gpu.StepsOn, StringComparison.Ordinal);
        for (int t = 1; t < 10; t++)
        {
            LoopStep(cpu, gpu, [0, 1, 2], rng, t);
        }
    }

    /// <summary>
    /// One step of <paramref name="due"/> on both networks as the loop takes it (see the class), then the device's host
    /// arrays made current and compared bit for bit. External input goes to the input population and, as a whole row,
    /// to the hidden one.
    /// </summary>
    private void LoopStep(Network cpu, Network gpu, int[] due, Random rng, int t)
    {
        var input = Enumerable.Range(0, 3).Select(_ => Drive(rng, 40, t)).ToArray();
        var current = Enumerable.Range(0, 3).Select(_ => Drive(rng, 30, t + 1)).ToArray();
        foreach (var (backend, net) in new (IComputeBackend, Network)[] { (s_cpu, cpu), (_gpu, gpu) })
        {
            bool cleared = backend.KeepsHostInputsZero(net);
            foreach (var p in net.Populations)
            {
                if (cleared && !p.SpikesAreInput)
                {
                    continue;
                }

                foreach (int i in due)
                {
                    p.Slice(p.Input, i).Clear();
                    p.InputMarksIfAny?.Clear(i);
                }
            }

            foreach (int i in due)
            {
                var (inp, hidden) = (net.Populations[0], net.Populations[1]);
                input[i].CopyTo(inp.Slice(inp.Input, i));
                inp.MarkExternalInput(i);
                var row = hidden.Slice(hidden.Input, i);
                for (int n = 0; n < row.Length; n++)
                {
                    row[n] += current[i][n];
                }

                hidden.MarkExternalInput(i);
            }

            backend.Enqueue(net, due, 0);
            backend.Send(net);
            backend.Complete(net);
            backend.RefreshHost(net);
            foreach (int i in due)
            {
                net.Instances[i].Step++;
            }
        }

        Compare(cpu, gpu, $"step {t}");
    }

    private static bool SpinUntil(Func<bool> done) => SpinWait.SpinUntil(done, TimeSpan.FromMinutes(2));

    /// <summary>Every buffer the backend makes from now on, from any thread.</summary>
    private List<MemoryBuffer> TrackAllocations()
    {
        var made = new List<MemoryBuffer>();
        _gpu.Allocated = b =>
        {
            lock (made)
            {
                made.Add(b);
            }
        };
        return made;
    }

    /// <summary>Whether some buffers were made and every one of them is freed.</summary>
    private static bool AllFreed(List<MemoryBuffer> made)
    {
        lock (made)
        {
            return made.Count > 0 && made.All(b => b.IsDisposed);
        }
    }
}
