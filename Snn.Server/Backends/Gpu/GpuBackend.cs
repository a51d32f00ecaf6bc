using ILGPU.Algorithms;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using Snn.Server.Backends.Cpu;
using Snn.Server.Engine;

namespace Snn.Server.Backends.Gpu;

/// <summary>
/// The ILGPU backend: the neuron models and projections as ILGPU kernels, state resident on the
/// device, every due instance of a population stepped by one launch, spikes compacted on the
/// device (a prefix sum, so in ascending index order) and only spike indices and values copied
/// back. The same kernels run on CUDA, OpenCL or ILGPU's CPU accelerator. A network with a model or
/// projection that has no device kernel yet steps on the CPU backend (see <see cref="DeviceNetwork.Supports"/>).
/// </summary>
internal sealed partial class GpuBackend : IComputeBackend, IDisposable
{
    private readonly Context _context;
    private readonly CpuBackend _fallback;
    private readonly Dictionary<Network, DeviceNetwork?> _networks = new(ReferenceEqualityComparer.Instance);

    /// <summary>Networks being placed off the loop (see <see cref="PlaceAsideFromSynapses"/>), stepping on the CPU backend meanwhile.</summary>
    private readonly Dictionary<Network, Aside> _aside = new(ReferenceEqualityComparer.Instance);

    /// <summary>Placements off the loop of networks deleted or edited meanwhile: what they made is freed when they end.</summary>
    private readonly List<Task> _discarded = [];
    private readonly List<string> _placements = [];

    private GpuBackend(string name, Context context, Accelerator accelerator, int index, CpuOptions cpu)
    {
        Name = name;
        _context = context;
        Accelerator = accelerator;
        Stream = accelerator.DefaultStream;
        Kernels = new DeviceKernelSet(accelerator);
        _fallback = new CpuBackend(cpu);
        string capability = accelerator is CudaAccelerator cuda ? $"{cuda.Architecture.Major}.{cuda.Architecture.Minor}" : "";
        DeviceInfo = new ComputeDeviceInfo(index, accelerator.Name, accelerator.MemorySize, capability);
        Device = $"{accelerator.Name} ({accelerator.AcceleratorType}, device {index}, {accelerator.MemorySize / (1 << 20)} MiB" +
            (capability.Length > 0 ? $", compute capability {capability})" : ")");
    }

