using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using Snn.Server.Engine;
using Snn.Server.Models;

namespace Snn.Server.Backends.Gpu;

/// <summary>
/// One network's buffers on the device and its step there. The device holds the state; the host
/// arrays of the populations are kept as the step loop reads them: spikes after every step (only
/// the entries that change: last step's spikes cleared, this step's written, from the compacted
/// lists), state and delay lines when <see cref="RefreshHost"/> asks. After the loop edits the host
/// arrays (reset, SetParameters) <see cref="HostEdited"/> has everything uploaded again.
/// </summary>
internal sealed class DeviceNetwork : IDisposable
{
    private readonly GpuBackend _backend;
    private readonly Network _network;
    private readonly Accelerator _accelerator;
    private readonly AcceleratorStream _stream;
    private readonly DeviceKernelSet _k;
    private readonly DevicePopulation[] _pops;
    private readonly DeviceProjection[] _projections;
    private readonly int _instances;

    /// <summary>Per step, uploaded at once: [due list][per projection: source offset per due][per projection: bias on per due].</summary>
    private readonly int[] _stepInts;
    private readonly ArrayView<int> _stepIntsHost;
    private readonly int[] _stepScratch;
    private bool _stepIntsStale = true;
    private bool _queued;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _stepIntsDevice;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _allInstances;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _empty;
    private readonly List<IDisposable> _owned = [];
    private bool _dirty = true;
    private bool _hostFresh = true;

    public DeviceNetwork(GpuBackend backend, Network network)
    {
        _backend = backend;
        _network = network;
        _accelerator = backend.Accelerator;
        _stream = backend.Stream;
        _k = backend.Kernels;
        _instances = network.Instances.Length;
        _empty = Own(_accelerator.Allocate1D<float>(1));
        _pops = network.Populations.Select(p => new DevicePopulation(this, p)).ToArray();
        _projections = network.Projections.Select(j => new DeviceProjection(this, j)).ToArray();
        _stepInts = GC.AllocateArray<int>(_instances * (1 + 2 * _projections.Length), pinned: true);
        _stepScratch = new int[_stepInts.Length];
        PageLock(_stepInts);
        _stepIntsHost = HostView(_stepInts);
        _stepIntsDevice = Own(_accelerator.Allocate1D<int>(_stepInts.Length));
        _allInstances = Own(_accelerator.Allocate1D<int>(_instances));
        _allInstances.View.CopyFromCPU(_stream, Enumerable.Range(0, _instances).ToArray());
    }

    /// <summary>Whether every population and projection of <paramref name="network"/> has device kernels.</summary>
    public static bool Supports(Network network) => Unsupported(network) is null;

    /// <summary>What of <paramref name="network"/> has no device kernel yet, or null when everything has one.</summary>
    public static string? Unsupported(Network network)
    {
        foreach (var p in network.Populations)
        {
            if (DevicePopulation.KindOf(p) == PopulationKind.Unsupported)
            {
                return $"population '{p.Name}' ({p.Model.Name}{(p.Model.Name.StartsWith("snntorch.", StringComparison.Ordinal) ? ", inhibition" : "")})";
            }
        }

        foreach (var j in network.Projections)
        {
            // conv2d, sum pool and sparse take "is there a spike" from the source's compacted count,
            // which a delay line slot does not have.
            if (j is not (DenseProjection or OneToOneProjection) && (j.Delayed || j is not (Conv2dProjection or SumPool2dProjection or SparseProjection)))
            {
                return $"projection '{j.Name}' ({j.Kind}{(j.Delayed ? " with a delay" : "")})";
            }
        }

        return null;
    }

    /// <summary>A constant input for a population, kept on the device and used at every step instead of zero (benchmarks).</summary>
    internal void SetConstantInput(Population population, float[] perInstance)
    {
        var p = _pops[population.Index];
        p.Constant?.Dispose();
        p.Constant = _accelerator.Allocate1D<float>(perInstance.Length);
        p.Constant.View.CopyFromCPU(_stream, perInstance);
    }

    /// <summary>
    /// Registers a pinned host array with the driver (cuMemHostRegister on CUDA), so that copies to and
    /// from it are asynchronous DMA rather than staged through a driver buffer.
    /// </summary>
    internal void PageLock<T>(T[] pinned)
        where T : unmanaged
    {
        if (pinned.Length > 0)
        {
            _owned.Add(_accelerator.CreatePageLockFromPinned(pinned));
        }
    }

