using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Snn.Server.Engine;
using Snn.Server.Models;

namespace Snn.Server.Backends.Gpu;

/// <summary>
/// One network's buffers on the device and its steps there. The device holds the state. Each step's
/// spikes, compacted on the device, land in output lists the host reads: page-locked host memory
/// that the compaction kernels write over the bus (CUDA, ILGPU's CPU accelerator), or device lists
/// copied back after the step (OpenCL, which cannot map host memory); see <see cref="DeviceOutputs"/>.
/// Those lists have several slots, so the step loop can queue a chain of steps (a LOCKSTEP request
/// that advances many) and wait once: <see cref="BeginChain"/>, <see cref="Enqueue"/> per step,
/// <see cref="Complete"/>. The populations' host arrays (state, spikes, delay lines) are made current
/// only when <see cref="RefreshHost"/> asks; after the loop edits them (reset, SetParameters)
/// <see cref="HostEdited"/> has everything uploaded again.
/// </summary>
internal sealed partial class DeviceNetwork : IDisposable
{
    /// <summary>Most steps one chain queues.</summary>
    public const int MaxChainSteps = 128;

    /// <summary>Most bytes of output and input slots a network holds for chains (a chain of large populations is shorter).</summary>
    public const long MaxChainBytes = 64L << 20;

    private readonly GpuBackend _backend;
    private readonly Network _network;
    private readonly Accelerator _accelerator;
    private AcceleratorStream _stream; // the backend's stream; a capture stream while a chain is captured into a graph
    private readonly DeviceKernelSet _k;
    private readonly DevicePopulation[] _pops;
    private readonly DeviceProjection[] _projections;
    private readonly int _instances;
    private readonly bool _mapped;

    /// <summary>
    /// Per step slot, uploaded when it changed: [due list][per projection: source offset per due][per
    /// projection: bias on per due]. <see cref="_stepIntsLength"/> ints a slot.
    /// </summary>
    private int[] _stepInts = [];
    private ArrayView<int> _stepIntsHost;
    private MemoryBuffer1D<int, Stride1D.Dense>? _stepIntsDevice;
    private readonly List<IDisposable> _stepIntsOwned = []; // the step ints' page lock, freed when the slots change
    private readonly int _stepIntsLength;
    private readonly int[] _stepScratch;
    private bool[] _stepIntsStale = [];

    /// <summary>Per slot: whether its step ints changed (uploaded), and the external input rows to upload (population × instances + instance).</summary>
    private bool[] _intsChanged = [];
    private List<int>[] _uploads = [];
    private int _dc;

    /// <summary>While a chain's steps are sent: their event lists are on the device already (see <see cref="SendSteps"/>).</summary>
    private bool _eventsOnDevice;

    /// <summary>Steps of the chain begun (0 or 1: each step is sent as it is enqueued).</summary>
    private int _chain;

    /// <summary>Steps of the chain prepared (enqueued) and sent to the device so far (see <see cref="SendPrepared"/>).</summary>
    private int _prepared;
    private int _sent;

    /// <summary>CUDA: per part of the chain sent, an event recorded after it and the steps it ends at (see <see cref="WaitFor"/>); the events are kept for the next chains.</summary>
    private readonly List<IntPtr> _partEvents = [];
    private readonly List<int> _partEnds = [];

    private readonly List<int> _chainKey = [];
    private readonly ChainGraphs _graphs;

    /// <summary>Slots written since the last wait: their pinned host regions may still be read by queued copies.</summary>
    private bool[] _slotQueued = [];
    private bool _anyQueued;
    private int _usedSlots;

    /// <summary>The slot that holds each instance's latest step (-1: none since the host arrays were last current).</summary>
    private readonly int[] _latestSlot;

    /// <summary>Instances whose host spike rows are behind their latest step.</summary>
    private readonly bool[] _spikesBehind;

    private readonly MemoryBuffer1D<int, Stride1D.Dense> _allInstances;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _empty;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _noEvents; // an int view for kernel arguments that are unused (no events, no fused projection)
    private readonly List<IDisposable> _owned = [];
    private bool _dirty = true;
    private bool _parametersStale = true; // with _dirty: the kernels, parameters or weights changed too (see HostEdited)
    private bool _hostFresh = true;

    /// <summary>
    /// Makes the network's buffers. Its copies go on <paramref name="aside"/> where given (a stream of a thread that
    /// places the network off the loop, see <see cref="UploadParametersAside"/>), else on the backend's stream.
    /// </summary>
    public DeviceNetwork(GpuBackend backend, Network network, AcceleratorStream? aside = null)
    {
        _backend = backend;
        _network = network;
        _accelerator = backend.Accelerator;
        _stream = aside ?? backend.Stream;
        _k = backend.Kernels;
        _mapped = backend.MapsHostMemory;
        _graphs = new ChainGraphs(backend.Accelerator is CudaAccelerator && CudaGraphs.Available);
        _instances = network.Instances.Length;
        _stepIntsLength = _instances * (1 + 2 * network.Projections.Length);
        _stepScratch = new int[_stepIntsLength];
        _latestSlot = new int[_instances];
        Array.Fill(_latestSlot, -1);
        _spikesBehind = new bool[_instances];
        long neurons = network.Populations.Sum(p => (long)p.Size) * _instances;
        MaxSlots = (int)Math.Clamp(MaxChainBytes / Math.Max(1, 12 * neurons), 1, MaxChainSteps);
        try
        {
            _empty = Own(Allocate<float>(1));
            _noEvents = Own(Allocate<int>(1));
            _pops = network.Populations.Select(p => new DevicePopulation(this, p)).ToArray();
            _projections = network.Projections.Select(j => new DeviceProjection(this, j)).ToArray();
            _allInstances = Own(Allocate<int>(_instances));
            _allInstances.View.CopyFromCPU(_stream, Enumerable.Range(0, _instances).ToArray());
            Reserve(1);
        }
        catch
        {
            // Whatever was made before the failure (a device with no room for the next buffer) is freed again.
            _stream.Synchronize();
            for (int b = _building!.Count - 1; b >= 0; b--)
            {
                _building[b].Dispose();
            }

            throw;
        }
        finally
        {
            _building = null;
        }
    }

