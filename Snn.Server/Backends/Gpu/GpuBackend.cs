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
/// projection that has no device kernel yet steps on the CPU backend (see <see cref="DeviceNetwork.Supports"/>); where
/// each network steps, and when it moves, is GpuBackend.Placement.cs. This file is the stepping API the loop calls.
/// </summary>
internal sealed partial class GpuBackend : IComputeBackend, IDisposable
{
    private readonly Context _context;
    private readonly CpuBackend _fallback;
    private readonly Dictionary<Network, DeviceNetwork?> _networks = new(ReferenceEqualityComparer.Instance);

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

    /// <summary>
    /// The backend of <paramref name="kind"/> on device <paramref name="index"/>. Made this way it steps every network with
    /// device kernels on the device (<see cref="CpuBelowNeurons"/> 0); the server sets the rest from <see cref="EngineOptions"/>.
    /// </summary>
    public static GpuBackend Create(string kind, int index, CpuOptions cpu)
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

    /// <summary>See <see cref="EngineOptions.CpuBelowNeurons"/> (0 here unless set: every network on the device).</summary>
    public long CpuBelowNeurons { get; set; }

    /// <summary>See <see cref="EngineOptions.CpuBelowConnections"/>.</summary>
    public long CpuBelowConnections { get; set; } = EngineOptions.DefaultCpuBelowConnections;

    /// <summary>See <see cref="EngineOptions.PlaceAsideFromSynapses"/>.</summary>
    public long PlaceAsideFromSynapses { get; set; } = EngineOptions.DefaultPlaceAsideFromSynapses;

    /// <summary>
    /// A dense projection whose targets over the due instances are fewer than this many is summed by
    /// <see cref="DeviceKernels.DenseTiled"/> (a group of threads per 32 targets), more by
    /// <see cref="DeviceKernels.DenseFromEvents"/> (a thread per target, which keeps a GPU busy from about this many
    /// threads). Both give the same bits; tests set it to take either.
    /// </summary>
    internal long DenseTiledBelowTargets { get; set; } = 65_536;

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

    public void ReadSpikes(Network network, ReadOnlySpan<bool> populations)
    {
        // A network not yet on the device gets every population's lists there until the next chain says otherwise.
        if (_networks.TryGetValue(network, out var device))
        {
            device?.ReadSpikes(populations);
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

        _placingAside.Dispose();

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
}