    /// <summary>
    /// A view of a pinned host array, made once. ILGPU's copies to and from a host pointer or span
    /// (CopyToCPUUnsafeAsync, CopyFromCPU) wrap the pointer in a new CPUMemoryBuffer each call, an
    /// accelerator object that also registers a WeakReference with the accelerator. That happens on every
    /// accelerator, CUDA included, and was the step's managed allocation on ilgpu-cpu. A view-to-view copy allocates nothing.
    /// </summary>
    internal ArrayView<T> HostView<T>(T[] pinned)
        where T : unmanaged
    {
        var buffer = Own(CPUMemoryBuffer.Create(
            _accelerator, Marshal.UnsafeAddrOfPinnedArrayElement(pinned, 0), pinned.Length, System.Runtime.CompilerServices.Unsafe.SizeOf<T>()));
        return buffer.AsArrayView<T>(0, pinned.Length);
    }

    /// <summary>A pinned host array of <paramref name="length"/> elements (at least one) with a view of those elements, made once.</summary>
    private (T[] Host, ArrayView<T> View) Staging<T>(long length)
        where T : unmanaged
    {
        var host = GC.AllocateArray<T>((int)Math.Max(1, length), pinned: true);
        PageLock(host);
        return (host, HostView(host).SubView(0, length));
    }

    private T Own<T>(T buffer)
        where T : IDisposable
    {
        _owned.Add(buffer);
        return buffer;
    }

    private ArrayView<int> Due(int count) => _stepIntsDevice.View.SubView(0, count);

    private ArrayView<int> ProjectionInts(int projection, int part, int count) =>
        _stepIntsDevice.View.SubView((long)_instances * (1 + 2 * projection + part), count);

    public void Step(ReadOnlySpan<int> due) => Step(due, copyBack: true);

    /// <summary>
    /// One step; with <paramref name="copyBack"/> false nothing is copied back and nothing waits (the
    /// device's throughput, for benchmarks: the host spike arrays are then stale until the next step that copies).
    /// </summary>
    internal void Step(ReadOnlySpan<int> due, bool copyBack)
    {
        if (_dirty)
        {
            Upload();
        }

        _hostFresh = false;
        int dc = due.Length;
        var instances = _network.Instances;
        var next = _stepScratch;
        due.CopyTo(next);
        for (int j = 0; j < _projections.Length; j++)
        {
            var projection = _projections[j].Projection;
            int size = projection.Source.Size;
            int slots = projection.DelaySlots;
            int offsets = _instances * (1 + 2 * j);
            int bias = offsets + _instances;
            for (int d = 0; d < dc; d++)
            {
                int i = due[d];
                long step = instances[i].Step;
                next[offsets + d] = projection.Delayed ? (i * slots + (int)(step % slots)) * size : i * size;
                next[bias + d] = _projections[j].HasBias && projection.BiasAt(step) ? 1 : 0;
            }
        }

        // Uploaded only when it changed (a network whose instances all step, without delays, uploads it once).
        if (_stepIntsStale || !next.AsSpan().SequenceEqual(_stepInts))
        {
            if (_queued)
            {
                _stream.Synchronize(); // the last upload from the pinned array may still be under way
                _queued = false;
            }

            next.CopyTo(_stepInts, 0);
            ((ArrayView<int>)_stepIntsDevice.View).CopyFrom(_stream, _stepIntsHost);
            _stepIntsStale = false;
        }

        var dueView = Due(dc);

        foreach (int p in _network.Order)
        {
            var pop = _pops[p];
            var host = pop.Population;
            int size = host.Size;
            if (pop.Constant is { } constant)
            {
                constant.View.CopyTo(_stream, pop.Input.View);
            }
            else
            {
                pop.Input.View.MemSetToZero(_stream);
            }

            pop.RecurrentInput?.View.MemSetToZero(_stream);

            var marks = host.ExternalInput;
            for (int d = 0; d < dc; d++)
            {
                int i = due[d];
                if (marks[i])
                {
                    if (_queued)
                    {
                        _stream.Synchronize(); // the last upload from the staging array may still be under way
                        _queued = false;
                    }

                    marks[i] = false;
                    var staging = pop.Staging();
                    host.Input.AsSpan(i * size, size).CopyTo(staging.Host.AsSpan(i * size, size));
                    ((ArrayView<float>)pop.Input.View).SubView((long)i * size, size).CopyFrom(_stream, staging.View.SubView((long)i * size, size));
                }
            }

            foreach (var incoming in host.Incoming)
            {
                Deliver(_projections[incoming.Index], pop, dueView, dc);
            }

            pop.StepNeurons(dueView, dc);
            pop.Compact(dueView, dc);
        }

        for (int j = 0; j < _projections.Length; j++)
        {
            var dp = _projections[j];
            if (dp.Projection.Delayed && dc > 0 && dp.Projection.Source.Size > 0)
            {
                var source = _pops[dp.Projection.Source.Index];
                int size = dp.Projection.Source.Size;
                _k.RecordDelay(_stream, _k.Cover((long)dc * size), source.Spikes.View, dp.Line!.View,
                    ProjectionInts(j, 0, dc), dueView, dc, size);
            }
        }

        _queued = !copyBack;
        if (copyBack)
        {
            CopySpikesBack(due);
        }
    }