    /// <summary>The stream this network's copies and launches go on now (see the constructor and <see cref="ChainGraphs"/>).</summary>
    internal AcceleratorStream Stream => _stream;

    /// <summary>
    /// Most steps a chain of this network can queue: <see cref="MaxChainSteps"/>, fewer where the slots would pass
    /// <see cref="MaxChainBytes"/>, or where the device had no room for more (see <see cref="BeginChain"/>).
    /// </summary>
    public int MaxSlots { get; private set; }

    /// <summary>Step slots allocated so far (grown by <see cref="BeginChain"/> up to <see cref="MaxSlots"/>).</summary>
    public int Slots { get; private set; }

    /// <summary>Whether every population and projection of <paramref name="network"/> has device kernels.</summary>
    public static bool Supports(Network network) => Unsupported(network) is null;

    /// <summary>What of <paramref name="network"/> has no device kernel yet, or null when everything has one.</summary>
    public static string? Unsupported(Network network)
    {
        foreach (var p in network.Populations)
        {
            if (DevicePopulation.KindOf(p) == PopulationKind.Unsupported)
            {
                return $"population '{p.Name}' ({p.Model.Name})";
            }
        }

        foreach (var j in network.Projections)
        {
            if (j is not (DenseProjection or OneToOneProjection or Conv2dProjection or SumPool2dProjection or SparseProjection))
            {
                return $"projection '{j.Name}' ({j.Kind})";
            }
        }

        return null;
    }

    /// <summary>
    /// A constant input for a population without incoming projections, resident on the device and read
    /// in place by its kernel at every step instead of its input (benchmarks: the peers' resident x).
    /// </summary>
    internal void SetConstantInput(Population population, float[] perInstance)
    {
        if (population.Incoming.Count > 0)
        {
            throw new InvalidOperationException($"population '{population.Name}' has incoming projections; a constant input replaces its input");
        }

        var p = _pops[population.Index];
        _graphs.Clear();
        p.Constant?.Dispose();
        p.Constant = Allocate<float>(perInstance.Length);
        p.Constant.View.CopyFromCPU(_stream, perInstance);
    }

    /// <summary>A pinned, page-locked host array of <paramref name="length"/> elements (at least one) with a view of those elements, made once (see <see cref="PinnedHost"/>).</summary>
    internal (T[] Host, ArrayView<T> View) Staging<T>(long length, List<IDisposable>? owner = null)
        where T : unmanaged
    {
        owner ??= _owned;
        int before = owner.Count;
        T[] host;
        ArrayView<T> view;
        try
        {
            host = PinnedHost.Allocate<T>(_accelerator, length, owner, out view);
        }
        catch (Exception e) when (DeviceMemoryException.IsOutOfMemory(e) && e is not DeviceMemoryException)
        {
            throw new DeviceMemoryException($"the driver refused to page-lock {StepLoop.FormatBytes(Math.Max(1, length) * Unsafe.SizeOf<T>())} of host memory ({e.Message.Trim()})", e);
        }
        finally
        {
            for (int k = before; k < owner.Count && _building is not null; k++)
            {
                _building.Add(owner[k]);
            }
        }

        return (host, view);
    }

    /// <summary>
    /// A device buffer of <paramref name="length"/> elements: the one way this network's device memory is
    /// made. Where the device has no room for it, <see cref="DeviceMemoryException"/> (see
    /// <see cref="GpuBackend.Find"/>, <see cref="GpuBackend.HostEdited"/> and <see cref="BeginChain"/>).
    /// </summary>
    internal MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(long length)
        where T : unmanaged
    {
        long bytes = length * Unsafe.SizeOf<T>();
        MemoryBuffer1D<T, Stride1D.Dense> buffer;
        try
        {
            if (_backend.RefuseAllocation?.Invoke(bytes) == true)
            {
                throw new DeviceMemoryException($"the driver refused {StepLoop.FormatBytes(bytes)} (a test refused it)");
            }

            buffer = _accelerator.Allocate1D<T>(length);
        }
        catch (Exception e) when (DeviceMemoryException.IsOutOfMemory(e) && e is not DeviceMemoryException)
        {
            throw new DeviceMemoryException($"the driver refused {StepLoop.FormatBytes(bytes)} ({e.Message.Trim()})", e);
        }

        _building?.Add(buffer);
        _backend.Allocated?.Invoke(buffer);
        return buffer;
    }

    /// <summary>While the constructor runs: every buffer and page lock made so far, freed again if it fails.</summary>
    private readonly List<IDisposable>? _building = [];

    private T Own<T>(T buffer)
        where T : IDisposable
    {
        _owned.Add(buffer);
        return buffer;
    }

    private ArrayView<int> StepInts(int slot) => _stepIntsDevice!.View.SubView((long)slot * _stepIntsLength, _stepIntsLength);

    private static ArrayView<int> Due(ArrayView<int> ints, int count) => ints.SubView(0, count);

