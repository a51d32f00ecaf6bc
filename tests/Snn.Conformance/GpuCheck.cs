using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Snn.Server;
using Snn.Server.Backends;
using Snn.Server.Backends.Cpu;
using Snn.Server.Backends.Gpu;
using Snn.Server.Engine;
using Snn.Server.Models;

namespace Snn.Conformance;

/// <summary>
/// <c>Snn.Conformance gpu-check --data DIR --out DIR [--backend cuda] [--quick]</c>: what tests/gpu/device-check.sh
/// runs on a machine with a GPU and no .NET (this program published self-contained). Replays every
/// reference case and network on the device backend, checks the device against the CPU bit for bit on
/// large populations, and measures the GPU figures of the README. Ends with one line:
/// <c>gpu-check: N passed, M failed</c>.
/// </summary>
public static class GpuCheck
{
    private static readonly int[] s_sizes = [1_000, 65_536, 1_048_576, 16_777_216];

    /// <summary>The parts of the check, in the order they run; <c>--only</c> picks some (a rerun of what a short lease left).</summary>
    public static readonly string[] Sections = ["cases", "lockstep", "exact", "chains", "full", "figures", "crossover", "networks"];

    /// <summary><c>gpu-check --data DIR --out DIR [--backend cuda|opencl|ilgpu-cpu] [--quick] [--only SECTION,...]</c>: the exit code.</summary>
    public static async Task<int> MainAsync(string[] args, TextWriter log, TextWriter error)
    {
        string data = "data", output = "gpu-check-out", backend = "cuda";
        bool quick = false;
        string[]? only = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--data" when i + 1 < args.Length: data = args[++i]; break;
                case "--out" when i + 1 < args.Length: output = args[++i]; break;
                case "--backend" when i + 1 < args.Length: backend = args[++i]; break;
                case "--quick": quick = true; break;
                case "--only" when i + 1 < args.Length: only = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                default:
                    error.WriteLine($"usage: Snn.Conformance gpu-check --data DIR --out DIR [--backend cuda|opencl|ilgpu-cpu] [--quick] [--only {string.Join(',', Sections)}]");
                    return 2;
            }
        }

        if (only?.FirstOrDefault(s => !Sections.Contains(s)) is { } unknown)
        {
            error.WriteLine($"gpu-check: unknown section '{unknown}' in --only; the sections are {string.Join(", ", Sections)}");
            return 2;
        }

        return await RunAsync(data, output, backend, quick, log, only);
    }

    public static async Task<int> RunAsync(string dataDir, string outDir, string backend, bool quick, TextWriter log, IReadOnlyCollection<string>? only = null)
    {
        bool Want(string section) => only is null || only.Contains(section);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Mark(string section)
        {
            if (Want(section))
            {
                log.WriteLine($"-- {section} done at {clock.Elapsed.TotalSeconds:F0} s");
            }
        }
        int passed = 0, failed = 0;
        void Check(bool ok, string what)
        {
            log.WriteLine($"{(ok ? "PASS" : "FAIL")}  {what}");
            if (ok) passed++; else failed++;
        }

        log.WriteLine($"gpu-check on backend {backend}, {DateTime.UtcNow:u}, {Environment.ProcessorCount} cores{(only is null ? "" : $", only {string.Join(", ", only)}")}");
        GpuBackend gpuBackend;
        try
        {
            // Every network on the device, however small: the figures below are the device's.
            gpuBackend = (GpuBackend)ComputeBackends.Create(new EngineOptions { Backend = backend, CpuBelowNeurons = 0 }, new CpuOptions());
        }
        catch (InvalidOperationException e)
        {
            // No device here: nothing below can run.
            Check(false, e.Message);
            log.WriteLine($"gpu-check: {passed} passed, {failed} failed");
            return 1;
        }

        using var ownedGpu = gpuBackend;

        // 1. Reference cases and networks through the real server on the device backend, every network on the device
        //    however small (CpuBelowNeurons 0; the LOCKSTEP figure below also asks the server's default).
        var data = Directory.CreateTempSubdirectory("snn-gpucheck-");
        if (Want("cases") || Want("lockstep"))
        {
            await using (var host = await ServerHost.StartAsync(["--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "", $"--Snn:Engine:Backend={backend}", "--Snn:Engine:CpuBelowNeurons=0",
            "--Snn:DataDirectory", data.FullName]))
            {
                var device = host.Services.GetRequiredService<IComputeBackend>();
                log.WriteLine($"device: {device.Device}");
                if (Want("cases"))
                {
                    using (var infoClient = new Snn.Client.SnnClient(host.Address))
                    {
                        var info = (await infoClient.GetServerInfoAsync()).ComputeDevice;
                        Check(info is not null && info.HasFreeBytes == (backend == "cuda"),
                            $"GetServerInfo: compute_device {(info is { HasFreeBytes: true } ? $"{info.FreeBytes >> 20:N0} MiB free of {info.MemoryBytes >> 20:N0} MiB" : "without free_bytes")} on {backend}");
                    }
                    foreach (var kind in new[] { "refcases", "refnets", "transcribed" })
                    {
                        string cases = Path.Combine(dataDir, kind);
                        if (!Directory.Exists(cases))
                        {
                            Check(false, $"{cases} is missing");
                            continue;
                        }

                        var (p, f, exact) = await ConformanceProgram.RunCasesAsync(cases, Path.Combine(outDir, kind), host.Address, 1e-5, log, []);
                        Check(f == 0 && p > 0, $"{kind} on {backend}: {p} passed, {f} failed, {exact} bit-exact (the rest within 1e-5: exp in derived constants or LIFAdEx)");
                    }

                    Mark("cases");
                }

                if (device is GpuBackend gpu)
                {
                    foreach (var line in gpu.Placements())
                    {
                        log.WriteLine("      placement: " + line);
                    }
                }

                if (Want("lockstep"))
                {
                    var loop = host.Services.GetRequiredService<StepLoop>();
                    var (stepped, executed) = (loop.SteppingTime, loop.StepsExecuted);
                    await LockstepOverTheApi(host.Address, backend, quick, log, Check, Snn.Protos.V1.Placement.Device);
                    log.WriteLine($"      steps in chains: {loop.ChainedSteps:N0} of {loop.StepsExecuted:N0}; chain parts (up to {StepLoop.ChainPart} steps) sent as CUDA graphs: {(device as GpuBackend)?.GraphLaunches:N0}");
                    LoopShare(loop, stepped, executed, log);

                    // The same network asking this GPU server for the CPU backend (spec.placement), as a small LOCKSTEP network may.
                    (stepped, executed) = (loop.SteppingTime, loop.StepsExecuted);
                    await LockstepOverTheApi(host.Address, $"{backend} server with PLACEMENT_CPU", quick, log, Check, Snn.Protos.V1.Placement.Cpu);
                    LoopShare(loop, stepped, executed, log);
                }
            }
        }

        if (Want("lockstep"))
        {
            // The same network on a GPU server with its default settings, where the size rule decides (PLACEMENT_AUTO).
            await using (var host = await ServerHost.StartAsync(["--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "", $"--Snn:Engine:Backend={backend}",
            "--Snn:DataDirectory", Directory.CreateTempSubdirectory("snn-gpucheck-auto-").FullName]))
            {
                await LockstepOverTheApi(host.Address, $"{backend} server, its defaults", quick, log, Check);
                foreach (var line in ((GpuBackend)host.Services.GetRequiredService<IComputeBackend>()).Placements())
                {
                    log.WriteLine("      placement: " + line);
                }
            }

            // The same LOCKSTEP figure on the CPU backend of this machine (all cores), for comparison.
            await using (var host = await ServerHost.StartAsync(["--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "", "--Snn:Engine:Backend=cpu",
            "--Snn:DataDirectory", Directory.CreateTempSubdirectory("snn-gpucheck-cpu-").FullName]))
            {
                await LockstepOverTheApi(host.Address, "cpu", quick, log, Check);
            }
        }

        Mark("lockstep");

        // 2. Device against CPU, every bit, on populations large enough for ptxas to have fused (the FMA check).
        using var cpuBackend = new CpuBackend();
        foreach (var model in Want("exact") ? Models : [])
        {
            int size = quick ? 4_096 : 1_048_576;
            var (cpuNet, _) = Single(model, size, cpuBackend, null);
            var (gpuNet, device) = Single(model, size, gpuBackend, Drive(size));
            Drive(size).CopyTo(cpuNet.Populations[0].Input, 0);
            int[] due = [0];
            for (int t = 0; t < 200; t++)
            {
                Drive(size).CopyTo(cpuNet.Populations[0].Input, 0);
                cpuBackend.Step(cpuNet, due);
                device!.Step(due);
                cpuNet.Instances[0].Step++;
                gpuNet.Instances[0].Step++;
            }

            gpuBackend.RefreshHost(gpuNet);
            long differ = 0;
            var a = cpuNet.Populations[0];
            var b = gpuNet.Populations[0];
            for (int v = 0; v < a.State.Length; v++)
            {
                for (int k = 0; k < size; k++)
                {
                    differ += BitConverter.SingleToInt32Bits(a.State[v][k]) != BitConverter.SingleToInt32Bits(b.State[v][k]) ? 1 : 0;
                }
            }

            long spikeDiffer = 0;
            for (int k = 0; k < size; k++)
            {
                spikeDiffer += a.Spikes[k] != b.Spikes[k] ? 1 : 0;
            }

            Check(differ == 0 && spikeDiffer == 0, $"{model.Name} {size:N0} neurons, 200 steps: {differ} state values and {spikeDiffer} spikes differ from the CPU backend");
            gpuBackend.Release(gpuNet);
        }

        Mark("exact");

        // Chains of steps (as a LOCKSTEP request runs them), on CUDA replayed as graphs: every step's spikes and the final state against the CPU.
        if (Want("chains"))
        {
            try
            {
                ChainCheck(gpuBackend, cpuBackend, log, Check);
            }
            catch (Exception e)
            {
                Check(false, $"chains: {e}");
            }
        }

        Mark("chains");

        // A device filled up by the check: the driver's own out-of-memory (CI's tests can only refuse allocations themselves).
        if (gpuBackend.Accelerator is CudaAccelerator && Want("full"))
        {
            try
            {
                DeviceFullCheck(gpuBackend, check: Check);
            }
            catch (Exception e)
            {
                Check(false, $"device full: {e}");
            }
        }

        Mark("full");

        // 3. Figures.
        log.WriteLine($"figures on {gpuBackend.Device}");
        log.WriteLine("spikes returned = one step, its spike indices and values compacted on the device into page-locked host memory, then a wait; " +
            "chained = 100 steps queued into 100 output slots, one wait, every step's spikes readable (a LOCKSTEP request's chain); " +
            "queued = 100 steps into one slot, one wait (throughput); spikes unread = queued with no stream reading the population's spikes " +
            "(its step is then the neuron kernel alone); batch 1");
        double copyBandwidth = CopyBandwidth(gpuBackend, log);
        var sizes = !Want("figures") ? [] : quick ? [1_000, 4_096] : s_sizes;
        foreach (int size in sizes)
        {
            foreach (var model in Models)
            {
                var (net, device) = Single(model, size, gpuBackend, Drive(size));
                double returned = Rate(() => device!.Step([0]), net, quick ? 0.2 : 1.0, out long allocated);
                long steps = _lastSteps;
                double chained = Chained(device!, net, quick ? 0.2 : 1.0, out long chainAllocated, out long chainSteps);
                int spiking = device!.Spikes(net.Populations[0], 0).Indices.Length;
                double queued = Queued(device, net, quick ? 0.2 : 1.0);

                // Queued with nobody reading the spikes (no stream names the population in spikes_from, nothing projects
                // from it): the step is the neuron kernel alone, nothing crosses to the host.
                device.ReadSpikes([false]);
                double unread = Queued(device, net, quick ? 0.2 : 1.0);
                device.ReadSpikes([true]);
                string bw = "";
                if (size >= 1 << 20)
                {
                    // Bytes the kernels must move per neuron and step: state read and written, the
                    // resident input read, the spike written (with the chunk counts), the spike read again
                    // by the writing pass (not where the step had none: it skips chunks without spikes).
                    // Scalar parameters are read once per group, not per neuron. The neuron kernel alone moves all but the last.
                    double kernelBytes = (8.0 * net.Populations[0].State.Length + 4 + 4) * size;
                    double rate = (kernelBytes + (spiking > 0 ? 4.0 * size : 0)) * queued;
                    bw = $"  queued moves {rate / 1e12:F2} TB/s = {100 * rate / copyBandwidth:F0}% of copy bandwidth";

                    // Where a queued step's time goes: the compaction passes alone, the neuron kernel as the rest. And the
                    // neuron kernel launched alone, queued (no compaction, no host lists): the issue's probe's and the peers'
                    // "queued", in the bytes it moves; the same with the spikes unread, through the server's own steps.
                    foreach (var (_, neuron, count, scan, write) in device.TimeCompaction(20))
                    {
                        double step = 1e6 / queued;
                        bw += string.Create(CultureInfo.InvariantCulture,
                            $"; per step {step:F1} µs = neuron kernel ~{step - scan - write:F1} + scans {scan:F1} + writes {write:F1} (a count pass alone {count:F1}); " +
                            $"the neuron kernel alone, queued: {neuron:F1} µs = {kernelBytes / neuron / 1e6:F2} TB/s = {100 * kernelBytes / neuron / 1e6 * 1e12 / copyBandwidth:F0}% of copy bandwidth");
                    }

                    bw += string.Create(CultureInfo.InvariantCulture,
                        $"; queued, spikes unread: {unread:F0} steps/s = {kernelBytes * unread / 1e12:F2} TB/s = {100 * kernelBytes * unread / copyBandwidth:F0}% of copy bandwidth");
                }

                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"GPU {model.Name,-16} N={size,10:N0}  spikes returned {returned,9:F0} steps/s  chained {chained,9:F0} (x{device.MaxSlots}, {device.GraphLaunches} graph launches)  queued {queued,9:F0} steps/s (spikes unread {unread,9:F0})  spiking {spiking,9:N0}  managed bytes/step {(double)allocated / Math.Max(1, steps):F1} (chained {(double)chainAllocated / Math.Max(1, chainSteps):F1}){bw}"));
                gpuBackend.Release(net);
            }
        }

        Mark("figures");

        // Crossover: the CPU backend (all cores) against the device, spikes returned, snntorch.Leaky.
        foreach (int size in !Want("crossover") ? [] : quick ? [1_000, 4_096] : new[] { 1_000, 4_096, 16_384, 65_536, 262_144, 1_048_576 })
        {
            var model = Models[0];
            var (cpuNet, _) = Single(model, size, cpuBackend, null);
            Drive(size).CopyTo(cpuNet.Populations[0].Input, 0);
            var drive = cpuNet.Populations[0].Input.ToArray();
            double cpu = Rate(() =>
            {
                drive.CopyTo(cpuNet.Populations[0].Input, 0);
                cpuBackend.Step(cpuNet, [0]);
                ScanSpikes(cpuNet.Populations[0].Spikes);
            }, cpuNet, 0.5, out _);
            var (gpuNet, device) = Single(model, size, gpuBackend, Drive(size));
            double gpu = Rate(() => device!.Step([0]), gpuNet, 0.5, out _);
            gpuBackend.Release(gpuNet);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"crossover snntorch.Leaky N={size,10:N0}  CPU backend {cpu,9:F0} steps/s  GPU {gpu,9:F0} steps/s  -> {(cpu > gpu ? "CPU" : "GPU")} faster"));
        }

        // Crossover by connections: snntorch.Leaky N -> dense (N x N) -> snntorch.Leaky N, spikes of both returned, the first
        // driven two ways: as above (about a tenth of the sources spike each step) and above threshold (every source spikes
        // every step: the worst case the size rule counts); where the server's size rule at its defaults
        // (Snn:Engine:CpuBelowNeurons, CpuBelowConnections) puts each.
        {
            foreach (int size in !Want("crossover") ? [] : quick ? [256] : new[] { 128, 256, 512, 1_024, 2_048, 4_096 })
            {
                var random = new Random(size);
                var weights = Enumerable.Range(0, size * size).Select(_ => random.Next(-64, 65) / 1024f).ToArray();
                var definition = new NetworkDefinition("dense", [
                    new PopulationDefinition("a", Models[0].Name, size, [], Models[0].Parameters),
                    new PopulationDefinition("b", Models[0].Name, size, [], Models[0].Parameters),
                ], [new ProjectionDefinition("w", "a", "b", ProjectionKind.Dense, weights, null, false)], 0.001, ClockMode.Lockstep, 1, 1);
                var ruled = NetworkBuilder.Build(definition, new EngineLimits());
                (gpuBackend.CpuBelowNeurons, gpuBackend.CpuBelowConnections) = (EngineOptions.DefaultCpuBelowNeurons, EngineOptions.DefaultCpuBelowConnections);
                string where = gpuBackend.OnDevice(ruled) ? "the device" : "the CPU backend";
                (gpuBackend.CpuBelowNeurons, gpuBackend.CpuBelowConnections) = (0, EngineOptions.DefaultCpuBelowConnections);
                gpuBackend.Release(ruled);
                foreach (var drive in new[] { Drive(size), Enumerable.Repeat(2f, size).ToArray() })
                {
                    var cpuNet = NetworkBuilder.Build(definition, new EngineLimits());
                    double cpu = Rate(() =>
                    {
                        drive.CopyTo(cpuNet.Populations[0].Input, 0);
                        Array.Clear(cpuNet.Populations[1].Input); // as the loop clears what the CPU backend accumulates into
                        cpuBackend.Step(cpuNet, [0]);
                        ScanSpikes(cpuNet.Populations[0].Spikes);
                        ScanSpikes(cpuNet.Populations[1].Spikes);
                    }, cpuNet, 0.5, out _);
                    int active = ScanSpikes(cpuNet.Populations[0].Spikes);
                    var gpuNet = NetworkBuilder.Build(definition, new EngineLimits());
                    var device = (gpuBackend.OnDevice(gpuNet) ? gpuBackend.Find(gpuNet) : null) ?? throw new InvalidOperationException($"dense steps {gpuNet.StepsOn}");
                    device.Step([0]);
                    device.SetConstantInput(gpuNet.Populations[0], drive);
                    double gpu = Rate(() => device.Step([0]), gpuNet, 0.5, out _);
                    gpuBackend.Release(gpuNet);
                    log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"crossover Leaky {size} -> dense -> Leaky {size} ({size * size,10:N0} connections, {100.0 * active / size,3:F0}% of sources spiking)  CPU backend {cpu,9:F0} steps/s  GPU {gpu,9:F0} steps/s  -> {(cpu > gpu ? "CPU" : "GPU")} faster; the size rule's defaults put it on {where}"));
                }
            }
        }

        Mark("crossover");

        // The engine benchmarks' wide dense network (input 100 -> dense -> sinabs.LIF 1,048,576: 104,857,600 weights).
        if (!Want("networks"))
        {
        }
        else if (quick)
        {
            // The figure of the three networks below (placement, 30 steps against the CPU backend, rates) on a small dense one.
            var random = new Random(1);
            float[] Weights(int count) => Enumerable.Range(0, count).Select(_ => random.Next(-64, 65) / 256f).ToArray();
            NetworkFigure(gpuBackend, cpuBackend, log, Check, "small dense: input 100 -> dense -> sinabs.LIF 4,096 -> dense -> sinabs.IAF 10, 30% input spikes",
                new NetworkDefinition("small", [
                    new PopulationDefinition("in", "input", 100, [], new Dictionary<string, ParamValue>()),
                    new PopulationDefinition("lif", "sinabs.LIF", 4_096, [], new Dictionary<string, ParamValue> { ["tau_mem"] = ParamValue.Number(10) }),
                    new PopulationDefinition("out", "sinabs.IAF", 10, [], new Dictionary<string, ParamValue>()),
                ], [
                    new ProjectionDefinition("w", "in", "lif", ProjectionKind.Dense, Weights(409_600), null, false),
                    new ProjectionDefinition("v", "lif", "out", ProjectionKind.Dense, Weights(40_960), null, false),
                ], 0.001, ClockMode.Lockstep, 1, 1), 0.3);
        }
        else
        {
            foreach (var figure in new Action<GpuBackend, CpuBackend, TextWriter, Action<bool, string>>[] { Vision, WideDense, Sparse })
            {
                try
                {
                    figure(gpuBackend, cpuBackend, log, Check);
                }
                catch (Exception e)
                {
                    Check(false, $"{figure.Method.Name}: {e}");
                }
            }
        }

        Mark("networks");
        log.WriteLine($"gpu-check: {passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    private static readonly (string Name, Dictionary<string, ParamValue> Parameters)[] Models =
    [
        ("snntorch.Leaky", new() { ["beta"] = ParamValue.Number(0.9) }),
        ("sinabs.LIF", new() { ["tau_mem"] = ParamValue.Number(10) }),
        ("norse.LIF", new() { ["tau_mem_inv"] = ParamValue.Number(100), ["dt"] = ParamValue.Number(0.001) }),
    ];

    private static long _lastSteps;

    /// <summary>x = U(0, 1) * 0.3 as the peers draw it (a fixed seed).</summary>
    private static float[] Drive(int size)
    {
        var rng = new Random(42);
        var x = new float[size];
        for (int i = 0; i < size; i++)
        {
            x[i] = rng.NextSingle() * 0.3f;
        }

        return x;
    }

    private static (Network Net, DeviceNetwork? Device) Single((string Name, Dictionary<string, ParamValue> Parameters) model, int size,
        IComputeBackend backend, float[]? constantInput)
    {
        var definition = new NetworkDefinition("bench", [new PopulationDefinition("a", model.Name, size, [], model.Parameters)], [],
            0.001, ClockMode.Lockstep, 1, 1);
        var net = NetworkBuilder.Build(definition, new EngineLimits { MaxNeuronsPerPopulation = 1 << 25, MaxNeuronsPerNetwork = 1L << 26 });
        if (backend is not GpuBackend gpu)
        {
            return (net, null);
        }

        var device = (gpu.OnDevice(net) ? gpu.Find(net) : null) ?? throw new InvalidOperationException($"{model.Name} steps {net.StepsOn}");
        device.Step([0]); // uploads
        if (constantInput is not null)
        {
            device.SetConstantInput(net.Populations[0], constantInput);
        }

        net.Instances[0].Step = 0;
        return (net, device);
    }

    /// <summary>Steps per second of <paramref name="step"/> over about <paramref name="seconds"/>, after a warm-up.</summary>
    private static double Rate(Action step, Network net, double seconds, out long allocated)
    {
        for (int i = 0; i < 30; i++)
        {
            step();
        }

        long steps = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            for (int i = 0; i < 10; i++)
            {
                step();
                net.Instances[0].Step++;
            }

            steps += 10;
        }

        double rate = steps / sw.Elapsed.TotalSeconds;
        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        _lastSteps = steps;
        return rate;
    }

    /// <summary>
    /// input 150 -> dense with bias -> sinabs.LIF 130 (recurrent) -> dense with a 2-step delay ->
    /// snntorch.Leaky 20, 3 instances, random input every step: chains of 2 to 24 steps (some of two
    /// instances only), each step's spike lists against the CPU backend stepping one by one, the state
    /// after. The same shapes come back, so on CUDA most chains run as graphs.
    /// </summary>
    /// <summary>
    /// Fills the device (1 GiB buffers, then halves down to 1 MiB, each size until the driver refuses) and places a
    /// network of 4,194,304 neurons (about 100 MiB on a device): it must step on the CPU backend and say why. Once the
    /// filler is gone the device's free memory must be what it was (the refused placement left nothing) and the same
    /// network must go on the device.
    /// </summary>
    private static void DeviceFullCheck(GpuBackend gpu, Action<bool, string> check)
    {
        var accelerator = gpu.Accelerator;
        long Free()
        {
            accelerator.Synchronize();
            using var binding = accelerator.BindScoped();
            CudaException.ThrowIfFailed(CudaAPI.CurrentAPI.GetMemoryInfo(out long free, out long _));
            return free;
        }

        const int Size = 1 << 22;
        Network Build() => NetworkBuilder.Build(new NetworkDefinition("full", [new PopulationDefinition("a", Models[0].Name, Size, [], Models[0].Parameters)], [],
            0.001, ClockMode.Lockstep, 1, 1), new EngineLimits { MaxNeuronsPerPopulation = 1 << 25, MaxNeuronsPerNetwork = 1L << 26 });

        long before = Free();
        var fillers = new List<MemoryBuffer1D<byte, Stride1D.Dense>>();
        try
        {
            for (long chunk = 1L << 30; chunk >= 1L << 20; chunk /= 2)
            {
                while (true)
                {
                    try
                    {
                        fillers.Add(accelerator.Allocate1D<byte>(chunk));
                    }
                    catch (Exception e) when (DeviceMemoryException.IsOutOfMemory(e))
                    {
                        break;
                    }
                }
            }

            long left = Free();
            var net = Build();
            bool onDevice = gpu.OnDevice(net);
            net.Populations[0].Input.AsSpan().Fill(0.5f);
            gpu.Step(net, [0]);
            string where = net.StepsOn ?? "";
            check(!onDevice && where.StartsWith("on the CPU backend, the device has no room for it: the driver refused", StringComparison.Ordinal),
                $"device full ({left >> 20} MiB of {before >> 20} MiB left free): a {Size:N0}-neuron network steps {where}");
            gpu.Release(net);
        }
        finally
        {
            foreach (var filler in fillers)
            {
                filler.Dispose();
            }
        }

        long after = Free();
        check(Math.Abs(after - before) <= 64L << 20, $"device full: {before >> 20} MiB free before it, {after >> 20} MiB after the filler was freed");
        var again = Build();
        check(gpu.OnDevice(again), $"device no longer full: the same network steps {again.StepsOn}");
        gpu.Release(again);
    }

    /// <summary>
    /// Where the step loop's time went since <paramref name="before"/> (<paramref name="executedBefore"/> steps then): per
    /// step, the loop's stepping (intake, steps, emission) and the part of it spent waiting for the device; what the API
    /// figure adds to that is gRPC and the client. (ILGPU's CPU accelerator runs kernels as they are queued: there they
    /// count as the host's.)
    /// </summary>
    private static void LoopShare(StepLoop loop, (TimeSpan Stepping, TimeSpan Waiting) before, long executedBefore, TextWriter log)
    {
        var now = loop.SteppingTime;
        long steps = Math.Max(1, loop.StepsExecuted - executedBefore);
        double stepping = (now.Stepping - before.Stepping).TotalMicroseconds / steps, waiting = (now.Waiting - before.Waiting).TotalMicroseconds / steps;
        log.WriteLine($"      step loop: {stepping:F2} us a step stepping, of which {waiting:F2} us waiting for the device and {stepping - waiting:F2} us on the host ({steps:N0} steps)");
    }

    private static void ChainCheck(GpuBackend gpu, CpuBackend cpu, TextWriter log, Action<bool, string> check)
    {
        var random = new Random(3);
        float[] Dyadic(int n) => Enumerable.Range(0, n).Select(_ => random.Next(-64, 65) / 64f).ToArray();
        var none = new Dictionary<string, ParamValue>();
        var definition = new NetworkDefinition("chains", [
            new PopulationDefinition("in", "input", 150, [], none),
            new PopulationDefinition("h", "sinabs.LIF", 130, [], new Dictionary<string, ParamValue> { ["tau_mem"] = ParamValue.Number(8) }),
            new PopulationDefinition("o", "snntorch.Leaky", 20, [], new Dictionary<string, ParamValue> { ["beta"] = ParamValue.Number(0.95) }),
        ], [
            new ProjectionDefinition("w1", "in", "h", ProjectionKind.Dense, Dyadic(130 * 150), Dyadic(130), false),
            new ProjectionDefinition("rec", "h", "h", ProjectionKind.Dense, Dyadic(130 * 130), null, false),
            new ProjectionDefinition("w2", "h", "o", ProjectionKind.Dense, Dyadic(20 * 130), Dyadic(20), false) { DelaySteps = 2 },
        ], 0.001, ClockMode.Lockstep, 3, 1);
        var cNet = NetworkBuilder.Build(definition, new EngineLimits());
        var gNet = NetworkBuilder.Build(definition, new EngineLimits());
        var device = gpu.Find(gNet) ?? throw new InvalidOperationException("the chain network is not on the device");
        var rng = new Random(9);
        long differ = 0, steps = 0, spikes = 0;
        for (int chain = 0; chain < 40; chain++)
        {
            int[] due = chain % 5 == 3 ? [0, 2] : [0, 1, 2];
            int k = chain == 0 ? 1 : gpu.BeginChain(gNet, chain % 2 == 0 ? 24 : 2 + chain % 7); // a single step first, as the loop
            var expected = new List<float[][]>();
            for (int s = 0; s < k; s++)
            {
                foreach (var net in new[] { cNet, gNet })
                {
                    foreach (var p in net.Populations)
                    {
                        foreach (int i in due)
                        {
                            p.Slice(p.Input, i).Clear();
                        }
                    }
                }

                foreach (int i in due)
                {
                    // Instance 1 gets events (an event list, 2% of its neurons), the others whole rows.
                    gNet.Populations[0].InputMarks.Clear(i);
                    for (int n = 0; n < 150; n++)
                    {
                        float v = rng.NextDouble() < (i == 1 ? 0.02 : 0.2) ? 1f : 0f;
                        cNet.Populations[0].Input[i * 150 + n] = v;
                        gNet.Populations[0].Input[i * 150 + n] = v;
                        if (i == 1 && v != 0f)
                        {
                            gNet.Populations[0].InputMarks.MarkEvent(i, n);
                        }
                    }

                    if (i != 1)
                    {
                        gNet.Populations[0].MarkExternalInput(i);
                    }
                }

                cpu.Step(cNet, due);
                gpu.Enqueue(gNet, due, s);
                expected.Add(cNet.Populations.Select(p => p.Spikes.ToArray()).ToArray());
                foreach (int i in due)
                {
                    cNet.Instances[i].Step++;
                    gNet.Instances[i].Step++;
                }
            }

            gpu.Complete(gNet);
            for (int s = 0; s < k; s++)
            {
                foreach (var pop in gNet.Populations)
                {
                    foreach (int i in due)
                    {
                        gpu.TryGetSpikes(gNet, pop, i, s, out var list);
                        var row = new float[pop.Size];
                        for (int n = 0; n < list.Indices.Length; n++)
                        {
                            row[list.Indices[n]] = list.Values[n];
                        }

                        var want = expected[s][pop.Index].AsSpan(i * pop.Size, pop.Size);
                        for (int n = 0; n < pop.Size; n++)
                        {
                            differ += BitConverter.SingleToInt32Bits(want[n]) != BitConverter.SingleToInt32Bits(row[n]) ? 1 : 0;
                            spikes += want[n] != 0f ? 1 : 0;
                        }
                    }
                }

                steps++;
            }
        }

        gpu.RefreshHost(gNet);
        for (int p = 0; p < gNet.Populations.Length; p++)
        {
            for (int v = 0; v < gNet.Populations[p].State.Length; v++)
            {
                var a = cNet.Populations[p].State[v];
                var b = gNet.Populations[p].State[v];
                for (int n = 0; n < a.Length; n++)
                {
                    differ += BitConverter.SingleToInt32Bits(a[n]) != BitConverter.SingleToInt32Bits(b[n]) ? 1 : 0;
                }
            }
        }

        check(differ == 0 && spikes > 0, $"chains: {steps} chained steps (of 40 chains, {device.GraphLaunches} sent as one CUDA graph each), " +
            $"{differ} spike and state values differ from the CPU backend ({spikes} spikes)");
        gpu.Release(gNet);
    }

    /// <summary>Chains of up to 100 steps, each into its own output slot, one wait per chain; every step's spike count read after it.</summary>
    private static double Chained(DeviceNetwork device, Network net, double seconds, out long allocated, out long steps)
    {
        long spikes = 0;
        long Run(double budget, out long done)
        {
            done = 0;
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed.TotalSeconds < budget)
            {
                int k = device.BeginChain(100);
                for (int s = 0; s < k; s++)
                {
                    device.Enqueue([0], s);
                    net.Instances[0].Step++;
                }

                device.Complete();
                for (int s = 0; s < k; s++)
                {
                    spikes += device.Spikes(net.Populations[0], 0, s).Indices.Length;
                }

                done += k;
            }

            return sw.ElapsedTicks;
        }

        Run(0.05, out _);
        long before = GC.GetAllocatedBytesForCurrentThread();
        long ticks = Run(seconds, out steps);
        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return steps / ((double)ticks / Stopwatch.Frequency);
    }

    /// <summary>
    /// A LOCKSTEP Run stream through the real server, as <c>snn bench lockstep-batch</c>: input 1,000 ->
    /// one_to_one -> snntorch.Leaky 1,000; each request advances 100 steps with 10 input events at each;
    /// the next request goes out once all 100 steps are back. Steps per second over the measured requests.
    /// </summary>
    private static async Task LockstepOverTheApi(Uri address, string backend, bool quick, TextWriter log, Action<bool, string> check,
        Snn.Protos.V1.Placement placement = Snn.Protos.V1.Placement.Auto)
    {
        const int neurons = 1000, stepsPerRequest = 100, eventsPerStep = 10;
        try
        {
            using var client = new Snn.Client.SnnClient(address);
            var spec = new Snn.Protos.V1.NetworkSpec
            {
                Name = $"lockstep-bench-{placement.ToString().ToLowerInvariant()}",
                Clock = Snn.Protos.V1.ClockMode.Lockstep,
                Dt = 0.001,
                Instances = 1,
                Placement = placement,
            };
            spec.Populations.Add(new Snn.Protos.V1.PopulationSpec { Name = "in", Model = "input", Size = neurons });
            spec.Populations.Add(new Snn.Protos.V1.PopulationSpec
            {
                Name = "out",
                Model = "snntorch.Leaky",
                Size = neurons,
                Params = { ["beta"] = new Snn.Protos.V1.ParameterValue { Scalar = 0.9 } },
            });
            spec.Projections.Add(new Snn.Protos.V1.ProjectionSpec { Name = "ff", Source = "in", Target = "out", OneToOne = new Snn.Protos.V1.OneToOneProjection() });
            await client.CreateNetworkAsync(new Snn.Protos.V1.CreateNetworkRequest { Spec = spec });
            var random = new Random(2000);
            var requests = new Snn.Protos.V1.RunRequest[16];
            for (int r = 0; r < requests.Length; r++)
            {
                var request = new Snn.Protos.V1.RunRequest { Advance = stepsPerRequest };
                for (uint s = 0; s < stepsPerRequest; s++)
                {
                    var input = new Snn.Protos.V1.Input { Population = "in", Offset = s };
                    for (int e = 0; e < eventsPerStep; e++)
                    {
                        input.Indices.Add((uint)random.Next(neurons));
                    }

                    request.Inputs.Add(input);
                }

                requests[r] = request;
            }

            await using var run = await client.OpenRunAsync(new Snn.Protos.V1.RunOpen { Network = spec.Name, Reset = true });
            async Task<long> Request(int m)
            {
                await run.SendAsync(requests[m % requests.Length]);
                int steps = 0;
                long spiked = 0;
                while (steps < stepsPerRequest)
                {
                    var response = await run.ReadAsync() ?? throw new InvalidOperationException("the Run stream ended early");
                    steps += response.Steps.Count;
                    foreach (var step in response.Steps)
                    {
                        foreach (var p in step.Spikes)
                        {
                            spiked += p.Indices.Count;
                        }
                    }
                }

                return spiked;
            }

            // Warm-up by time (JIT tiering: a first second measured 5x below the next on a CPU server), then measure by time.
            int sent = 0;
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed.TotalSeconds < (quick ? 0.5 : 2.0))
            {
                await Request(sent++);
            }

            long spikes = 0;
            int measured = 0;
            sw.Restart();
            while (sw.Elapsed.TotalSeconds < (quick ? 0.5 : 2.0))
            {
                spikes += await Request(sent++);
                measured++;
            }

            double rate = measured * (double)stepsPerRequest / sw.Elapsed.TotalSeconds;
            await run.CompleteAsync();
            while (await run.ReadAsync() is not null)
            {
            }

            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"LOCKSTEP over the API on {backend}: input {neurons} -> one_to_one -> snntorch.Leaky {neurons}, {stepsPerRequest} steps per request, {eventsPerStep} events per step: {rate:F0} steps/s ({spikes / (double)(measured * stepsPerRequest):F1} output spikes per step)"));
            check(spikes > 0, $"LOCKSTEP over the API on {backend} returned spikes");
        }
        catch (Exception e)
        {
            check(false, $"LOCKSTEP over the API on {backend}: {e.Message}");
        }
    }

    private static double Queued(DeviceNetwork device, Network net, double seconds)
    {
        long steps = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            for (int i = 0; i < 100; i++)
            {
                device.Step([0], copyBack: false);
                net.Instances[0].Step++;
            }

            device.Synchronize();
            steps += 100;
        }

        double rate = steps / sw.Elapsed.TotalSeconds;
        device.Step([0]); // host spike mirror current again
        return rate;
    }

    private static int ScanSpikes(float[] spikes)
    {
        int n = 0;
        foreach (float s in spikes)
        {
            n += s != 0f ? 1 : 0;
        }

        return n;
    }

    /// <summary>Device-to-device copy of 256 MiB, timed: the bandwidth the queued figure is compared with.</summary>
    private static double CopyBandwidth(GpuBackend backend, TextWriter log)
    {
        const long n = 64L << 20;
        using var a = backend.Accelerator.Allocate1D<float>(n);
        using var b = backend.Accelerator.Allocate1D<float>(n);
        a.View.MemSetToZero(backend.Stream);
        for (int i = 0; i < 3; i++)
        {
            a.View.CopyTo(backend.Stream, b.View);
        }

        backend.Stream.Synchronize();
        var sw = Stopwatch.StartNew();
        const int reps = 20;
        for (int i = 0; i < reps; i++)
        {
            a.View.CopyTo(backend.Stream, b.View);
        }

        backend.Stream.Synchronize();
        double bytes = 2.0 * 4 * n * reps; // read + write
        double rate = bytes / sw.Elapsed.TotalSeconds;
        log.WriteLine($"device copy bandwidth (256 MiB device-to-device, read + write): {rate / 1e12:F2} TB/s");
        return rate;
    }

    private static void WideDense(GpuBackend gpu, CpuBackend cpu, TextWriter log, Action<bool, string> check)
    {
        const int n = 1 << 20, inputs = 100;
        var random = new Random(1);
        var weights = new float[(long)n * inputs];
        for (long k = 0; k < weights.Length; k++)
        {
            weights[k] = random.Next(-64, 65) / 256f;
        }

        NetworkFigure(gpu, cpu, log, check, "wide dense: input 100 -> dense -> sinabs.LIF 1,048,576 (104,857,600 weights), 10% input spikes",
            new NetworkDefinition("wide", [
                new PopulationDefinition("in", "input", inputs, [], new Dictionary<string, ParamValue>()),
                new PopulationDefinition("lif", "sinabs.LIF", n, [], new Dictionary<string, ParamValue> { ["tau_mem"] = ParamValue.Number(10) }),
            ], [new ProjectionDefinition("w", "in", "lif", ProjectionKind.Dense, weights, null, false)], 0.001, ClockMode.Lockstep, 1, 1), 0.1);
    }

    /// <summary>The engine benchmarks' vision network: input [2,128,128] -> conv2d 5x5/2 -> sinabs.IAF [16,64,64] -> sum pool 4 -> dense -> 10.</summary>
    private static void Vision(GpuBackend gpu, CpuBackend cpu, TextWriter log, Action<bool, string> check)
    {
        var random = new Random(2);
        float[] Dyadic(int count) => Enumerable.Range(0, count).Select(_ => random.Next(-128, 129) / 64f).ToArray();
        var none = new Dictionary<string, ParamValue>();
        NetworkFigure(gpu, cpu, log, check, "vision: input [2,128,128] -> conv2d 2->16 5x5/2 -> sinabs.IAF [16,64,64] -> sum pool 4x4 -> dense -> sinabs.IAF 10, 10% input spikes",
            new NetworkDefinition("vision", [
                new PopulationDefinition("in", "input", 2 * 128 * 128, [2, 128, 128], none),
                new PopulationDefinition("conv", "sinabs.IAF", 16 * 64 * 64, [16, 64, 64], none),
                new PopulationDefinition("pool", "passthrough", 16 * 16 * 16, [16, 16, 16], none),
                new PopulationDefinition("out", "sinabs.IAF", 10, [], none),
            ], [
                new ProjectionDefinition("c1", "in", "conv", ProjectionKind.Conv2d, Dyadic(16 * 2 * 5 * 5), null, false) { KernelSize = [5], Stride = [2], Padding = [2] },
                new ProjectionDefinition("p1", "conv", "pool", ProjectionKind.SumPool2d, [], null, false) { KernelSize = [4] },
                new ProjectionDefinition("fc", "pool", "out", ProjectionKind.Dense, Dyadic(10 * 4096), null, false),
            ], 0.001, ClockMode.Lockstep, 1, 1), 0.1);
    }

    /// <summary>The engine benchmarks' sparse network: input 1,048,576 -> 100,000,000 random synapses -> sinabs.LIF 1,048,576.</summary>
    private static void Sparse(GpuBackend gpu, CpuBackend cpu, TextWriter log, Action<bool, string> check)
    {
        const int n = 1 << 20;
        const long synapses = 100_000_000;
        var random = new Random(3);
        var pre = new int[synapses];
        var post = new int[synapses];
        var weights = new float[synapses];
        for (long k = 0; k < synapses; k++)
        {
            pre[k] = random.Next(n);
            post[k] = random.Next(n);
            weights[k] = random.Next(0, 65) / 64f;
        }

        Array.Sort(pre);
        NetworkFigure(gpu, cpu, log, check, "sparse: input 1,048,576 -> 100,000,000 random synapses -> sinabs.LIF 1,048,576, 1% input spikes",
            new NetworkDefinition("sparse", [
                new PopulationDefinition("in", "input", n, [], new Dictionary<string, ParamValue>()),
                new PopulationDefinition("lif", "sinabs.LIF", n, [], new Dictionary<string, ParamValue> { ["tau_mem"] = ParamValue.Number(10) }),
            ], [new ProjectionDefinition("syn", "in", "lif", ProjectionKind.Sparse, weights, null, false) { Pre = pre, Post = post }],
            0.001, ClockMode.Lockstep, 1, 1), 0.01);
    }

    /// <summary>
    /// How long placing <paramref name="net"/> (never stepped) holds the step loop: at its first step, as a network below
    /// <see cref="GpuBackend.PlaceAsideFromSynapses"/> is placed; then off the loop, from beginning the placement to taking
    /// the copy between two steps. The network is left on the device.
    /// </summary>
    private static void PlacementFigure(GpuBackend gpu, Network net, string name, TextWriter log, Action<bool, string> check)
    {
        long aside = gpu.PlaceAsideFromSynapses;
        try
        {
            gpu.PlaceAsideFromSynapses = long.MaxValue;
            var sw = Stopwatch.StartNew();
            bool placed = gpu.KeepsHostInputsZero(net);
            double held = sw.Elapsed.TotalMilliseconds;
            gpu.Release(net); // its host arrays never stepped: placed again from scratch below

            gpu.PlaceAsideFromSynapses = 0;
            sw.Restart();
            bool early = gpu.Find(net) is not null; // begins it (the loop's first step would also take it once ready)
            double begin = sw.Elapsed.TotalMilliseconds;
            var work = gpu.PlacementAside(net);
            sw.Restart();
            while (work is { IsCompleted: false })
            {
                Thread.Sleep(1);
            }

            double made = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            bool taken = gpu.KeepsHostInputsZero(net);
            double take = sw.Elapsed.TotalMilliseconds;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"      placement of {name} ({net.Synapses:N0} synapses): the loop held {held:F1} ms at its first step; off the loop {begin:F2} ms to begin, the copy made in {made:F0} ms, {take:F1} ms to take it"));
            check(placed && !early && work is not null && taken, $"{name}: placed at its first step {placed}, off the loop {(work is null ? "not begun" : early ? "on the device at once" : taken ? "taken" : net.StepsOn)}");
        }
        finally
        {
            gpu.PlaceAsideFromSynapses = aside;
        }
    }

    /// <summary>
    /// A network on the device and on the CPU backend: the same random input events each step, every
    /// state bit and spike compared after 30 steps (the last 15 with the output population's spikes alone written for the
    /// host, as for a stream whose spikes_from names it: the others' come back from the device), then steps/s of each
    /// (the device's with every population's spikes returned, and with the output's alone).
    /// </summary>
    private static void NetworkFigure(GpuBackend gpu, CpuBackend cpu, TextWriter log, Action<bool, string> check, string name,
        NetworkDefinition definition, double inputRate)
    {
        var limits = new EngineLimits { MaxNeuronsPerPopulation = 1 << 25, MaxNeuronsPerNetwork = 1L << 26, MaxSynapsesPerNetwork = 1L << 28 };
        var gNet = NetworkBuilder.Build(definition, limits);
        PlacementFigure(gpu, gNet, name[..name.IndexOf(':', StringComparison.Ordinal)], log, check);
        var cNet = NetworkBuilder.Build(definition, limits);
        int inputs = definition.Populations[0].Size;
        var events = new int[Math.Max(1, (int)(inputs * inputRate))];
        void Input(Network net, Random r)
        {
            // As the step loop's PrepareInputs: every input buffer cleared, then the external input events (noted as events).
            foreach (var p in net.Populations)
            {
                p.Input.AsSpan().Clear();
            }

            var x = net.Populations[0].Input;
            var marks = net.Populations[0].InputMarks;
            marks.Clear(0);
            for (int e = 0; e < events.Length; e++)
            {
                int n = r.Next(inputs);
                x[n] = 1f;
                marks.MarkEvent(0, n); // an event list, or the whole row past an eighth of the population
            }
        }

        if (!gpu.OnDevice(gNet))
        {
            check(false, $"{name}: not on the device ({gpu.Placements()[^1]})");
            return;
        }

        var r1 = new Random(5);
        var r2 = new Random(5);
        bool[] all = [.. gNet.Populations.Select(_ => true)];
        bool[] output = [.. gNet.Populations.Select(p => p.Index == gNet.Populations.Length - 1)];
        for (int t = 0; t < 30; t++)
        {
            if (t == 15)
            {
                gpu.ReadSpikes(gNet, output);
            }

            Input(gNet, r1);
            gpu.Step(gNet, [0]);
            Input(cNet, r2);
            cpu.Step(cNet, [0]);
            gNet.Instances[0].Step++;
            cNet.Instances[0].Step++;
        }

        gpu.RefreshHost(gNet);
        long differ = 0, spikes = 0;
        for (int p = 0; p < gNet.Populations.Length; p++)
        {
            var a = gNet.Populations[p];
            var b = cNet.Populations[p];
            for (int v = 0; v < a.State.Length; v++)
            {
                for (int k = 0; k < a.State[v].Length; k++)
                {
                    differ += BitConverter.SingleToInt32Bits(a.State[v][k]) != BitConverter.SingleToInt32Bits(b.State[v][k]) ? 1 : 0;
                }
            }

            for (int k = 0; k < a.Spikes.Length; k++)
            {
                differ += a.Spikes[k] != b.Spikes[k] ? 1 : 0;
                spikes += a.Spikes[k] != 0f ? 1 : 0;
            }
        }

        check(differ == 0, $"{name}, 30 steps: {differ} state values and spikes differ from the CPU backend ({spikes} spikes at the last step)");
        var rng = new Random(7);
        double outputRate = Rate(() => { Input(gNet, rng); gpu.Step(gNet, [0]); }, gNet, 1.0, out _);
        gpu.ReadSpikes(gNet, all);
        double gpuRate = Rate(() => { Input(gNet, rng); gpu.Step(gNet, [0]); }, gNet, 1.0, out _);
        double cpuRate = Rate(() => { Input(cNet, rng); cpu.Step(cNet, [0]); }, cNet, 1.0, out _);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: GPU {gpuRate:F0} steps/s (every population's spikes returned), {outputRate:F0} with the output's alone (spikes_from = the output), CPU backend {cpuRate:F0} steps/s"));
        gpu.Release(gNet);
    }
}