    /// <summary>Waits for everything queued on the backend's stream.</summary>
    internal void Synchronize() => _stream.Synchronize();

    private void Deliver(DeviceProjection dp, DevicePopulation target, ArrayView<int> due, int dc)
    {
        if (dc == 0 || target.Population.Size == 0)
        {
            return;
        }

        var projection = dp.Projection;
        int j = projection.Index;
        int size = target.Population.Size;
        int sourceSize = projection.Source.Size;
        var source = _pops[projection.Source.Index];
        var config = _k.Cover((long)dc * size);
        var offsets = ProjectionInts(j, 0, dc);
        var biasOn = ProjectionInts(j, 1, dc);
        var rows = projection.Delayed ? dp.Line!.View : source.Spikes.View;
        var into = projection.IntoRecurrentInput ? target.RecurrentInput!.View : target.Input.View;
        if (projection is Conv2dProjection)
        {
            _k.Conv2d(_stream, config, into, dp.Weights.View, dp.Bias.View, rows, offsets, source.Counts.View, due, biasOn, dp.Window, dc);
        }
        else if (projection is SumPool2dProjection)
        {
            _k.SumPool2d(_stream, config, into, rows, offsets, source.Counts.View, due, dp.Window, dc);
        }
        else if (projection is SparseProjection)
        {
            _k.Sparse(_stream, config, into, dp.ColumnStart!.View, dp.ColumnSource!.View, dp.Weights.View, dp.Bias.View, rows, offsets,
                source.Counts.View, due, biasOn, dc, size);
        }
        else if (projection is OneToOneProjection)
        {
            _k.OneToOne(_stream, config, into, dp.Weights.View, dp.Weighted ? 1 : 0, rows, offsets, due, dc, size);
        }
        else if (projection.Delayed)
        {
            _k.DenseFromRow(_stream, config, into, dp.Weights.View, dp.Bias.View, rows, offsets, sourceSize, due, biasOn, dc, size);
        }
        else
        {
            _k.DenseFromEvents(_stream, config, into, dp.Weights.View, dp.Bias.View,
                source.SpikeIndex.View, source.SpikeValue.View, source.Counts.View, sourceSize, due, biasOn, dc, size);
        }
    }

    /// <summary>
    /// Spike counts and a guess of each due instance's list (last step's count plus a quarter plus
    /// <see cref="MinPrefetch"/>) in one round trip to pinned host arrays; the rest of a longer list in a
    /// second. The host spike arrays get last step's entries cleared (while the kernels run) and this
    /// step's written.
    /// </summary>
    private void CopySpikesBack(ReadOnlySpan<int> due)
    {
        if (MirrorHostSpikes)
        {
            foreach (var pop in _pops)
            {
                int size = pop.Population.Size;
                var spikes = pop.Population.Spikes;
                foreach (int i in due)
                {
                    int o = i * size;
                    int previous = pop.PreviousCounts[i];
                    for (int k = 0; k < previous; k++)
                    {
                        spikes[o + pop.HostIndex[o + k]] = 0f;
                    }
                }
            }
        }

        foreach (var pop in _pops)
        {
            ((ArrayView<int>)pop.Counts.View).CopyTo(_stream, pop.HostCountsView);
            int size = pop.Population.Size;
            foreach (int i in due)
            {
                int o = i * size;
                int guess = Guess(pop, i);
                if (guess > 0)
                {
                    ((ArrayView<int>)pop.SpikeIndex.View).SubView(o, guess).CopyTo(_stream, pop.HostIndexView.SubView(o, guess));
                    ((ArrayView<float>)pop.SpikeValue.View).SubView(o, guess).CopyTo(_stream, pop.HostValueView.SubView(o, guess));
                }
            }
        }

        _stream.Synchronize();
        bool more = false;
        foreach (var pop in _pops)
        {
            int size = pop.Population.Size;
            foreach (int i in due)
            {
                int o = i * size;
                int guess = Guess(pop, i);
                int rest = pop.HostCounts[i] - guess;
                if (rest > 0)
                {
                    ((ArrayView<int>)pop.SpikeIndex.View).SubView(o + guess, rest).CopyTo(_stream, pop.HostIndexView.SubView(o + guess, rest));
                    ((ArrayView<float>)pop.SpikeValue.View).SubView(o + guess, rest).CopyTo(_stream, pop.HostValueView.SubView(o + guess, rest));
                    more = true;
                }
            }
        }

        if (more)
        {
            _stream.Synchronize();
        }

        foreach (var pop in _pops)
        {
            int size = pop.Population.Size;
            var spikes = pop.Population.Spikes;
            foreach (int i in due)
            {
                int o = i * size;
                int count = pop.HostCounts[i];
                if (MirrorHostSpikes)
                {
                    for (int k = 0; k < count; k++)
                    {
                        spikes[o + pop.HostIndex[o + k]] = pop.HostValue[o + k];
                    }
                }

                pop.PreviousCounts[i] = count;
            }
        }
    }