    private ArrayView<int> ProjectionInts(ArrayView<int> ints, int projection, int part, int count) =>
        ints.SubView((long)_instances * (1 + 2 * projection + part), count);

    /// <summary>One step whose outputs are read at once: <see cref="Enqueue"/> into slot 0, then <see cref="Complete"/>.</summary>
    public void Step(ReadOnlySpan<int> due) => Step(due, copyBack: true);

    /// <summary>
    /// One step into slot 0; with <paramref name="copyBack"/> false nothing waits (the device's
    /// throughput, for benchmarks: the outputs are then unread until the next step that waits).
    /// </summary>
    internal void Step(ReadOnlySpan<int> due, bool copyBack)
    {
        Enqueue(due, 0);
        if (copyBack)
        {
            Complete();
        }
    }

    /// <summary>
    /// Readies a chain of up to <paramref name="steps"/> steps (growing the slots the first time a
    /// chain is longer than they are) and returns how many it can queue: at least 1, at most
    /// <see cref="MaxSlots"/>. Nothing may be queued when it is called. The steps of a chain of two or
    /// more are prepared on the host as they are enqueued and sent to the device at
    /// <see cref="Complete"/>, on CUDA as one graph once the same chain shape comes back.
    /// </summary>
    public int BeginChain(int steps)
    {
        int k = Math.Clamp(steps, 1, MaxSlots);
        if (k > Slots)
        {
            int had = Slots;
            try
            {
                Reserve(MaxSlots);
            }
            catch (DeviceMemoryException e)
            {
                // The slots it had are free again: it keeps that many, and chains no longer than them.
                Reserve(had);
                MaxSlots = had;
                k = had;
                _backend.Note(_network, $"chains of at most {had} step(s) from now on, the device has no room for longer ones: {e.Message}");
            }
        }

        _chain = k;
        ForgetParts();
        return k;
    }

    /// <summary>Allocates the step slots (output lists, step ints) for <paramref name="slots"/> steps, after waiting for anything queued.</summary>
    private void Reserve(int slots)
    {
        if (_anyQueued)
        {
            Wait();
        }

        // The output lists are made anew: an instance whose latest spikes are only there (one the last
        // steps left out) keeps them in its host rows.
        CatchUpSpikes();
        foreach (var pop in _pops)
        {
            pop.Outputs.Reserve(slots);
            pop.ResetInputStaging();
        }

        _stepIntsDevice?.Dispose();
        _stepIntsDevice = null;
        foreach (var b in _stepIntsOwned)
        {
            b.Dispose();
        }

        _stepIntsOwned.Clear();
        _stepIntsDevice = Allocate<int>(Math.Max(1, (long)slots * _stepIntsLength));
        var (host, view) = Staging<int>((long)slots * _stepIntsLength, _stepIntsOwned);
        _stepInts = host;
        _stepIntsHost = view;
        _stepIntsStale = Enumerable.Repeat(true, slots).ToArray();
        _slotQueued = new bool[slots];
        _intsChanged = new bool[slots];
        _uploads = Enumerable.Range(0, slots).Select(_ => new List<int>()).ToArray();
        Slots = slots;
        _graphs.Clear();
    }

    /// <summary>
    /// Queues one step of the instances in <paramref name="due"/> (ascending) whose outputs go to
    /// <paramref name="slot"/>; nothing waits unless a pinned region of that slot is still being read
    /// by an earlier queued step (the same slot queued twice without <see cref="Complete"/>).
    /// </summary>
    public void Enqueue(ReadOnlySpan<int> due, int slot)
    {
        if (_dirty)
        {
            Upload();
        }

        Prepare(due, slot);
        if (_chain < 2)
        {
            Send(slot);
        }
        else
        {
            _prepared = Math.Max(_prepared, slot + 1);
        }
    }

    /// <summary>
    /// Sends the chain's steps prepared since the last send, so that the device runs them while the host
    /// prepares the rest (and, after <see cref="WaitFor"/>, hands out their outputs). On CUDA an event
    /// marks where each such part ends. Nothing happens outside a chain of two or more.
    /// </summary>
    public void SendPrepared()
    {
        if (_chain < 2 || _prepared <= _sent)
        {
            return;
        }

        SendChain(_sent, _prepared);
        _sent = _prepared;
        if (_accelerator is CudaAccelerator)
        {
            using var binding = _accelerator.BindScoped();
            int part = _partEnds.Count;
            if (part == _partEvents.Count)
            {
                CudaException.ThrowIfFailed(CudaAPI.CurrentAPI.CreateEvent(out var created, CudaEventFlags.CU_EVENT_DISABLE_TIMING));
                _partEvents.Add(created);
            }

            CudaException.ThrowIfFailed(CudaAPI.CurrentAPI.RecordEvent(_partEvents[part], ((CudaStream)_stream).StreamPtr));
            _partEnds.Add(_sent);
        }
    }

    /// <summary>A chain begins or ends: no steps prepared or sent, no part events to wait for.</summary>
    private void ForgetParts()
    {
        _prepared = _sent = 0;
        _partEnds.Clear();
    }

