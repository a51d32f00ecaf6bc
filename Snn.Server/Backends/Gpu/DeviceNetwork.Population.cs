using ILGPU;
using ILGPU.Runtime;
using Snn.Server.Engine;
using Snn.Server.Models;

namespace Snn.Server.Backends.Gpu;

internal sealed partial class DeviceNetwork
{
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
        NirGeneric,
        NorseLifAdEx,
    }

    /// <summary>A population's buffers on the device, its rule and its compaction buffers.</summary>
    private sealed class DevicePopulation : IDisposable
    {
        private readonly DeviceNetwork _net;
        private readonly int _chunks;
        private readonly int _tiles;
        private MemoryBuffer1D<float, Stride1D.Dense> _lanes;
        private int _scalarLanes;
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
        private NirGenericDeviceRule _nir;

        public DevicePopulation(DeviceNetwork net, Population population)
        {
            _net = net;
            Population = population;
            int total = population.Size * net._instances;
            StateCount = population.State.Length;
            State = new MemoryBuffer1D<float, Stride1D.Dense>[StateCount];
            for (int v = 0; v < StateCount; v++)
            {
                State[v] = net.Allocate<float>(total);
            }

            Input = net.Allocate<float>(total);
            RecurrentInput = population.RecurrentInput.Length > 0 ? net.Allocate<float>(total) : null;
            Spikes = net.Allocate<float>(total);
            SpikeIndex = net.Allocate<int>(total);
            SpikeValue = net.Allocate<float>(total);
            Counts = net.Allocate<int>(net._instances);
            _chunks = (population.Size + net._k.Chunk - 1) / net._k.Chunk;
            ChunkCounts = net.Allocate<int>((long)_chunks * net._instances);
            ChunkOffsets = net.Allocate<int>((long)_chunks * net._instances);
            _tiles = (_chunks + net._k.GroupSize - 1) / net._k.GroupSize;
            TileTotals = net.Allocate<int>((long)_tiles * net._instances);
            TileOffsets = net.Allocate<int>((long)_tiles * net._instances);
            Outputs = new DeviceOutputs(net, net._mapped, net._instances, population.Size);
            Listed = new bool[net._instances];
            _feeds = net._network.Projections.Any(j => j.Source == population);
            _lanes = net.Allocate<float>(1);

            // Inputs are zero between steps: the neuron kernels zero what they read.
            Input.View.MemSetToZero(net._stream);
            RecurrentInput?.View.MemSetToZero(net._stream);
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

        /// <summary>Per instance and tile of <see cref="DeviceKernelSet.GroupSize"/> chunks: its spike count, then its offset (see <see cref="DeviceKernels.ScanTiles"/>).</summary>
        public MemoryBuffer1D<int, Stride1D.Dense> TileTotals { get; }

        public MemoryBuffer1D<int, Stride1D.Dense> TileOffsets { get; }

        public MemoryBuffer1D<float, Stride1D.Dense>? Constant { get; set; }

        /// <summary>The spike lists the host reads, per step slot.</summary>
        public DeviceOutputs Outputs { get; }

        /// <summary>
        /// Whether the steps sent from now on write this population's spikes into <see cref="Outputs"/> (the host reads
        /// them: a stream asked for them, see <see cref="ReadSpikes"/>); true until the loop says otherwise. Without
        /// them its spikes stay on the device: compacted for the projections from it, or not at all where nothing
        /// projects from it (its step is then the neuron kernel alone).
        /// </summary>
        public bool HostLists { get; set; } = true;

        /// <summary>Per instance: whether its latest step wrote <see cref="Outputs"/>; if not, its spikes are only in <see cref="Spikes"/>.</summary>
        public bool[] Listed { get; }

        /// <summary>Whether a projection reads this population's spikes on the device (its compacted lists or counts).</summary>
        private readonly bool _feeds;

        /// <summary>Whether a step compacts this population's spikes: the host or a projection reads the lists (and the device check is not timing the neuron kernel alone).</summary>
        private bool Compacts => !_neuronKernelAlone && (HostLists || _feeds);

        /// <summary>What the compaction kernels write into <see cref="Outputs"/> (see <see cref="DeviceKernels.HostListsNone"/>).</summary>
        private int HostListMode => !HostLists ? DeviceKernels.HostListsNone : Binary ? DeviceKernels.HostListsIndices : DeviceKernels.HostListsValues;

        /// <summary>
        /// Whether every spike is 0 or 1 under the current parameters (spike functions that emit one spike
        /// of size 1: snntorch's with graded_spikes_factor 1, sinabs' single spike, norse's); then the output
        /// lists carry indices alone (half the bytes over the bus) and their values stay 1.
        /// </summary>
        public bool Binary { get; private set; }

        /// <summary>At most one chunk: stepped and compacted by one launch, which also leaves its inputs zero (<see cref="DeviceKernels.NeuronSmall{TRule}"/>).</summary>
        public bool Fused => Population.Size > 0 && Population.Size <= _net._k.Chunk && _inhibition is null;

        /// <summary>snntorch's inhibition pass of this population (after the neuron step, before compaction), or null.</summary>
        private ISnnTorchInhibition? _inhibition;
        private MemoryBuffer1D<float, Stride1D.Dense>? _inhibitThreshold;
        private MemoryBuffer1D<float, Stride1D.Dense>? _inhibitGraded;

        private (float[] Host, ArrayView<float> View) _inputStaging;
        private readonly List<IDisposable> _stagingOwned = [];

        /// <summary>
        /// A pinned copy of the host input for step slot <paramref name="slot"/>, made at the first
        /// external input for all the network's slots: uploads go from it view to view, and the steps of
        /// a chain each have their own (written when the step is prepared, read when it is sent).
        /// </summary>
        public (float[] Host, int Offset, ArrayView<float> View) InputStaging(int slot)
        {
            long length = Population.Input.Length;
            if (_inputStaging.Host is null)
            {
                _inputStaging = _net.Staging<float>(_net.Slots * length, _stagingOwned);
            }

            return (_inputStaging.Host, (int)(slot * length), _inputStaging.View.SubView(slot * length, length));
        }

        private (int[] Host, ArrayView<int> View) _eventStaging;
        private MemoryBuffer1D<int, Stride1D.Dense>? _eventDevice;

        /// <summary>Ints of one slot's event staging: a count per instance, then per instance room for <see cref="ExternalInputMarks.Capacity"/> pairs.</summary>
        private long EventSlotLength => _net._instances * (1L + 2L * Population.InputMarks.Capacity);

        /// <summary>
        /// Slot <paramref name="slot"/>'s event staging on the host ([due] counts, then per due instance its
        /// (index, value bits) pairs), made at the first events for every slot, as the input staging.
        /// </summary>
        public Span<int> EventStaging(int slot)
        {
            long length = EventSlotLength;
            if (_eventStaging.Host is null)
            {
                _eventStaging = _net.Staging<int>(_net.Slots * length, _stagingOwned);
                _eventDevice = _net.Allocate<int>(Math.Max(1, _net.Slots * length));
                _stagingOwned.Add(_eventDevice);
            }

            return _eventStaging.Host.AsSpan((int)(slot * length), (int)length);
        }

        /// <summary>The first <paramref name="length"/> ints of slot <paramref name="slot"/>'s event staging, on the host and on the device.</summary>
        public (ArrayView<int> Host, ArrayView<int> Device) EventViews(int slot, long length)
        {
            long at = slot * EventSlotLength;
            return (_eventStaging.View.SubView(at, length), _eventDevice!.View.SubView(at, length));
        }

        /// <summary>The event staging of <paramref name="slots"/> slots from <paramref name="first"/>, on the host and on the device (a chain's part, copied at once).</summary>
        public (ArrayView<int> Host, ArrayView<int> Device) EventSlots(int first, int slots) => EventViews(first, slots * EventSlotLength);

        /// <summary>Drops the input staging (the slots grew; nothing is queued): the next external input makes it for every slot.</summary>
        public void ResetInputStaging()
        {
            foreach (var b in _stagingOwned)
            {
                b.Dispose();
            }

            _stagingOwned.Clear();
            _inputStaging = default;
            _eventStaging = default;
            _eventDevice = null;
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
            VectorKernel<SnnTorchLeakyRule> => PopulationKind.Leaky,
            VectorKernel<SinabsLifRule> => PopulationKind.SinabsLif,
            VectorKernel<NorseLifRule> => PopulationKind.NorseLif,
            VectorKernel<SnnTorchSynapticRule> => PopulationKind.Synaptic,
            VectorKernel<NorseIafRule> => PopulationKind.NorseIaf,
            VectorKernel<SnnTorchAlphaRule> => PopulationKind.Alpha,
            VectorKernel<SnnTorchLapicqueRule> => PopulationKind.Lapicque,
            VectorKernel<SnnTorchRLeakyRule> => PopulationKind.RLeaky,
            VectorKernel<SinabsAlifRule> => PopulationKind.SinabsAlif,
            VectorKernel<NorseLsnnRule> => PopulationKind.NorseLsnn,
            VectorKernel<NorseLifBoxRule> => PopulationKind.NorseLifBox,
            VectorKernel<NorseLiBoxRule> => PopulationKind.NorseLiBox,
            VectorKernel<SinabsExpLeakRule> => PopulationKind.SinabsExpLeak,
            VectorKernel<SnnTorchRSynapticRule> => PopulationKind.RSynaptic,
            VectorKernel<NirGenericRule> => PopulationKind.NirGeneric,
            NorseLifAdExKernel => PopulationKind.NorseLifAdEx,
            _ => PopulationKind.Unsupported,
        };

        private (float[] Host, ArrayView<float> View) _spikeStaging;

        /// <summary>A pinned copy of the spikes, made at the first <see cref="RefreshHost"/> that needs spikes the host's lists do not hold.</summary>
        public (float[] Host, ArrayView<float> View) SpikeStaging()
        {
            if (_spikeStaging.Host is null)
            {
                _spikeStaging = _net.Staging<float>(Spikes.Length);
            }

            return _spikeStaging;
        }

        /// <summary>The state variables and spikes from the host; the inputs zero.</summary>
        public void UploadState() => UploadState(0, _net._instances);

        /// <summary>The state variables and spikes of <paramref name="count"/> instances from <paramref name="first"/>, from the host; their inputs zero.</summary>
        public void UploadState(int first, int count)
        {
            var s = _net._stream;
            var p = Population;
            int at = first * p.Size, length = count * p.Size;
            for (int v = 0; v < StateCount; v++)
            {
                State[v].View.SubView(at, length).CopyFromCPU(s, p.State[v].AsSpan(at, length));
            }

            Spikes.View.SubView(at, length).CopyFromCPU(s, p.Spikes.AsSpan(at, length));

            // Inputs are zero between steps (whether the population is fused may have changed).
            Input.View.SubView(at, length).MemSetToZero(s);
            RecurrentInput?.View.SubView(at, length).MemSetToZero(s);
        }

        /// <summary>The kernel's rule, its parameter lanes and the inhibition pass, from the host.</summary>
        public void UploadParameters()
        {
            var s = _net._stream;
            var p = Population;
            _kind = KindOf(p);
            _inhibition = p.Kernel is ISnnTorchInhibition { Inhibition: true } inhibition ? inhibition : null;
            int inhibit = _inhibition is null ? 0 : 1;
            _inhibitThreshold?.Dispose();
            _inhibitGraded?.Dispose();
            _inhibitThreshold = _inhibitGraded = null;
            if (_inhibition is { } inh)
            {
                _inhibitThreshold = _net.Allocate<float>(Math.Max(1, p.Size));
                _inhibitGraded = _net.Allocate<float>(Math.Max(1, p.Size));
                _inhibitThreshold.View.CopyFromCPU(s, Enumerable.Range(0, Math.Max(1, p.Size)).Select(n => inh.Threshold.At(n)).ToArray());
                _inhibitGraded.View.CopyFromCPU(s, Enumerable.Range(0, Math.Max(1, p.Size)).Select(n => inh.Graded.At(n)).ToArray());
            }

            float[] lanes = [0f];
            switch (p.Kernel)
            {
                case VectorKernel<SnnTorchLeakyRule> k:
                    _leaky = new LeakyDeviceRule((int)k.Rule.Reset, k.Rule.Delay ? 1 : 0, inhibit);
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
                    _synaptic = new SynapticDeviceRule((int)k.Rule.Reset, k.Rule.Delay ? 1 : 0, inhibit);
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<NorseIafRule> k:
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<SnnTorchAlphaRule> k:
                    _alpha = new AlphaDeviceRule((int)k.Rule.Reset, inhibit);
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<SnnTorchLapicqueRule> k:
                    _lapicque = new LapicqueDeviceRule((int)k.Rule.Reset, inhibit);
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case VectorKernel<SnnTorchRLeakyRule> k:
                    _rleaky = new RLeakyDeviceRule((int)k.Rule.Reset, k.Rule.Delay ? 1 : 0, inhibit);
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
                    _rsynaptic = new RSynapticDeviceRule((int)k.Rule.Reset, inhibit);
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
                case NorseLifAdExKernel k:
                    lanes = Lanes(k.ParameterCount, k.Parameter);
                    break;
                case VectorKernel<NirGenericRule> k:
                    _nir = new NirGenericDeviceRule(k.Rule.Leaky ? 1 : 0, k.Rule.Synaptic ? 1 : 0, k.Rule.Spiking ? 1 : 0);
                    lanes = Lanes(k.LaneCount, k.Lane);
                    break;
            }

            _scalarLanes = ScalarLanes(lanes, p.Size);
            var stored = StoredLanes(lanes, p.Size, _scalarLanes);
            _lanes.Dispose();
            _lanes = _net.Allocate<float>(stored.Length);
            _lanes.View.CopyFromCPU(s, stored);
            Binary = _inhibition is not null || _kind switch
            {
                PopulationKind.Leaky or PopulationKind.RLeaky => lanes.AsSpan(2 * p.Size, p.Size).IndexOfAnyExcept(1f) < 0, // graded_spikes_factor
                PopulationKind.SinabsLif => _sinabs.SingleSpike,
                PopulationKind.SinabsAlif => _alif.SingleSpike,
                PopulationKind.NirGeneric => _nir.Binary,
                PopulationKind.NorseLifAdEx => true,
                PopulationKind.NorseLif or PopulationKind.Synaptic or PopulationKind.NorseIaf or PopulationKind.Alpha or PopulationKind.Lapicque
                    or PopulationKind.NorseLsnn or PopulationKind.NorseLifBox or PopulationKind.RSynaptic => true,
                _ => false, // input and passthrough (any value), norse.LIBox and sinabs.ExpLeak (the membrane)
            };
            Outputs.Binary = Binary;
        }

        /// <summary>Bit j set for each lane j whose value is the same for every neuron (see <see cref="DeviceLanes"/>).</summary>
        private static int ScalarLanes(float[] lanes, int size)
        {
            int mask = 0;
            for (int j = 0; size > 0 && (j + 1) * size <= lanes.Length && j < 31; j++)
            {
                // Bit for bit (-0 and +0 differ in a product's sign).
                var lane = System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(lanes.AsSpan(j * size, size));
                if (lane.IndexOfAnyExcept(lane[0]) < 0)
                {
                    mask |= 1 << j;
                }
            }

            return mask;
        }

        /// <summary>The lanes as the device keeps them (see <see cref="DeviceLanes"/>): one value for a scalar lane, one per neuron otherwise.</summary>
        private static float[] StoredLanes(float[] lanes, int size, int scalar)
        {
            if (size <= 1 || scalar == 0)
            {
                return lanes;
            }

            var stored = new List<float>();
            for (int j = 0; (j + 1) * size <= lanes.Length; j++)
            {
                stored.AddRange(((scalar >> j) & 1) != 0 ? lanes.AsSpan(j * size, 1) : lanes.AsSpan(j * size, size));
            }

            return stored.Count > 0 ? [.. stored] : [0f];
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

        /// <summary>
        /// Whether this population's kernel writes its external events into its input itself (see
        /// <see cref="DeviceKernels.NeuronSmall{TRule}"/>): a fused population that nothing else feeds, so
        /// its input row holds the events alone.
        /// </summary>
        public bool ScattersOwnEvents => Fused && Population.Incoming.Count == 0 && Constant is null;

        /// <summary>The neuron step of the due instances and their spikes compacted into the step's slot's lists (see <see cref="StepArguments"/>).</summary>
        public void Step(in StepArguments step)
        {
            if (step.DueCount == 0 || Population.Size == 0)
            {
                return;
            }

            switch (_kind)
            {
                case PopulationKind.Stateless: Launch(default(StatelessDeviceRule), step); break;
                case PopulationKind.Leaky: Launch(_leaky, step); break;
                case PopulationKind.SinabsLif: Launch(_sinabs, step); break;
                case PopulationKind.NorseLif: Launch(default(NorseLifDeviceRule), step); break;
                case PopulationKind.Synaptic: Launch(_synaptic, step); break;
                case PopulationKind.NorseIaf: Launch(default(NorseIafDeviceRule), step); break;
                case PopulationKind.Alpha: Launch(_alpha, step); break;
                case PopulationKind.Lapicque: Launch(_lapicque, step); break;
                case PopulationKind.RLeaky: Launch(_rleaky, step); break;
                case PopulationKind.SinabsAlif: Launch(_alif, step); break;
                case PopulationKind.NorseLsnn: Launch(default(NorseLsnnDeviceRule), step); break;
                case PopulationKind.NorseLifBox: Launch(_lifBox, step); break;
                case PopulationKind.NorseLiBox: Launch(default(NorseLiBoxDeviceRule), step); break;
                case PopulationKind.SinabsExpLeak: Launch(_expLeak, step); break;
                case PopulationKind.RSynaptic: Launch(_rsynaptic, step); break;
                case PopulationKind.NirGeneric: Launch(_nir, step); break;
                case PopulationKind.NorseLifAdEx: Launch(default(NorseLifAdExDeviceRule), step); break;
                default:
                    throw new InvalidOperationException($"population '{Population.Name}' ({Population.Model.Name}) has no device kernel");
            }
        }

        private void Launch<TRule>(TRule rule, in StepArguments step)
            where TRule : struct, IDeviceRule
        {
            var (due, dc, slot, fused) = (step.Due, step.DueCount, step.Slot, step.Fused);
            int size = Population.Size;
            var k = _net._k;
            var kernels = k.Neuron<TRule>();
            var empty = _net._empty.View;
            var s0 = StateCount > 0 ? State[0].View : empty;
            var s1 = StateCount > 1 ? State[1].View : empty;
            var s2 = StateCount > 2 ? State[2].View : empty;
            var s3 = StateCount > 3 ? State[3].View : empty;
            var rec = RecurrentInput?.View ?? empty;
            int recurrent = RecurrentInput is null ? 0 : 1;
            var x = Constant?.View ?? Input.View; // a constant input is read in place, every step (benchmarks)
            int zeroInput = Constant is null ? 1 : 0; // a constant input is read again at the next step
            if (Fused)
            {
                kernels.StepSmall(_net._stream, k.Groups(dc), rule, s0, s1, s2, s3, x, rec, Spikes.View, _lanes.View, _scalarLanes, due, size,
                    StateCount, recurrent, zeroInput, step.Events, dc, step.EventCapacity, fused.Weights, fused.Source, fused.Offset, fused.Mode,
                    Counts.View, SpikeIndex.View, SpikeValue.View,
                    Outputs.Counts(slot), Outputs.Index(slot), Outputs.Values(slot), HostListMode);
                return;
            }

            var s = _net._stream;
            kernels.Step(s, k.Groups(dc * _chunks), rule, s0, s1, s2, s3, x, rec, Spikes.View, _lanes.View, _scalarLanes, due, size, _chunks,
                StateCount, recurrent, zeroInput, fused.Weights, fused.Source, fused.Offset, fused.Mode, ChunkCounts.View);
            if (_inhibition is { } inh)
            {
                // The rule left the reset signal; the inhibition pass decides the spikes, then they are compacted.
                k.Inhibit(s, k.Groups(dc), State[inh.MemState].View, inh.SpkState >= 0 ? State[inh.SpkState].View : empty, inh.SpkState >= 0 ? 1 : 0,
                    Spikes.View, _inhibitThreshold!.View, _inhibitGraded!.View, due, size, (int)inh.Reset, inh.ImmediateReset ? 1 : 0);
                Compact(due, dc, slot);
                return;
            }

            if (Compacts)
            {
                ScanAndWrite(due, dc, slot);
            }
        }

        /// <summary>Device check only (<see cref="TimeCompaction"/>, a population without inhibition): the next steps launch the neuron kernel and nothing after it.</summary>
        private bool _neuronKernelAlone;

        /// <summary>
        /// Device check: microseconds per launch of the neuron kernel alone (the step and each chunk's spike count, no
        /// compaction after it: what the probe and the peers' queued figure time) and of each compaction pass,
        /// for a population larger than one chunk, each launched <paramref name="reps"/> times alone and waited for (so
        /// that a step's time can be split without a profiler). The neuron kernel steps the state <paramref name="reps"/>
        /// + 1 times more (the spikes are put back, so the lists stay as they were): call it after the steps whose figures
        /// are wanted.
        /// </summary>
        internal (double Neuron, double Count, double Scan, double Write) TimeCompaction(ArrayView<int> due, int dc, int reps)
        {
            var s = _net._stream;
            double Time(Action launch)
            {
                launch();
                s.Synchronize();
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                for (int r = 0; r < reps; r++)
                {
                    launch();
                }

                s.Synchronize();
                return System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMicroseconds / reps;
            }

            double neuron = 0;
            if (!Fused && _inhibition is null)
            {
                // The spikes as they were, put back after: the passes below then make the same lists again.
                using var spikes = _net._accelerator.Allocate1D<float>(Spikes.Length);
                Spikes.View.CopyTo(s, spikes.View);
                var step = new StepArguments(due, dc, 0, _net._noEvents.View, 0, Fusion.None(_net));
                _neuronKernelAlone = true;
                try
                {
                    neuron = Time(() => Step(step));
                }
                finally
                {
                    _neuronKernelAlone = false;
                }

                spikes.View.CopyTo(s, Spikes.View);
                s.Synchronize();
            }

            return (neuron, Time(() => CountChunks(due, dc)), Time(() => ScanChunkCounts(due, dc, 0)), Time(() => WriteChunks(due, dc, 0)));
        }

        /// <summary>Compaction's last passes, once the chunk counts are written: offsets by tiles, then the lists.</summary>
        private void ScanAndWrite(ArrayView<int> due, int dc, int slot)
        {
            ScanChunkCounts(due, dc, slot);
            WriteChunks(due, dc, slot);
        }

        /// <summary>Compaction's first pass where the step did not count: each chunk's spikes.</summary>
        private void CountChunks(ArrayView<int> due, int dc) =>
            _net._k.CountChunks(_net._stream, _net._k.Groups(dc * _chunks), Spikes.View, due, Population.Size, _chunks, ChunkCounts.View);

        /// <summary>Chunk offsets within tiles, tile offsets (more than one tile), and the instances' spike counts into <paramref name="slot"/>.</summary>
        private void ScanChunkCounts(ArrayView<int> due, int dc, int slot)
        {
            var k = _net._k;
            var s = _net._stream;
            k.ScanTiles(s, k.Groups(dc * _tiles), ChunkCounts.View, ChunkOffsets.View, TileTotals.View, Counts.View, Outputs.Counts(slot), due,
                _chunks, _tiles);
            if (_tiles > 1)
            {
                k.ScanTileTotals(s, k.Groups(dc), TileTotals.View, TileOffsets.View, Counts.View, Outputs.Counts(slot), due, _tiles);
            }
        }

        /// <summary>The spike lists, ascending, into the device lists and <paramref name="slot"/>'s output lists.</summary>
        private void WriteChunks(ArrayView<int> due, int dc, int slot) =>
            _net._k.WriteChunks(_net._stream, _net._k.Groups(dc * _chunks), Spikes.View, due, Population.Size, _chunks, ChunkCounts.View,
                ChunkOffsets.View, TileOffsets.View, _tiles, SpikeIndex.View, SpikeValue.View, Outputs.Index(slot), Outputs.Values(slot), HostListMode);

        /// <summary>
        /// Counts per chunk, offsets by prefix sums, then indices and values in ascending order, into the
        /// device lists and <paramref name="slot"/>'s output lists (after an upload; a step compacts as it steps).
        /// </summary>
        public void Compact(ArrayView<int> due, int dc, int slot)
        {
            int size = Population.Size;
            if (dc == 0 || size == 0 || !Compacts)
            {
                return;
            }

            var k = _net._k;
            var s = _net._stream;
            if (_chunks == 1)
            {
                k.CompactSmall(s, k.Groups(dc), Spikes.View, due, size, Counts.View, SpikeIndex.View, SpikeValue.View,
                    Outputs.Counts(slot), Outputs.Index(slot), Outputs.Values(slot), HostListMode);
                return;
            }

            CountChunks(due, dc);
            ScanAndWrite(due, dc, slot);
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
            TileTotals.Dispose();
            TileOffsets.Dispose();
            Constant?.Dispose();
            _inhibitThreshold?.Dispose();
            _inhibitGraded?.Dispose();
            _lanes.Dispose();
            Outputs.Dispose();
            foreach (var b in _stagingOwned)
            {
                b.Dispose();
            }
        }
    }

}