    /// <summary>Entries of a spike list copied with the counts, before the count is known.</summary>
    private const int MinPrefetch = 4096;

    private static int Guess(DevicePopulation pop, int instance) =>
        (int)Math.Min(pop.Population.Size, MinPrefetch + pop.PreviousCounts[instance] + pop.PreviousCounts[instance] / 4L);

    /// <summary>
    /// Whether each step writes the spikes into the populations' host spike arrays (what the step
    /// loop reads today). Off, the spikes are only in the compacted host lists (<see cref="Spikes"/>):
    /// benchmarks measure both.
    /// </summary>
    internal bool MirrorHostSpikes { get; set; } = true;

    /// <summary>The compacted spikes of one instance after the last step: ascending indices and their values.</summary>
    internal (ReadOnlyMemory<int> Indices, ReadOnlyMemory<float> Values) Spikes(Population population, int instance)
    {
        var pop = _pops[population.Index];
        int o = instance * population.Size;
        int count = pop.PreviousCounts[instance];
        return (pop.HostIndex.AsMemory(o, count), pop.HostValue.AsMemory(o, count));
    }

    /// <summary>Copies state and delay lines back into the host arrays (spikes are always current there).</summary>
    public void RefreshHost()
    {
        if (_hostFresh || _dirty)
        {
            return;
        }

        // Through pinned staging arrays wrapped once (see HostView): the step loop refreshes at every step it records.
        foreach (var pop in _pops)
        {
            for (int v = 0; v < pop.StateCount; v++)
            {
                ((ArrayView<float>)pop.State[v].View).CopyTo(_stream, pop.StateStaging(v).View);
            }
        }

        foreach (var dp in _projections)
        {
            if (dp.Line is { } line)
            {
                ((ArrayView<float>)line.View).CopyTo(_stream, dp.LineStaging().View);
            }
        }

        _stream.Synchronize();
        foreach (var pop in _pops)
        {
            var state = pop.Population.State;
            for (int v = 0; v < pop.StateCount; v++)
            {
                pop.StateStaging(v).Host.AsSpan(0, state[v].Length).CopyTo(state[v]);
            }
        }

        foreach (var dp in _projections)
        {
            if (dp.Line is not null)
            {
                var host = dp.Projection.DelayLine;
                dp.LineStaging().Host.AsSpan(0, host.Length).CopyTo(host);
            }
        }

        _hostFresh = true;
    }

    public void HostEdited() => _dirty = true;

    /// <summary>Everything from the host: state, spikes, parameters, weights, delay lines; then the compacted spikes of every instance.</summary>
    private void Upload()
    {
        foreach (var pop in _pops)
        {
            pop.Upload();
        }

        foreach (var dp in _projections)
        {
            dp.Upload();
        }

        var all = _allInstances.View.SubView(0, _instances);
        foreach (var pop in _pops)
        {
            pop.Compact(all, _instances);
        }

        _stream.Synchronize();
        _dirty = false;
        _hostFresh = true;
    }

    public void Dispose()
    {
        foreach (var pop in _pops)
        {
            pop.Dispose();
        }

        foreach (var dp in _projections)
        {
            dp.Dispose();
        }

        foreach (var b in _owned)
        {
            b.Dispose();
        }
    }

    internal enum PopulationKind
    {
        Unsupported,
        Stateless,
        Leaky,
        SinabsLif,
        NorseLif,
        Synaptic,
        NorseIaf,
        Alpha,
        Lapicque,
        RLeaky,
        SinabsAlif,
        NorseLsnn,
        NorseLifBox,
        NorseLiBox,
        SinabsExpLeak,
        RSynaptic,
    }

    /// <summary>A population's buffers on the device, its rule and its compaction buffers.</summary>
    private sealed class DevicePopulation : IDisposable
    {
        private readonly DeviceNetwork _net;
        private readonly int _chunks;
        private MemoryBuffer1D<float, Stride1D.Dense> _lanes;
        private PopulationKind _kind;
        private LeakyDeviceRule _leaky;
        private SinabsLifDeviceRule _sinabs;
        private SynapticDeviceRule _synaptic;
        private AlphaDeviceRule _alpha;
        private LapicqueDeviceRule _lapicque;
        private RLeakyDeviceRule _rleaky;
        private SinabsAlifDeviceRule _alif;
        private NorseLifBoxDeviceRule _lifBox;
        private SinabsExpLeakDeviceRule _expLeak;
        private RSynapticDeviceRule _rsynaptic;