    /// <summary>
    /// Whether the chain's first <paramref name="steps"/> steps are done and their spikes readable,
    /// waiting for them but not for the parts sent after (CUDA: the event of the part they end in;
    /// ILGPU's CPU accelerator: everything queued, its spikes are in host memory already). False where
    /// only <see cref="Complete"/> makes them readable (OpenCL copies the lists back there) or where
    /// they were not sent yet.
    /// </summary>
    public bool WaitFor(int steps)
    {
        if (_chain < 2 || steps > _sent || !_mapped)
        {
            return false;
        }

        if (_accelerator is CudaAccelerator)
        {
            // The first part that ends at or after those steps.
            for (int part = 0; part < _partEnds.Count; part++)
            {
                if (_partEnds[part] >= steps)
                {
                    using var binding = _accelerator.BindScoped();
                    CudaException.ThrowIfFailed(CudaAPI.CurrentAPI.SynchronizeEvent(_partEvents[part]));
                    return true;
                }
            }

            return false;
        }

        _stream.Synchronize();
        return true;
    }

    /// <summary>
    /// The host's part of a step: the step ints and the external input rows written to <paramref name="slot"/>'s
    /// pinned regions, and what the device must upload for it noted.
    /// </summary>
    private void Prepare(ReadOnlySpan<int> due, int slot)
    {
        _hostFresh = false;
        int dc = due.Length;
        _dc = dc;
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

        // Uploaded only when it changed (a network whose instances all step, without delays, uploads each slot's once).
        var hostInts = _stepInts.AsSpan(slot * _stepIntsLength, _stepIntsLength);
        _intsChanged[slot] = _stepIntsStale[slot] || !next.AsSpan().SequenceEqual(hostInts);
        if (_intsChanged[slot])
        {
            Reuse(slot);
            next.CopyTo(hostInts);
            _stepIntsStale[slot] = false;
        }

        // External input: whole rows through the input staging, or the entries events touched through
        // the event staging ([due] counts, then per due instance its (index, value bits) pairs).
        var uploads = _uploads[slot];
        uploads.Clear();
        foreach (var pop in _pops)
        {
            var host = pop.Population;
            if (host.InputMarksIfAny is not { } marks)
            {
                continue;
            }

            int size = host.Size;
            Span<int> events = default;
            for (int d = 0; d < dc; d++)
            {
                int i = due[d];
                if (!marks.Any(i))
                {
                    continue;
                }

                // What is taken from the host row is cleared there (the loop relies on it, see IComputeBackend.KeepsHostInputsZero).
                Reuse(slot);
                if (marks.Dense(i))
                {
                    var staging = pop.InputStaging(slot);
                    var row = host.Input.AsSpan(i * size, size);
                    row.CopyTo(staging.Host.AsSpan(staging.Offset + i * size, size));
                    row.Clear();
                    uploads.Add(host.Index * _instances + i);
                }
                else
                {
                    if (events.IsEmpty)
                    {
                        events = pop.EventStaging(slot);
                        events[..dc].Clear();
                        uploads.Add(-1 - host.Index);
                    }

                    var touched = marks.Events(i);
                    var pairs = events.Slice(dc + 2 * marks.Capacity * d, 2 * touched.Length);
                    var x = host.Input.AsSpan(i * size, size);
                    for (int k = 0; k < touched.Length; k++)
                    {
                        pairs[2 * k] = touched[k];
                        pairs[2 * k + 1] = BitConverter.SingleToInt32Bits(x[touched[k]]);
                    }

                    foreach (int n in touched)
                    {
                        x[n] = 0f; // after all are read: a neuron may be listed more than once
                    }

                    events[d] = touched.Length;
                }

                marks.Clear(i);
            }
        }

        foreach (int i in due)
        {
            _latestSlot[i] = slot;
            _spikesBehind[i] = true;
        }

        foreach (var pop in _pops)
        {
            foreach (int i in due)
            {
                pop.Listed[i] = pop.HostLists;
            }
        }

        _slotQueued[slot] = true;
        _anyQueued = true;
        _usedSlots = Math.Max(_usedSlots, slot + 1);
    }

    /// <summary>The device's part of the step prepared in <paramref name="slot"/>: uploads, deliveries, neuron steps and compaction, delay lines.</summary>
    private void Send(int slot)
    {
        int dc = _dc;
        var ints = StepInts(slot);
        if (_intsChanged[slot])
        {
            PinnedHost.Upload(_stream, _stepIntsHost.SubView((long)slot * _stepIntsLength, _stepIntsLength), (ArrayView<int>)ints);
        }

        var dueView = Due(ints, dc);
        var uploads = _uploads[slot];
        foreach (int p in _network.Order)
        {
            var pop = _pops[p];
            int size = pop.Population.Size;
            var events = _noEvents.View;
            int eventCapacity = 0;

            // The uploads of this slot (as Prepare listed them): whole rows, then the population's events.
            for (int u = 0; u < uploads.Count; u++)
            {
                int at = uploads[u];
                if (at >= 0 && at / _instances == p)
                {
                    int i = at % _instances;
                    var staging = pop.InputStaging(slot);
                    PinnedHost.Upload(_stream, staging.View.SubView((long)i * size, size), ((ArrayView<float>)pop.Input.View).SubView((long)i * size, size));
                }
                else if (at == -1 - p)
                {
                    // A chain's were copied before its first step; a step alone reads them in place where kernels can read
                    // the pinned staging at its device address (no copy to wait for), else copies them first.
                    int capacity = pop.Population.InputMarks.Capacity;
                    var (host, device) = pop.EventViews(slot, dc + 2L * capacity * dc);
                    var list = _mapped && !_eventsOnDevice ? host : device;
                    if (!_eventsOnDevice && !_mapped)
                    {
                        PinnedHost.Upload(_stream, host, device);
                    }

                    if (pop.ScattersOwnEvents)
                    {
                        (events, eventCapacity) = (list, capacity);
                    }
                    else
                    {
                        _k.ScatterEvents(_stream, _k.Groups(dc), pop.Input.View, list, dueView, dc, size, capacity);
                    }
                }
            }

            // The projections in order; a one-to-one last is applied by the neuron kernel as it reads the input.
            var incoming = pop.Population.Incoming;
            var fused = Fusion.None(this);
            for (int q = 0; q < incoming.Count; q++)
            {
                var dp = _projections[incoming[q].Index];
                if (q == incoming.Count - 1 && dp.FusesIntoTarget)
                {
                    fused = new Fusion(dp.Weights.View, dp.Projection.Delayed ? dp.Line!.View : _pops[dp.Projection.Source.Index].Spikes.View,
                        ProjectionInts(ints, dp.Projection.Index, 0, dc), dp.Weighted ? 2 : 1);
                }
                else
                {
                    Deliver(dp, pop, ints, dueView, dc);
                }
            }

            pop.Step(new StepArguments(dueView, dc, slot, events, eventCapacity, fused));
        }

        for (int j = 0; j < _projections.Length; j++)
        {
            var dp = _projections[j];
            if (dp.Projection.Delayed && dc > 0 && dp.Projection.Source.Size > 0)
            {
                var source = _pops[dp.Projection.Source.Index];
                int size = dp.Projection.Source.Size;
                _k.RecordDelay(_stream, _k.Cover((long)dc * size), source.Spikes.View, dp.Line!.View,
                    ProjectionInts(ints, j, 0, dc), dueView, dc, size, source.Counts.View, dp.LineCounts!.View);
            }
        }
    }

