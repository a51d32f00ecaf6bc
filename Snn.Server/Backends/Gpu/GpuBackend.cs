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
    private readonly List<string> _placements = [];

    private GpuBackend(string name, Context context, Accelerator accelerator, int index, CpuOptions cpu)
    {
        Name = name;
        _context = context;
        Accelerator = accelerator;
        Stream = accelerator.DefaultStream;
        Kernels = new DeviceKernelSet(accelerator);
        _fallback = new CpuBackend(new CpuOptions { Threads = 1, ParallelThreshold = cpu.ParallelThreshold });
        string capability = accelerator is CudaAccelerator cuda ? $"{cuda.Architecture.Major}.{cuda.Architecture.Minor}" : "";
        DeviceInfo = new ComputeDeviceInfo(index, accelerator.Name, accelerator.MemorySize, capability);
        Device = $"{accelerator.Name} ({accelerator.AcceleratorType}, device {index}, {accelerator.MemorySize / (1 << 20)} MiB" +
            (capability.Length > 0 ? $", compute capability {capability})" : ")");
    }

    public static GpuBackend Create(string kind, int index, CpuOptions cpu, long cpuBelowNeurons = 0)
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

    /// <summary>Where each network steps is logged here once (set by the host; none in tests).</summary>
    public ILogger? Logger { get; set; }

    public string Device { get; }

    public ComputeDeviceInfo? DeviceInfo { get; }

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

    /// <summary>Whether <paramref name="network"/> steps on the device (false: on the CPU fallback).</summary>
    public bool OnDevice(Network network) => Find(network) is not null;

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

    public int BeginChain(Network network, int steps) => Find(network)?.BeginChain(steps) ?? 1;

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

    public bool KeepsHostInputsZero(Network network) => Find(network) is not null;

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

    /// <summary>The device copy of <paramref name="network"/>, made at its first step; null when it steps on the CPU.</summary>
    internal DeviceNetwork? Find(Network network)
    {
        if (!_networks.TryGetValue(network, out var device))
        {
            long neurons = network.Neurons * network.Instances.Length;
            string? unsupported = DeviceNetwork.Unsupported(network);
            bool small = neurons < CpuBelowNeurons;
            bool asked = network.Definition.OnCpu;
            string? noRoom = unsupported is null && !small && !asked ? Place(network, out device) : null;
            _networks[network] = device;
            Note(network, device is not null ? "on the device"
                : asked ? "on the CPU backend, as its spec.placement asks"
                : unsupported is not null ? $"on the CPU backend, {unsupported} has no device kernel yet"
                : noRoom is not null ? $"on the CPU backend, {noRoom}"
                : $"on the CPU backend, {neurons} neurons is below Snn:Engine:CpuBelowNeurons ({CpuBelowNeurons})", placement: true);
        }

        return device;
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
        if (!_networks.TryGetValue(network, out var device) || device is null)
        {
            return;
        }

        if (DeviceNetwork.Supports(network) && network.Neurons * network.Instances.Length >= CpuBelowNeurons && !network.Definition.OnCpu)
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
            Note(network, DeviceNetwork.Unsupported(network) is { } unsupported ? $"on the CPU backend since an edit, {unsupported} has no device kernel yet"
                : "on the CPU backend since an edit", placement: true);
        }

        // SetParameters chose something the device kernels lack (e.g. inhibition), or the device has no room
        // for what it needs now: the host arrays are current (refreshed before the edit), so the CPU takes over.
        device.Dispose();
        _networks[network] = null;
    }

    public void Release(Network network)
    {
        if (_networks.Remove(network, out var device))
        {
            device?.Dispose();
        }
    }

    public void SetRealtimePriority(int priority) => _fallback.SetRealtimePriority(priority);

    public void Dispose()
    {
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
}