        public DevicePopulation(DeviceNetwork net, Population population)
        {
            _net = net;
            Population = population;
            var a = net._accelerator;
            int total = population.Size * net._instances;
            StateCount = population.State.Length;
            State = new MemoryBuffer1D<float, Stride1D.Dense>[StateCount];
            for (int v = 0; v < StateCount; v++)
            {
                State[v] = a.Allocate1D<float>(total);
            }

            Input = a.Allocate1D<float>(total);
            RecurrentInput = population.RecurrentInput.Length > 0 ? a.Allocate1D<float>(total) : null;
            Spikes = a.Allocate1D<float>(total);
            SpikeIndex = a.Allocate1D<int>(total);
            SpikeValue = a.Allocate1D<float>(total);
            Counts = a.Allocate1D<int>(net._instances);
            _chunks = (population.Size + net._k.Chunk - 1) / net._k.Chunk;
            ChunkCounts = a.Allocate1D<int>((long)_chunks * net._instances);
            ChunkOffsets = a.Allocate1D<int>((long)_chunks * net._instances);
            HostCounts = GC.AllocateArray<int>(net._instances, pinned: true);
            PreviousCounts = new int[net._instances];
            HostIndex = GC.AllocateArray<int>(total, pinned: true);
            HostValue = GC.AllocateArray<float>(total, pinned: true);
            net.PageLock(HostCounts);
            net.PageLock(HostIndex);
            net.PageLock(HostValue);
            HostCountsView = net.HostView(HostCounts);
            HostIndexView = net.HostView(HostIndex);
            HostValueView = net.HostView(HostValue);
            _lanes = a.Allocate1D<float>(1);
        }

        public Population Population { get; }

        public int StateCount { get; }

        public MemoryBuffer1D<float, Stride1D.Dense>[] State { get; }

        public MemoryBuffer1D<float, Stride1D.Dense> Input { get; }

        /// <summary>The recurrent input of a model that takes one (snntorch.RLeaky); null otherwise.</summary>
        public MemoryBuffer1D<float, Stride1D.Dense>? RecurrentInput { get; }

        public MemoryBuffer1D<float, Stride1D.Dense> Spikes { get; }

        public MemoryBuffer1D<int, Stride1D.Dense> SpikeIndex { get; }

        public MemoryBuffer1D<float, Stride1D.Dense> SpikeValue { get; }

        public MemoryBuffer1D<int, Stride1D.Dense> Counts { get; }

        public MemoryBuffer1D<int, Stride1D.Dense> ChunkCounts { get; }

        public MemoryBuffer1D<int, Stride1D.Dense> ChunkOffsets { get; }

        public MemoryBuffer1D<float, Stride1D.Dense>? Constant { get; set; }

        public int[] HostCounts { get; }

        public int[] PreviousCounts { get; }

        public int[] HostIndex { get; }

        public float[] HostValue { get; }

        public ArrayView<int> HostCountsView { get; }

        public ArrayView<int> HostIndexView { get; }

        public ArrayView<float> HostValueView { get; }

        private (float[] Host, ArrayView<float> View)? _staging;

        /// <summary>A pinned copy of the host input, made at the first external input: uploads go from it view to view.</summary>
        public (float[] Host, ArrayView<float> View) Staging()
        {
            if (_staging is { } staging)
            {
                return staging;
            }

            _staging = _net.Staging<float>(Population.Input.Length);
            return _staging.Value;
        }

        private (float[] Host, ArrayView<float> View)[]? _stateStaging;

        /// <summary>A pinned copy of state variable <paramref name="v"/>, made at the first <see cref="RefreshHost"/>.</summary>
        public (float[] Host, ArrayView<float> View) StateStaging(int v)
        {
            _stateStaging ??= new (float[], ArrayView<float>)[StateCount];
            if (_stateStaging[v].Host is null)
            {
                _stateStaging[v] = _net.Staging<float>(State[v].Length);
            }

            return _stateStaging[v];
        }