    /// <summary>
    /// Sends a prepared chain and waits for it; then the queued steps' spikes are readable
    /// (<see cref="Spikes(Population, int, int)"/>). A chain is sent step by step the first time its
    /// shape (length, due instances, per step: step ints changed, uploads) is seen; on CUDA, the second time it is captured
    /// into a graph, and from then on that graph is launched: one call instead of hundreds.
    /// </summary>
    public void Complete()
    {
        int chain = _chain;
        _chain = 0;
        if (!_anyQueued)
        {
            return;
        }

        if (chain >= 2 && _prepared > _sent)
        {
            SendChain(_sent, _prepared);
        }

        ForgetParts();
        if (!_mapped)
        {
            // OpenCL: the counts of every used slot, then each instance's list of that length (where the host reads them).
            foreach (var pop in _pops)
            {
                if (pop.HostLists)
                {
                    pop.Outputs.CopyCounts(_usedSlots);
                }
            }

            _stream.Synchronize();
            foreach (var pop in _pops)
            {
                if (pop.HostLists)
                {
                    pop.Outputs.CopyLists(_usedSlots);
                }
            }
        }

        Wait();
    }

    /// <summary>Sends the chain's steps in slots <paramref name="from"/> to <paramref name="to"/> - 1 (as one graph once the shape repeats).</summary>
    private void SendChain(int from, int to)
    {
        var key = _chainKey;
        key.Clear();
        key.Add(from);
        key.Add(to);
        key.Add(_dc);
        key.AddRange(_stepScratch.AsSpan(0, _dc));
        for (int p = 0; p < _pops.Length; p += 32)
        {
            int lists = 0;
            for (int q = p; q < Math.Min(_pops.Length, p + 32); q++)
            {
                lists |= _pops[q].HostLists ? 1 << (q - p) : 0;
            }

            key.Add(lists);
        }

        for (int slot = from; slot < to; slot++)
        {
            key.Add(_intsChanged[slot] ? 1 : 0);
            key.Add(_uploads[slot].Count);
            key.AddRange(CollectionsMarshal.AsSpan(_uploads[slot]));
        }

        var graph = _graphs.Find(key);
        if (graph == IntPtr.Zero && _graphs.Enabled && _graphs.SeenBefore(key))
        {
            graph = Capture(from, to);
            if (graph != IntPtr.Zero)
            {
                _graphs.Add(key, graph);
            }
        }

        if (graph != IntPtr.Zero)
        {
            using var binding = _accelerator.BindScoped();
            CudaGraphs.Launch(graph, ((CudaStream)_stream).StreamPtr);
            GraphLaunches++;
            return;
        }

        SendSteps(from, to);
    }

    /// <summary>
    /// The device work of a chain's steps in slots <paramref name="from"/> to <paramref name="to"/> - 1: the
    /// event lists of all of them copied first, one copy per population that has any (a step sent alone
    /// reads them in place where it can, see <see cref="Send(int)"/>), then each step's.
    /// </summary>
    private void SendSteps(int from, int to)
    {
        foreach (var pop in _pops)
        {
            int listed = -1 - pop.Population.Index;
            for (int slot = from; slot < to; slot++)
            {
                if (_uploads[slot].Contains(listed))
                {
                    var (host, device) = pop.EventSlots(from, to - from);
                    PinnedHost.Upload(_stream, host, device);
                    break;
                }
            }
        }

        _eventsOnDevice = true;
        try
        {
            for (int slot = from; slot < to; slot++)
            {
                Send(slot);
            }
        }
        finally
        {
            _eventsOnDevice = false;
        }
    }