    public static GpuBackend Create(string kind, int index, CpuOptions cpu, long cpuBelowNeurons = 0, long placeAsideFromSynapses = EngineOptions.DefaultPlaceAsideFromSynapses)
    {
        DriverLibraries.Install();
        var context = Context.Create(b =>
        {
            b.Optimize(OptimizationLevel.O1);
            b.EnableAlgorithms(); // MathF.Exp in kernels (norse.LIFAdEx) on PTX and OpenCL
            switch (kind)
            {
                case "cuda": b.Cuda(); break;
                case "opencl": b.OpenCL(); break;
                // ILGPU's default CPU device: groups of up to 16 threads, each an OS thread.
                default: b.CPU(); break;
            }
        });
        try
        {
            var type = kind switch
            {
                "cuda" => AcceleratorType.Cuda,
                "opencl" => AcceleratorType.OpenCL,
                _ => AcceleratorType.CPU,
            };
            var devices = context.Devices.Where(d => d.AcceleratorType == type).ToArray();
            if (index < 0 || index >= devices.Length)
            {
                string what = kind switch
                {
                    "cuda" => "no CUDA device answered (is the NVIDIA driver, libcuda.so.1, installed and a GPU visible?)",
                    "opencl" => "no OpenCL device answered (is an OpenCL runtime with generic address space support installed?)",
                    _ => "ILGPU's CPU accelerator is missing",
                };
                throw new InvalidOperationException(devices.Length == 0
                    ? $"Snn:Engine:Backend is '{kind}' but {what}; set Snn:Engine:Backend to cpu, or run where the device is"
                    : $"Snn:Engine:Device is {index} but the '{kind}' backend has {devices.Length} device(s) (0..{devices.Length - 1})");
            }

            var accelerator = devices[index].CreateAccelerator(context);
            return new GpuBackend(kind, context, accelerator, index, cpu)
            {
                CpuBelowNeurons = cpuBelowNeurons,
                PlaceAsideFromSynapses = placeAsideFromSynapses,
                MapsHostMemory = accelerator.AcceleratorType is AcceleratorType.Cuda or AcceleratorType.CPU,
            };
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    public string Name { get; }

    /// <summary>See <see cref="EngineOptions.CpuBelowNeurons"/>.</summary>
    public long CpuBelowNeurons { get; init; }

    /// <summary>See <see cref="EngineOptions.PlaceAsideFromSynapses"/>.</summary>
    public long PlaceAsideFromSynapses { get; set; } = EngineOptions.DefaultPlaceAsideFromSynapses;

    /// <summary>Where each network steps is logged here once (set by the host; none in tests).</summary>
    public ILogger? Logger { get; set; }

    public string Device { get; }

    public ComputeDeviceInfo? DeviceInfo { get; }

    /// <summary>CUDA: the driver's free device memory (cuMemGetInfo, with the context bound on the calling thread); null elsewhere.</summary>
    public long? DeviceFreeBytes
    {
        get
        {
            if (Accelerator is not CudaAccelerator cuda)
            {
                return null;
            }

            try
            {
                return cuda.GetFreeMemory();
            }
            catch (CudaException)
            {
                return null;
            }
        }
    }

    public Accelerator Accelerator { get; }

    /// <summary>The stream every copy and launch of this backend is queued on.</summary>
    public AcceleratorStream Stream { get; }

    internal DeviceKernelSet Kernels { get; }

    /// <summary>
    /// Whether kernels can write page-locked host memory directly (CUDA: mapped, at the driver's device
    /// address; ILGPU's CPU accelerator: it is host memory). OpenCL cannot: its output lists are copied
    /// back. Settable so that tests run the copying path on the CPU accelerator too.
    /// </summary>
    internal bool MapsHostMemory { get; set; }

    private CudaStream? _captureStream;

    /// <summary>A stream to capture chains into CUDA graphs on (capture cannot use the legacy default stream the backend queues on). CUDA only.</summary>
    internal CudaStream CaptureStream => _captureStream ??= ((CudaAccelerator)Accelerator).CreateStream(StreamFlags.CU_STREAM_NON_BLOCKING);

    /// <summary>
    /// Tests: allocations of this many bytes that it says true to are refused as a device with no room left
    /// refuses them (<see cref="DeviceMemoryException"/>). Null (no refusal) outside tests.
    /// </summary>
    internal Func<long, bool>? RefuseAllocation { get; set; }

    /// <summary>Tests: sees every device buffer the networks make.</summary>
    internal Action<MemoryBuffer>? Allocated { get; set; }

    /// <summary>
    /// Where <paramref name="network"/> steps (<paramref name="placement"/>: also its <see cref="Network.StepsOn"/>), or
    /// a change in how it steps from then on (the driver refused to capture its chains into graphs, the device had no
    /// room for longer chains): kept with the placements and logged, once each.
    /// </summary>
    internal void Note(Network network, string what, bool placement = false)
    {
        if (placement)
        {
            network.StepsOn = what;
        }

        string line = $"{network.Name}: {what}";
        lock (_placements)
        {
            _placements.Add(line);
        }

        if (Logger is { } logger)
        {
            LogPlacement(logger, Name, line);
        }
    }

    /// <summary>Where each network stepped, one line per network in the order they first stepped (for the device check).</summary>
    public IReadOnlyList<string> Placements()
    {
        lock (_placements)
        {
            return [.. _placements];
        }
    }

    /// <summary>Chains of the networks on the device that were sent as one CUDA graph launch (for the device check).</summary>
    internal long GraphLaunches => _networks.Values.Sum(d => d?.GraphLaunches ?? 0);

    /// <summary>
    /// Whether <paramref name="network"/> steps on the device (false: on the CPU fallback), once placed: a placement off
    /// the loop is waited for and taken (its host input rows are cleared: give the next step's inputs after).
    /// </summary>
    public bool OnDevice(Network network) => Settled(network, wait: true) is not null;

    public void Step(Network network, ReadOnlySpan<int> due)
    {
        var device = Find(network);
        if (device is null)
        {
            _fallback.Step(network, due);
            return;
        }

        device.Step(due);
    }

    public int BeginChain(Network network, int steps) => Settled(network)?.BeginChain(steps) ?? 1;

    public void Enqueue(Network network, ReadOnlySpan<int> due, int slot)
    {
        var device = Find(network);
        if (device is null)
        {
            _fallback.Step(network, due);
            return;
        }

        device.Enqueue(due, slot);
    }

    public bool KeepsHostInputsZero(Network network) => Settled(network) is not null;

    public void Send(Network network) => Find(network)?.SendPrepared();

    public bool WaitFor(Network network, int steps) => Find(network)?.WaitFor(steps) ?? false;

    public void Complete(Network network)
    {
        if (_networks.TryGetValue(network, out var device))
        {
            device?.Complete();
        }
    }

    public bool TryGetSpikes(Network network, Population population, int instance, int slot, out SpikeList spikes)
    {
        if (_networks.TryGetValue(network, out var device) && device is not null)
        {
            spikes = device.Spikes(population, instance, slot);
            return true;
        }

        spikes = default;
        return false;
    }

    /// <summary>
    /// The device copy of <paramref name="network"/>, made at its first step; null when it steps on the CPU (also while
    /// its copy is made off the loop: <see cref="Settled"/> takes it once ready).
    /// </summary>
    internal DeviceNetwork? Find(Network network)
    {
        if (!_networks.TryGetValue(network, out var device))
        {
            string? cpu = CpuReason(network);
            if (cpu is null && network.Synapses >= PlaceAsideFromSynapses)
            {
                _networks[network] = null;
                PlaceAside(network);
                Note(network, $"on the CPU backend while its device copy is made ({network.Synapses:N0} synapses), then on the device", placement: true);
                return null;
            }

            string? noRoom = cpu is null ? Place(network, out device) : null;
            _networks[network] = device;
            Note(network, device is not null ? "on the device" : $"on the CPU backend, {cpu ?? noRoom}", placement: true);
        }

        return device;
    }

    /// <summary>Why <paramref name="network"/> steps on the CPU backend whatever the device's room, or null where it goes on the device.</summary>
    private string? CpuReason(Network network)
    {
        long neurons = network.Neurons * network.Instances.Length;
        return network.Definition.OnCpu ? "as its spec.placement asks"
            : DeviceNetwork.Unsupported(network) is { } unsupported ? $"{unsupported} has no device kernel yet"
            : neurons < CpuBelowNeurons ? $"{neurons} neurons is below Snn:Engine:CpuBelowNeurons ({CpuBelowNeurons})"
            : null;
    }

    /// <summary>
    /// Makes the device copy of <paramref name="network"/> with everything uploaded, or returns why the device has
    /// no room for it (nothing of it is left on the device then; its host arrays, never stepped on the device, are its state).
    /// </summary>
    private string? Place(Network network, out DeviceNetwork? device)
    {
        device = null;
        DeviceNetwork? made = null;
        try
        {
            made = new DeviceNetwork(this, network);
            made.Prepare();
            device = made;
            return null;
        }
        catch (Exception e)
        {
            made?.Dispose();
            if (e is not DeviceMemoryException)
            {
                throw;
            }

            return $"the device has no room for it: {e.Message}";
        }
    }

    /// <summary>Tests: the work of <paramref name="network"/>'s placement off the loop, until the loop takes it (null: none).</summary>
    internal Task? PlacementAside(Network network) => _aside.TryGetValue(network, out var aside) ? aside.Work : null;

    /// <summary>A placement off the loop: its thread's work, and whether the loop changed the network's parameters or weights meanwhile.</summary>
    private sealed class Aside(Task<DeviceNetwork> work)
    {
        public Task<DeviceNetwork> Work { get; } = work;

        public bool Stale { get; set; }
    }

    /// <summary>
    /// Starts placing <paramref name="network"/> on a thread of its own: buffers made and parameters and weights uploaded
    /// on a stream of its own (<see cref="DeviceNetwork.UploadParametersAside"/>), while the loop steps the network on the
    /// CPU backend and every other network as before. <see cref="Settled"/> takes the copy between two steps.
    /// </summary>
    private void PlaceAside(Network network)
    {
        var work = Task.Factory.StartNew(() =>
        {
            var stream = Accelerator.CreateStream();
            DeviceNetwork? made = null;
            try
            {
                made = new DeviceNetwork(this, network, stream);
                made.UploadParametersAside();
                return made;
            }
            catch
            {
                made?.Dispose();
                throw;
            }
            finally
            {
                stream.Dispose();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        _aside[network] = new Aside(work);
    }

    /// <summary>
    /// Where <paramref name="network"/> steps, at a point between two steps before the next one's inputs are given (the
    /// loop's <see cref="BeginChain"/> and <see cref="KeepsHostInputsZero"/>, <see cref="OnDevice"/>): a placement off the
    /// loop that is ready (or, with <paramref name="wait"/>, once it is) is taken there.
    /// </summary>
    private DeviceNetwork? Settled(Network network, bool wait = false)
    {
        var device = Find(network);
        if (device is null && _aside.Count > 0 && _aside.TryGetValue(network, out var aside) && (wait || aside.Work.IsCompleted))
        {
            _aside.Remove(network);
            device = Take(network, aside);
        }

        return device;
    }

    /// <summary>
    /// Takes a finished placement off the loop: the state goes up as the CPU backend left it, and the host input rows the
    /// CPU backend accumulates into are cleared (a device backend keeps them zero, see <see cref="KeepsHostInputsZero"/>).
    /// One begun before an edit of the parameters is dropped and begun again.
    /// </summary>
    private DeviceNetwork? Take(Network network, Aside aside)
    {
        DeviceNetwork? made = null;
        string? failed = null;
        try
        {
            made = aside.Work.GetAwaiter().GetResult();
            if (!aside.Stale)
            {
                made.Prepare();
            }
        }
        catch (Exception e)
        {
            made?.Dispose();
            made = null;
            failed = e is DeviceMemoryException ? $"the device has no room for it: {e.Message}" : $"its device copy failed: {e.Message}";
            if (e is not DeviceMemoryException && Logger is { } logger)
            {
                LogPlacementFailed(logger, Name, network.Name, e);
            }
        }

        if (aside.Stale)
        {
            // Its parameters or weights changed while they went up: begin again from the host's (or stay on the CPU backend).
            made?.Dispose();
            string? cpu = CpuReason(network);
            if (cpu is null)
            {
                PlaceAside(network);
            }
            else
            {
                Note(network, $"on the CPU backend since an edit, {cpu}", placement: true);
            }

            return null;
        }

        if (made is null)
        {
            Note(network, $"on the CPU backend, {failed}", placement: true);
            return null;
        }

        foreach (var p in network.Populations)
        {
            if (!p.SpikesAreInput)
            {
                p.Input.AsSpan().Clear();
                p.RecurrentInput.AsSpan().Clear();
                for (int i = 0; i < network.Instances.Length; i++)
                {
                    p.InputMarksIfAny?.Clear(i);
                }
            }
        }

        _networks[network] = made;
        Note(network, "on the device", placement: true);
        return made;
    }

    /// <summary>A placement off the loop that is no longer wanted: what it makes is freed when it ends.</summary>
    private void Discard(Aside aside)
    {
        var freed = aside.Work.ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully)
            {
                t.Result.Dispose();
            }
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        lock (_discarded)
        {
            _discarded.RemoveAll(d => d.IsCompleted);
            _discarded.Add(freed);
        }
    }

    public void RefreshHost(Network network)
    {
        if (_networks.TryGetValue(network, out var device))
        {
            device?.RefreshHost();
        }
    }

    public void RefreshStates(Network network, ReadOnlySpan<StateSlice> slices)
    {
        if (_networks.TryGetValue(network, out var device))
        {
            device?.RefreshStates(slices);
        }
    }

    public void InstanceReset(Network network, int instance)
    {
        if (_networks.TryGetValue(network, out var device))
        {
            device?.ResetInstance(instance);
        }
    }

    public void HostEdited(Network network, HostEdit edit)
    {
        if (edit == HostEdit.Parameters && _aside.TryGetValue(network, out var aside))
        {
            aside.Stale = true; // its copy read the old parameters and weights: taken, it begins again
            return;
        }

        if (!_networks.TryGetValue(network, out var device) || device is null)
        {
            return;
        }

        if (CpuReason(network) is null && edit == HostEdit.Parameters && network.Synapses >= PlaceAsideFromSynapses)
        {
            // New weights go up off the loop too: the host arrays are current (refreshed before the edit), so the network
            // steps on the CPU backend until its new copy is ready.
            device.Dispose();
            _networks[network] = null;
            PlaceAside(network);
            Note(network, $"on the CPU backend while its device copy is made again after an edit ({network.Synapses:N0} synapses), then on the device", placement: true);
            return;
        }

        if (CpuReason(network) is null)
        {
            device.HostEdited(edit);
            try
            {
                device.Prepare(); // now, not at the next step: where new parameters need room the device lacks, the host is still current
                return;
            }
            catch (DeviceMemoryException e)
            {
                Note(network, $"on the CPU backend, the device has no room for it since an edit: {e.Message}", placement: true);
            }
        }
        else
        {
            Note(network, $"on the CPU backend since an edit, {CpuReason(network)}", placement: true);
        }

        // SetParameters chose something the device kernels lack (e.g. inhibition), or the device has no room
        // for what it needs now: the host arrays are current (refreshed before the edit), so the CPU takes over.
        device.Dispose();
        _networks[network] = null;
    }

    public void Release(Network network)
    {
        if (_aside.Remove(network, out var aside))
        {
            Discard(aside);
        }

        if (_networks.Remove(network, out var device))
        {
            device?.Dispose();
        }
    }

    public void SetRealtimePriority(int priority) => _fallback.SetRealtimePriority(priority);

    public void Dispose()
    {
        foreach (var aside in _aside.Values)
        {
            Discard(aside);
        }

        _aside.Clear();
        Task[] discarded;
        lock (_discarded)
        {
            discarded = [.. _discarded];
        }

        try
        {
            Task.WaitAll(discarded);
        }
        catch (AggregateException)
        {
            // A placement that failed has freed what it made.
        }

        foreach (var device in _networks.Values)
        {
            device?.Dispose();
        }

        _networks.Clear();
        _captureStream?.Dispose();
        _fallback.Dispose();
        Accelerator.Dispose();
        _context.Dispose();
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Backend {Backend}: network {Placement}")]
    private static partial void LogPlacement(ILogger logger, string backend, string placement);

    [LoggerMessage(EventId = 201, Level = LogLevel.Error, Message = "Backend {Backend}: placing network {Network} on the device failed; it steps on the CPU backend")]
    private static partial void LogPlacementFailed(ILogger logger, string backend, string network, Exception exception);
}