        public static PopulationKind KindOf(Population p) => p.Kernel switch
        {
            _ when p.Model is StatelessModel => PopulationKind.Stateless,
            VectorKernel<SnnTorchLeakyRule> k when !k.Rule.Inhibition => PopulationKind.Leaky,
            VectorKernel<SinabsLifRule> => PopulationKind.SinabsLif,
            VectorKernel<NorseLifRule> => PopulationKind.NorseLif,
            VectorKernel<SnnTorchSynapticRule> k when !k.Rule.Inhibition => PopulationKind.Synaptic,
            VectorKernel<NorseIafRule> => PopulationKind.NorseIaf,
            VectorKernel<SnnTorchAlphaRule> k when !k.Rule.Inhibition => PopulationKind.Alpha,
            VectorKernel<SnnTorchLapicqueRule> k when !k.Rule.Inhibition => PopulationKind.Lapicque,
            VectorKernel<SnnTorchRLeakyRule> k when !k.Rule.Inhibition => PopulationKind.RLeaky,
            VectorKernel<SinabsAlifRule> => PopulationKind.SinabsAlif,
            VectorKernel<NorseLsnnRule> => PopulationKind.NorseLsnn,
            VectorKernel<NorseLifBoxRule> => PopulationKind.NorseLifBox,
            VectorKernel<NorseLiBoxRule> => PopulationKind.NorseLiBox,
            VectorKernel<SinabsExpLeakRule> => PopulationKind.SinabsExpLeak,
            VectorKernel<SnnTorchRSynapticRule> k when !k.Rule.Inhibition => PopulationKind.RSynaptic,
            _ => PopulationKind.Unsupported,
        };

        /// <summary>State, spikes and parameter lanes from the host; the rule's flags from the current kernel.</summary>
        public void Upload()
        {
            var s = _net._stream;
            var p = Population;
            for (int v = 0; v < StateCount; v++)
            {
                State[v].View.CopyFromCPU(s, p.State[v].AsSpan());
            }

            Spikes.View.CopyFromCPU(s, p.Spikes.AsSpan());
            _kind = KindOf(p);
            float[] lanes = [0f];
            switch (p.Kernel)
            {
                case VectorKernel<SnnTorchLeakyRule> k:
                    _leaky = new LeakyDeviceRule((int)k.Rule.Reset, k.Rule.Delay ? 1 : 0);
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<SinabsLifRule> k:
                    var r = k.Rule;
                    _sinabs = new SinabsLifDeviceRule(r.Synaptic ? 1 : 0, r.NormInput ? 1 : 0, r.MultiSpike ? 1 : 0, r.ResetToValue ? 1 : 0, r.Clip ? 1 : 0);
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<NorseLifRule> k:
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<SnnTorchSynapticRule> k:
                    _synaptic = new SynapticDeviceRule((int)k.Rule.Reset, k.Rule.Delay ? 1 : 0);
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<NorseIafRule> k:
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<SnnTorchAlphaRule> k:
                    _alpha = new AlphaDeviceRule((int)k.Rule.Reset);
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<SnnTorchLapicqueRule> k:
                    _lapicque = new LapicqueDeviceRule((int)k.Rule.Reset);
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<SnnTorchRLeakyRule> k:
                    _rleaky = new RLeakyDeviceRule((int)k.Rule.Reset, k.Rule.Delay ? 1 : 0);
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<SinabsAlifRule> k:
                    var a = k.Rule;
                    _alif = new SinabsAlifDeviceRule(a.Synaptic ? 1 : 0, a.NormInput ? 1 : 0, a.MultiSpike ? 1 : 0, a.ResetToValue ? 1 : 0,
                        a.SubtractAdaptive ? 1 : 0, a.Clip ? 1 : 0);
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<NorseLsnnRule> k:
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<NorseLifBoxRule> k:
                    _lifBox = new NorseLifBoxDeviceRule(k.Rule.Subtract ? 1 : 0);
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<NorseLiBoxRule> k:
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<SinabsExpLeakRule> k:
                    _expLeak = new SinabsExpLeakDeviceRule(k.Rule.NormInput ? 1 : 0, k.Rule.Clip ? 1 : 0);
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<SnnTorchRSynapticRule> k:
                    _rsynaptic = new RSynapticDeviceRule((int)k.Rule.Reset);
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
            }

            _lanes.Dispose();
            _lanes = _net._accelerator.Allocate1D<float>(lanes.Length);
            _lanes.View.CopyFromCPU(s, lanes);

            // The host's spike arrays hold what the device holds: record their non-zero entries as "last step's".
            int size = p.Size;
            for (int i = 0; i < _net._instances; i++)
            {
                int o = i * size;
                int count = 0;
                for (int n = 0; n < size; n++)
                {
                    if (p.Spikes[o + n] != 0f)
                    {
                        HostIndex[o + count] = n;
                        HostValue[o + count] = p.Spikes[o + n];
                        count++;
                    }
                }

                PreviousCounts[i] = count;
            }
        }

        private float[] Lanes(int count, Func<int, int, float> lane)
        {
            int size = Population.Size;
            var lanes = new float[Math.Max(1, count * size)];
            for (int j = 0; j < count; j++)
            {
                for (int n = 0; n < size; n++)
                {
                    lanes[j * size + n] = lane(j, n);
                }
            }

            return lanes;
        }