    /// <summary>
    /// The chain's device work captured into a CUDA graph on a capture stream. Its copies read the
    /// pinned regions when it runs; which step ints are uploaded is part of the chain's shape (unchanged
    /// ones are on the device already). Zero, with graphs turned off for this network, if the driver refuses.
    /// </summary>
    private IntPtr Capture(int from, int to)
    {
        var main = _stream;
        var capture = _backend.CaptureStream;
        using var binding = _accelerator.BindScoped();
        IntPtr graph = IntPtr.Zero;
        try
        {
            CudaGraphs.BeginCapture(capture.StreamPtr);
            _stream = capture;
            try
            {
                SendSteps(from, to);
            }
            finally
            {
                _stream = main;
                int ended = CudaGraphs.EndCapture(capture.StreamPtr, out graph);
                if (ended != 0)
                {
                    throw new InvalidOperationException($"cuStreamEndCapture failed with CUDA error {ended}");
                }
            }

            return CudaGraphs.Instantiate(graph);
        }
        catch (Exception e)
        {
            _graphs.Disable();
            _backend.Note(_network, $"chains without CUDA graphs ({e.Message})");
            return IntPtr.Zero;
        }
    }

    /// <summary>Chains sent as one CUDA graph launch (for the device check).</summary>
    internal long GraphLaunches { get; private set; }

    /// <summary>Before a pinned region of <paramref name="slot"/> is rewritten: waits if a queued step may still read it.</summary>
    private void Reuse(int slot)
    {
        if (_slotQueued[slot] && _chain < 2)
        {
            Wait();
        }
        else if (_slotQueued[slot])
        {
            throw new InvalidOperationException($"chain slot {slot} was enqueued twice before Complete");
        }
    }

    /// <summary>Waits for everything queued (benchmarks that queue steps without reading them).</summary>
    internal void Synchronize() => Wait();

    /// <summary>
    /// Device check: per population larger than one chunk, microseconds per launch of its compaction
    /// passes (see DevicePopulation.TimeCompaction), instance 0 due. Leaves the population's lists as
    /// a step would: call after the steps whose figures are wanted.
    /// </summary>
    internal IReadOnlyList<(string Population, double Neuron, double Count, double Scan, double Write)> TimeCompaction(int reps)
    {
        Wait();
        var due = _allInstances.View.SubView(0, 1);
        var times = new List<(string, double, double, double, double)>();
        foreach (var pop in _pops)
        {
            if (pop.Population.Size > _k.Chunk)
            {
                var (neuron, count, scan, write) = pop.TimeCompaction(due, 1, reps);
                times.Add((pop.Population.Name, neuron, count, scan, write));
            }
        }

        Wait();
        return times;
    }

    private void Wait()
    {
        _stream.Synchronize();
        Array.Clear(_slotQueued);
        _anyQueued = false;
        _usedSlots = 0;
    }

    /// <summary>
    /// One population's step: the due instances (<paramref name="Due"/>, <paramref name="DueCount"/>), the slot
    /// its spikes go to, this step's event lists when the population writes them itself
    /// (<paramref name="EventCapacity"/> not 0, see DevicePopulation.ScattersOwnEvents) and a one-to-one projection
    /// its kernel applies as it reads the input.
    /// </summary>
    private readonly record struct StepArguments(ArrayView<int> Due, int DueCount, int Slot, ArrayView<int> Events, int EventCapacity, Fusion Fused);

    /// <summary>A one-to-one projection for its target's neuron kernel to apply (see DeviceKernels.FusedOneToOne): weights, source rows, row offset per due instance, mode (0 none, 1 unweighted, 2 weighted).</summary>
    private readonly record struct Fusion(ArrayView<float> Weights, ArrayView<float> Source, ArrayView<int> Offset, int Mode)
    {
        public static Fusion None(DeviceNetwork net) => new(net._empty.View, net._empty.View, net._noEvents.View, 0);
    }