        public void StepNeurons(ArrayView<int> due, int dc)
        {
            int size = Population.Size;
            if (dc == 0 || size == 0)
            {
                return;
            }

            var k = _net._k;
            switch (_kind)
            {
                case PopulationKind.Stateless:
                    k.Stateless(_net._stream, k.Cover((long)dc * size), Input.View, Spikes.View, due, dc, size);
                    break;
                case PopulationKind.Leaky: Launch(k.Leaky, _leaky, due, dc); break;
                case PopulationKind.SinabsLif: Launch(k.SinabsLif, _sinabs, due, dc); break;
                case PopulationKind.NorseLif: Launch(k.NorseLif, default, due, dc); break;
                case PopulationKind.Synaptic: Launch(k.Synaptic, _synaptic, due, dc); break;
                case PopulationKind.NorseIaf: Launch(k.NorseIaf, default, due, dc); break;
                case PopulationKind.Alpha: Launch(k.Alpha, _alpha, due, dc); break;
                case PopulationKind.Lapicque: Launch(k.Lapicque, _lapicque, due, dc); break;
                case PopulationKind.RLeaky: Launch(k.RLeaky, _rleaky, due, dc); break;
                case PopulationKind.SinabsAlif: Launch(k.SinabsAlif, _alif, due, dc); break;
                case PopulationKind.NorseLsnn: Launch(k.NorseLsnn, default, due, dc); break;
                case PopulationKind.NorseLifBox: Launch(k.NorseLifBox, _lifBox, due, dc); break;
                case PopulationKind.NorseLiBox: Launch(k.NorseLiBox, default, due, dc); break;
                case PopulationKind.SinabsExpLeak: Launch(k.SinabsExpLeak, _expLeak, due, dc); break;
                case PopulationKind.RSynaptic: Launch(k.RSynaptic, _rsynaptic, due, dc); break;
                default:
                    throw new InvalidOperationException($"population '{Population.Name}' ({Population.Model.Name}) has no device kernel");
            }
        }

        private void Launch<TRule>(NeuronLauncher<TRule> launcher, TRule rule, ArrayView<int> due, int dc)
            where TRule : struct, IDeviceRule
        {
            int size = Population.Size;
            var empty = _net._empty.View;
            launcher(_net._stream, _net._k.Cover((long)dc * size), rule,
                StateCount > 0 ? State[0].View : empty, StateCount > 1 ? State[1].View : empty,
                StateCount > 2 ? State[2].View : empty, StateCount > 3 ? State[3].View : empty,
                Input.View, RecurrentInput?.View ?? empty, Spikes.View, _lanes.View, due, dc, size, StateCount, RecurrentInput is null ? 0 : 1);
        }

        /// <summary>Counts per chunk, offsets by a prefix sum, then indices and values in ascending order.</summary>
        public void Compact(ArrayView<int> due, int dc)
        {
            int size = Population.Size;
            if (dc == 0 || size == 0)
            {
                return;
            }

            var k = _net._k;
            var s = _net._stream;
            if (_chunks == 1)
            {
                k.CompactSmall(s, k.Groups(dc), Spikes.View, due, size, Counts.View, SpikeIndex.View, SpikeValue.View);
                return;
            }

            var groups = k.Groups(dc * _chunks);
            k.CountChunks(s, groups, Spikes.View, due, size, _chunks, ChunkCounts.View);
            k.ScanChunks(s, k.Groups(dc), ChunkCounts.View, ChunkOffsets.View, Counts.View, due, _chunks);
            k.WriteChunks(s, groups, Spikes.View, due, size, _chunks, ChunkOffsets.View, SpikeIndex.View, SpikeValue.View);
        }

        public void Dispose()
        {
            foreach (var b in State)
            {
                b.Dispose();
            }

            Input.Dispose();
            RecurrentInput?.Dispose();
            Spikes.Dispose();
            SpikeIndex.Dispose();
            SpikeValue.Dispose();
            Counts.Dispose();
            ChunkCounts.Dispose();
            ChunkOffsets.Dispose();
            Constant?.Dispose();
            _lanes.Dispose();
        }
    }

    /// <summary>A projection's weights (dense: [source][target]), bias and delay line on the device.</summary>
    private sealed class DeviceProjection(DeviceNetwork net, Projection projection) : IDisposable
    {
        public Projection Projection { get; } = projection;

        public MemoryBuffer1D<float, Stride1D.Dense> Weights { get; private set; } = net._accelerator.Allocate1D<float>(1);

        public MemoryBuffer1D<float, Stride1D.Dense> Bias { get; private set; } = net._accelerator.Allocate1D<float>(1);

        public MemoryBuffer1D<float, Stride1D.Dense>? Line { get; } =
            projection.Delayed ? net._accelerator.Allocate1D<float>(Math.Max(1, projection.DelayLine.Length)) : null;

        public bool Weighted { get; private set; }

        private (float[] Host, ArrayView<float> View)? _lineStaging;

        /// <summary>A pinned copy of the delay line, made at the first <see cref="RefreshHost"/>.</summary>
        public (float[] Host, ArrayView<float> View) LineStaging() => _lineStaging ??= net.Staging<float>(Line!.Length);

        /// <summary>conv2d and sum pool geometry.</summary>
        public DeviceWindow Window { get; } = projection switch
        {
            Conv2dProjection c => ToWindow(c.Geometry),
            SumPool2dProjection p => ToWindow(p.Geometry),
            _ => default,
        };

        /// <summary>sparse: synapses grouped by target (CSC), start of each target's [target + 1].</summary>
        public MemoryBuffer1D<int, Stride1D.Dense>? ColumnStart { get; private set; }

        /// <summary>sparse: the source of each synapse, CSC order (weights are in <see cref="Weights"/>, same order).</summary>
        public MemoryBuffer1D<int, Stride1D.Dense>? ColumnSource { get; private set; }

        private static DeviceWindow ToWindow(Window2d g) => new()
        {
            InChannels = g.InChannels,
            Height = g.Height,
            Width = g.Width,
            OutChannels = g.OutChannels,
            OutHeight = g.OutHeight,
            OutWidth = g.OutWidth,
            KernelHeight = g.KernelHeight,
            KernelWidth = g.KernelWidth,
            StrideY = g.StrideY,
            StrideX = g.StrideX,
            PaddingY = g.PaddingY,
            PaddingX = g.PaddingX,
        };

        public bool HasBias { get; private set; }

        public void Upload()
        {
            var s = net._stream;
            var weights = Projection.CopyWeights();
            Weighted = weights.Length > 0;
            if (Projection is DenseProjection)
            {
                // The spec's [target][source] turned source-major, so that a spike reads one contiguous row.
                int nt = Projection.Target.Size, ns = Projection.Source.Size;
                var bySource = new float[Math.Max(1, weights.Length)];
                for (int t = 0; t < nt; t++)
                {
                    for (int src = 0; src < ns; src++)
                    {
                        bySource[(long)src * nt + t] = weights[(long)t * ns + src];
                    }
                }

                weights = bySource;
            }
            else if (Projection is SparseProjection sparse)
            {
                weights = ByTarget(sparse);
            }

            Replace(Weights, weights, b => Weights = b);
            var bias = Projection.CopyBias();
            HasBias = bias is { Length: > 0 };
            Replace(Bias, HasBias ? bias! : [0f], b => Bias = b);
            if (Line is { } line && Projection.DelayLine.Length > 0)
            {
                line.View.CopyFromCPU(s, Projection.DelayLine.AsSpan());
            }
        }

        /// <summary>
        /// The CSR synapses regrouped by target, each target's in the order the CPU's scatter adds them
        /// (source ascending, then CSR position): a counting sort that keeps that order.
        /// </summary>
        private float[] ByTarget(SparseProjection sparse)
        {
            var rowStart = sparse.RowStart;
            var post = sparse.Post;
            var csr = sparse.CsrWeights;
            int targets = Projection.Target.Size;
            var start = new int[targets + 1];
            foreach (int t in post)
            {
                start[t + 1]++;
            }

            for (int t = 0; t < targets; t++)
            {
                start[t + 1] += start[t];
            }

            var next = (int[])start.Clone();
            var sources = new int[Math.Max(1, post.Length)];
            var weights = new float[Math.Max(1, post.Length)];
            for (int src = 0; src + 1 < rowStart.Length; src++)
            {
                for (int k = rowStart[src]; k < rowStart[src + 1]; k++)
                {
                    int at = next[post[k]]++;
                    sources[at] = src;
                    weights[at] = csr[k];
                }
            }

            ColumnStart?.Dispose();
            ColumnSource?.Dispose();
            ColumnStart = net._accelerator.Allocate1D<int>(start.Length);
            ColumnStart.View.CopyFromCPU(net._stream, start);
            ColumnSource = net._accelerator.Allocate1D<int>(sources.Length);
            ColumnSource.View.CopyFromCPU(net._stream, sources);
            return weights;
        }

        private void Replace(MemoryBuffer1D<float, Stride1D.Dense> old, float[] values, Action<MemoryBuffer1D<float, Stride1D.Dense>> set)
        {
            if (values.Length == 0)
            {
                values = [0f];
            }

            var buffer = old;
            if (old.Length != values.Length)
            {
                old.Dispose();
                buffer = net._accelerator.Allocate1D<float>(values.Length);
                set(buffer);
            }

            buffer.View.CopyFromCPU(net._stream, values);
        }

        public void Dispose()
        {
            Weights.Dispose();
            Bias.Dispose();
            Line?.Dispose();
            ColumnStart?.Dispose();
            ColumnSource?.Dispose();
        }
    }
}