    private void Deliver(DeviceProjection dp, DevicePopulation target, ArrayView<int> ints, ArrayView<int> due, int dc)
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
        var offsets = ProjectionInts(ints, j, 0, dc);
        var biasOn = ProjectionInts(ints, j, 1, dc);
        var rows = projection.Delayed ? dp.Line!.View : source.Spikes.View;
        var counts = projection.Delayed ? dp.LineCounts!.View : source.Counts.View; // spikes per row, indexed by row offset / source size
        var into = projection.IntoRecurrentInput ? target.RecurrentInput!.View : target.Input.View;
        if (projection is Conv2dProjection)
        {
            _k.Conv2d(_stream, config, into, dp.Weights.View, dp.Bias.View, rows, offsets, counts, due, biasOn, dp.Window, dc);
        }
        else if (projection is SumPool2dProjection)
        {
            _k.SumPool2d(_stream, config, into, rows, offsets, counts, due, dp.Window, dc);
        }
        else if (projection is SparseProjection)
        {
            _k.Sparse(_stream, config, into, dp.ColumnStart!.View, dp.ColumnSource!.View, dp.Weights.View, dp.Bias.View, rows, offsets,
                counts, due, biasOn, dc, size, sourceSize);
        }
        else if (projection is OneToOneProjection)
        {
            _k.OneToOne(_stream, config, into, dp.Weights.View, dp.Weighted ? 1 : 0, rows, offsets, due, dc, size);
        }
        else if (projection.Delayed)
        {
            _k.DenseFromRow(_stream, config, into, dp.Weights.View, dp.Bias.View, rows, offsets, sourceSize, due, biasOn, dc, size);
        }
        else if ((long)dc * size < _backend.DenseTiledBelowTargets && sourceSize > DeviceKernels.TileDepth)
        {
            int width = Math.Min(DeviceKernels.TileWidth, _k.GroupSize);
            _k.DenseTiled(_stream, _k.Groups(dc * ((size + width - 1) / width)), into, dp.Weights.View, dp.Bias.View,
                source.SpikeIndex.View, source.SpikeValue.View, source.Counts.View, sourceSize, due, biasOn, dc, size);
        }
        else
        {
            _k.DenseFromEvents(_stream, config, into, dp.Weights.View, dp.Bias.View,
                source.SpikeIndex.View, source.SpikeValue.View, source.Counts.View, sourceSize, due, biasOn, dc, size);
        }
    }

    /// <summary>
    /// The compacted spikes of one instance at the step queued into <paramref name="slot"/> (after
    /// <see cref="Complete"/>): ascending indices and their values.
    /// </summary>
    internal SpikeList Spikes(Population population, int instance, int slot)
    {
        var pop = _pops[population.Index];
        return pop.HostLists ? pop.Outputs.List(slot, instance) : throw NotRead(population);
    }

    /// <summary>The compacted spikes of one instance at its latest step (after <see cref="Complete"/>; the device check).</summary>
    internal SpikeList Spikes(Population population, int instance)
    {
        var pop = _pops[population.Index];
        return pop.Listed[instance] || _latestSlot[instance] < 0 ? pop.Outputs.List(Math.Max(0, _latestSlot[instance]), instance) : throw NotRead(population);
    }

    private static InvalidOperationException NotRead(Population population) =>
        new($"population '{population.Name}''s spikes were not written for the host: the loop did not name it in ReadSpikes");

    /// <summary>
    /// Which populations' spikes the host reads (<see cref="Spikes(Population, int, int)"/>) from the steps enqueued
    /// from now on, by population index: only theirs are written into the output lists, over the bus (see
    /// DevicePopulation.HostLists). Every population's until this is called. Between chains: a step takes the flags as
    /// they are when it is sent (a chain's steps left prepared and unsent by a failure are dropped by the next chain).
    /// </summary>
    public void ReadSpikes(ReadOnlySpan<bool> read)
    {
        if (read.Length != _pops.Length)
        {
            throw new ArgumentException($"{read.Length} flags for {_pops.Length} populations", nameof(read));
        }

        for (int p = 0; p < _pops.Length; p++)
        {
            _pops[p].HostLists = read[p];
        }
    }

    /// <summary>
    /// Makes the host arrays current: state and delay lines copied back, and each instance's spike row
    /// rewritten from the list of its latest step. Queued steps are waited for first.
    /// </summary>
    public void RefreshHost()
    {
        if (_hostFresh || _dirty)
        {
            return;
        }

        Complete();
        CatchUpSpikes();

        // Through pinned staging arrays wrapped once (see PageLock): the step loop refreshes at every step it records.
        foreach (var pop in _pops)
        {
            for (int v = 0; v < pop.StateCount; v++)
            {
                PinnedHost.Download(_stream, (ArrayView<float>)pop.State[v].View, pop.StateStaging(v).View);
            }
        }

        foreach (var dp in _projections)
        {
            if (dp.Line is { } line)
            {
                PinnedHost.Download(_stream, (ArrayView<float>)line.View, dp.LineStaging().View);
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

    /// <summary>
    /// The host spike rows of the instances that are behind, from their latest step's output lists, or where that
    /// step did not write them (nobody read the population's spikes), copied back from the device (nothing may be queued).
    /// </summary>
    private void CatchUpSpikes()
    {
        bool copied = false;
        for (int i = 0; i < _instances; i++)
        {
            if (!_spikesBehind[i])
            {
                continue;
            }

            foreach (var pop in _pops)
            {
                int size = pop.Population.Size;
                if (pop.Listed[i] || size == 0)
                {
                    var row = pop.Population.Slice(pop.Population.Spikes, i);
                    row.Clear();
                    var list = pop.Outputs.List(_latestSlot[i], i);
                    for (int k = 0; k < list.Indices.Length; k++)
                    {
                        row[list.Indices[k]] = list.Values[k];
                    }
                }
                else
                {
                    var rows = ((ArrayView<float>)pop.Spikes.View).SubView((long)i * size, size);
                    PinnedHost.Download(_stream, rows, pop.SpikeStaging().View.SubView((long)i * size, size));
                    copied = true;
                }
            }
        }

        if (copied)
        {
            _stream.Synchronize();
        }

        for (int i = 0; i < _instances; i++)
        {
            if (!_spikesBehind[i])
            {
                continue;
            }

            foreach (var pop in _pops)
            {
                int size = pop.Population.Size;
                if (!pop.Listed[i] && size > 0)
                {
                    pop.SpikeStaging().Host.AsSpan(i * size, size).CopyTo(pop.Population.Slice(pop.Population.Spikes, i));
                }
            }

            _spikesBehind[i] = false;
        }
    }

    /// <summary>
    /// Copies back <paramref name="slices"/> alone (each some neurons of one variable of one instance, through the
    /// variable's pinned staging) after the queued steps: what a step records crosses to the host, not the whole state. The other host
    /// arrays stay as they were (behind, until <see cref="RefreshHost"/>).
    /// </summary>
    public void RefreshStates(ReadOnlySpan<StateSlice> slices)
    {
        if (_hostFresh || _dirty)
        {
            return;
        }

        Complete();
        foreach (var slice in slices)
        {
            var (view, at, size) = Slice(slice);
            PinnedHost.Download(_stream, view.SubView(at, size), _pops[slice.Population].StateStaging(slice.Variable).View.SubView(at, size));
        }

        _stream.Synchronize();
        foreach (var slice in slices)
        {
            var pop = _pops[slice.Population];
            var (_, at, size) = Slice(slice);
            pop.StateStaging(slice.Variable).Host.AsSpan((int)at, size).CopyTo(pop.Population.State[slice.Variable].AsSpan((int)at, size));
        }
    }

    private (ArrayView<float> View, long At, int Size) Slice(StateSlice slice)
    {
        var pop = _pops[slice.Population];
        return (pop.State[slice.Variable].View, (long)slice.Instance * pop.Population.Size + slice.Start, slice.Count);
    }

    /// <summary>
    /// Instance <paramref name="instance"/> was reset on the host (state, spikes, inputs, its delay lines): the same
    /// goes to the device for it alone, and the other instances' state stays where it is (on the device, nothing read back).
    /// </summary>
    public void ResetInstance(int instance)
    {
        if (_dirty)
        {
            return; // the whole upload to come takes it from the host
        }

        if (_anyQueued)
        {
            Wait();
        }

        foreach (var pop in _pops)
        {
            pop.UploadState(instance, 1);
        }

        foreach (var dp in _projections)
        {
            dp.UploadLine(instance, 1);
        }

        // Its device lists as its host spike row (empty), where a projection reads last step's.
        var one = _allInstances.View.SubView(instance, 1);
        foreach (var pop in _pops)
        {
            if (ListsReadNextStep(pop.Population))
            {
                pop.Compact(one, 1, 0);
            }
        }

        Wait();
        _latestSlot[instance] = -1;
        _spikesBehind[instance] = false;
    }

    /// <summary>The host arrays changed (<paramref name="edit"/>): <see cref="Prepare"/> uploads them, and the parameters and weights only if they changed.</summary>
    public void HostEdited(HostEdit edit)
    {
        _dirty = true;
        _parametersStale |= edit == HostEdit.Parameters;
    }

    /// <summary>
    /// Off the loop, on the stream the network was made with: uploads the kernels' parameters and the weights (the bulk of
    /// a placement: seconds for 100M synapses, most of it regrouping sparse weights on the host), waits for them, and moves
    /// to the backend's stream. The state is still to go up: <see cref="Prepare"/> takes it as the host holds it then, on
    /// the loop, after the steps the CPU backend took meanwhile. Reads the host's parameters and weights, so the loop must
    /// not trust the result where it changed them meanwhile (SetParameters). Stops between two uploads, or within a sparse
    /// projection's regrouping, once <paramref name="cancel"/> calls it off, and throws.
    /// </summary>
    public void UploadParametersAside(CancellationToken cancel)
    {
        foreach (var pop in _pops)
        {
            pop.UploadParameters();
        }

        foreach (var dp in _projections)
        {
            cancel.ThrowIfCancellationRequested();
            dp.UploadWeights(cancel);
        }

        _stream.Synchronize();
        _parametersStale = false; // _dirty stays: the state goes up at Prepare
        _stream = _backend.Stream;
    }

    /// <summary>
    /// Uploads what the host holds if the device is behind it (after construction and <see cref="HostEdited"/>),
    /// before anything is queued: where the device has no room for new buffers, the caller learns it while the
    /// host arrays are still the network's state.
    /// </summary>
    public void Prepare()
    {
        if (_dirty)
        {
            Upload();
        }
    }

    /// <summary>
    /// Whether a step reads <paramref name="population"/>'s device lists before it writes them: a projection from it that
    /// delivers the previous step's spikes without a delay line (a recurrent one, or one whose source comes later in the
    /// order). Only such lists must follow an upload of the host's spikes; every other list is written by the population's
    /// own step before anything reads it (compacting a 1M population on ILGPU's CPU accelerator takes seconds).
    /// </summary>
    private bool ListsReadNextStep(Population population)
    {
        foreach (var j in _network.Projections)
        {
            if (j.Source != population)
            {
                continue;
            }

            if (!j.SameStep && !j.Delayed)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Everything from the host: state, spikes, parameters, weights, delay lines; then the compacted spikes of every instance whose lists a step reads first.</summary>
    private void Upload()
    {
        if (_anyQueued)
        {
            Wait();
        }

        // A reset or a restore changes state alone: the weights (whose upload regroups them on the host, seconds
        // for 100M) and the parameters stay, and so do the graphs, which capture where they are.
        bool parameters = _parametersStale;
        if (parameters)
        {
            _graphs.Clear(); // weights, lanes and rules may move or change
        }

        foreach (var pop in _pops)
        {
            pop.UploadState();
            if (parameters)
            {
                pop.UploadParameters();
            }
        }

        foreach (var dp in _projections)
        {
            if (parameters)
            {
                dp.UploadWeights();
            }

            dp.UploadLine();
        }

        // The device lists hold what the host spike arrays hold, where a projection reads last step's.
        var all = _allInstances.View.SubView(0, _instances);
        foreach (var pop in _pops)
        {
            if (ListsReadNextStep(pop.Population))
            {
                pop.Compact(all, _instances, 0);
            }
        }

        Wait();
        Array.Fill(_latestSlot, -1);
        Array.Clear(_spikesBehind);
        _dirty = false;
        _parametersStale = false;
        _hostFresh = true;
    }

    public void Dispose()
    {
        _stream.Synchronize(); // nothing queued may still write the page-locked lists
        _graphs.Dispose();
        if (_partEvents.Count > 0)
        {
            using var binding = _accelerator.BindScoped();
            foreach (var e in _partEvents)
            {
                CudaAPI.CurrentAPI.DestroyEvent(e);
            }
        }

        foreach (var pop in _pops)
        {
            pop.Dispose();
        }

        foreach (var dp in _projections)
        {
            dp.Dispose();
        }

        _stepIntsDevice?.Dispose();
        foreach (var b in _stepIntsOwned)
        {
            b.Dispose();
        }

        foreach (var b in _owned)
        {
            b.Dispose();
        }
    }
}
