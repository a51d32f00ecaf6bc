using System.Globalization;
using System.Text;
using BenchmarkDotNet.Reports;

namespace Snn.Benchmarks.Kernels;

/// <summary>One kernel benchmark with its derived figures.</summary>
/// <param name="MedianNs">Median time of one step of all neurons.</param>
/// <param name="MinNs">Fastest iteration's time per step.</param>
/// <param name="MaxNs">Slowest iteration's time per step.</param>
/// <param name="CopyMedianNs">Median time of the memory copy moving the same bytes, or NaN.</param>
/// <param name="AllocatedPerStep">Bytes allocated per step, or -1 when not measured.</param>
/// <param name="SpikeFraction">Mean fraction of neurons spiking per step in the benchmark's steady state.</param>
/// <param name="ThreadAllocatedPerStep">Bytes allocated per step by the stepping thread over 200 warm steps
/// (<c>GC.GetAllocatedBytesForCurrentThread</c>): exact, unlike the diagnoser's process-wide count.</param>
internal sealed record KernelRow(ModelSetup Setup, PopulationShape Shape, double MedianNs, double MinNs, double MaxNs,
    double CopyMedianNs, long AllocatedPerStep, double SpikeFraction, double ThreadAllocatedPerStep)
{
    public double StepsPerSecond => 1e9 / MedianNs;

    /// <summary>Steps per second of the slowest and the fastest iteration.</summary>
    public (double Min, double Max) StepsPerSecondRange => (1e9 / MaxNs, 1e9 / MinNs);

    public double NeuronStepsPerSecond => Shape.Neurons * StepsPerSecond;

    /// <summary>Bytes one step reads and writes.</summary>
    public long BytesPerStep => Shape.Neurons * Setup.StreamsPerNeuron * sizeof(float);

    public double GigabytesPerSecond => BytesPerStep / MedianNs;

    public double RooflineGigabytesPerSecond => BytesPerStep / CopyMedianNs;

    /// <summary>Steps per second the memory copy would allow.</summary>
    public double RooflineStepsPerSecond => 1e9 / CopyMedianNs;

    public double PercentOfRoofline => 100 * CopyMedianNs / MedianNs;
}

/// <summary>
/// Turns the kernel and roofline summaries into the figures the issue asks for (neuron-steps/s,
/// GB/s, % of the copy roofline, bytes allocated per step), checks the targets, and writes
/// kernels.md and kernels.svg.
/// </summary>
internal sealed class KernelReport(IReadOnlyList<KernelRow> rows)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public IReadOnlyList<KernelRow> Rows { get; } = rows;

    /// <summary>Median and allocation of the two-core split step by (model, shape).</summary>
    private static Dictionary<(string Model, string Shape), (double Ns, long Alloc)> Split { get; } = [];

    /// <summary>Median of each copy method by (streams, neurons, method).</summary>
    private static Dictionary<(int Streams, long Neurons, string Method), double> CopyDetail { get; } = [];

    public static KernelReport From(IEnumerable<Summary> summaries)
    {
        var kernels = new List<(ModelSetup Setup, PopulationShape Shape, double Ns, double MinNs, double MaxNs, long Alloc)>();
        var copies = new Dictionary<(int Streams, long Neurons), double>();
        foreach (var summary in summaries)
        {
            foreach (var report in summary.Reports)
            {
                if (report.ResultStatistics is not { } stats)
                {
                    continue;
                }

                var bc = report.BenchmarkCase;
                long alloc = report.GcStats.GetBytesAllocatedPerOperation(bc) ?? -1;
                if (bc.Descriptor.Type == typeof(KernelBenchmarks))
                {
                    var setup = ModelSetup.Get((string)bc.Parameters[nameof(KernelBenchmarks.Model)]);
                    var shape = PopulationShape.Parse((string)bc.Parameters[nameof(KernelBenchmarks.Shape)]);
                    kernels.Add((setup, shape, stats.Median, stats.Min, stats.Max, alloc));
                }
                else if (bc.Descriptor.Type == typeof(SplitKernelBenchmarks))
                {
                    Split[((string)bc.Parameters[nameof(SplitKernelBenchmarks.Model)], (string)bc.Parameters[nameof(SplitKernelBenchmarks.Shape)])] = (stats.Median, alloc);
                }
                else if (bc.Descriptor.Type == typeof(RooflineBenchmarks))
                {
                    int streams = (int)bc.Parameters[nameof(RooflineBenchmarks.Streams)];
                    long neurons = (long)bc.Parameters[nameof(RooflineBenchmarks.Neurons)];
                    // The roofline is the faster of the two copies.
                    var key = (streams, neurons);
                    copies[key] = copies.TryGetValue(key, out double other) ? Math.Min(other, stats.Median) : stats.Median;
                    CopyDetail[(key.streams, key.neurons, bc.Descriptor.WorkloadMethod.Name)] = stats.Median;
                }
            }
        }

        var spikeFractions = new Dictionary<string, double>();
        var rows = new List<KernelRow>();
        foreach (var (setup, shape, ns, minNs, maxNs, alloc) in kernels)
        {
            if (!spikeFractions.TryGetValue(setup.Model, out double fraction))
            {
                var fixture = new KernelFixture(setup, new PopulationShape(1, 65536));
                fixture.Settle(50);
                fraction = fixture.Settle(50);
                spikeFractions[setup.Model] = fraction;
            }

            double copy = copies.TryGetValue((setup.StreamsPerNeuron, shape.Neurons), out double c) ? c : double.NaN;
            rows.Add(new KernelRow(setup, shape, ns, minNs, maxNs, copy, alloc, fraction, ThreadAllocation(setup, shape)));
        }

        int ModelOrder(KernelRow r) => Array.IndexOf(ModelSetup.All, r.Setup);
        int ShapeOrder(KernelRow r) => Array.IndexOf(PopulationShape.All, r.Shape) is var i and >= 0 ? i : 99;
        return new KernelReport([.. rows.OrderBy(ModelOrder).ThenBy(ShapeOrder)]);
    }

    /// <summary>Bytes the stepping thread allocates per step, over 200 steps after 50 warm-up steps.</summary>
    private static double ThreadAllocation(ModelSetup setup, PopulationShape shape)
    {
        var fixture = new KernelFixture(setup, shape);
        fixture.Settle(50);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int t = 0; t < 200; t++)
        {
            fixture.Step();
        }

        return (GC.GetAllocatedBytesForCurrentThread() - before) / 200.0;
    }

    /// <summary>Writes kernels.md and kernels.svg into <paramref name="directory"/> and a copy of the markdown into <paramref name="artifacts"/>.</summary>
    public void Write(string directory, string artifacts)
    {
        string markdown = Markdown();
        Directory.CreateDirectory(directory);
        Directory.CreateDirectory(artifacts);
        File.WriteAllText(Path.Combine(directory, "kernels.md"), markdown);
        File.WriteAllText(Path.Combine(artifacts, "kernels.md"), markdown);
        File.WriteAllText(Path.Combine(directory, "kernels.svg"), KernelPlot.Render(Rows));
        Console.WriteLine();
        Console.WriteLine(markdown);
        Console.WriteLine($"written: {Path.Combine(directory, "kernels.md")}, {Path.Combine(directory, "kernels.svg")}");
    }

    public string Markdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Kernel benchmarks");
        sb.AppendLine();
        sb.AppendLine(Machine.Describe());
        sb.AppendLine();
        sb.AppendLine("One operation is one step of every neuron of the population: one `NeuronKernel.Step` call over");
        sb.AppendLine("instances × neurons, on buffers laid out as `Population` lays them out, with a constant random input current");
        sb.AppendLine("(ModelSetup.cs) so part of the population fires. Figures are BenchmarkDotNet medians over its iterations;");
        sb.AppendLine("steps/s min–max are the slowest and the fastest iteration.");
        sb.AppendLine("Bytes per step = neurons × float32 streams × 4: every state array read and written, the input (and recurrent");
        sb.AppendLine("input) read, the spikes written. The roofline is a memory copy of half those bytes (so it reads and writes the same");
        sb.AppendLine("total), measured in the same run; % roofline = copy time / step time.");
        sb.AppendLine();
        sb.AppendLine("| model | instances × neurons | spiking/step | median step | steps/s | steps/s min–max | neuron-steps/s | streams | GB/s | copy GB/s | % roofline | allocated/step (diagnoser) | allocated/step (thread) |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in Rows)
        {
            sb.Append(Inv, $"| {r.Setup.Model} | {r.Shape.Instances} × {r.Shape.Size:N0} | {r.SpikeFraction:P1} | {Time(r.MedianNs)} | ");
            sb.Append(Inv, $"{r.StepsPerSecond:N0} | {r.StepsPerSecondRange.Min:N0}–{r.StepsPerSecondRange.Max:N0} | {r.NeuronStepsPerSecond / 1e9:F2} G | {r.Setup.StreamsPerNeuron} | ");
            sb.Append(Inv, $"{r.GigabytesPerSecond:F1} | {r.RooflineGigabytesPerSecond:F1} | {r.PercentOfRoofline:F0}% | ");
            sb.Append(r.AllocatedPerStep < 0 ? "n/a | " : $"{r.AllocatedPerStep} B | ");
            sb.AppendLine(Inv, $"{r.ThreadAllocatedPerStep:0.##} B |");
        }

        if (Split.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Two cores (SplitKernelBenchmarks): the same step with the neuron range cut in two halves, the second half on a");
            sb.AppendLine("spinning worker thread — what the CPU backend would get by splitting large populations (`SplittableAcrossNeurons`).");
            sb.AppendLine();
            sb.AppendLine("| model | neurons | one core steps/s | two cores steps/s | two cores GB/s | speed-up | allocated/step |");
            sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
            foreach (var ((model, shape), (ns, alloc)) in Split.OrderBy(s => s.Key.Model).ThenBy(s => s.Key.Shape.Length))
            {
                var one = Rows.FirstOrDefault(r => r.Setup.Model == model && r.Shape.ToString() == shape);
                double bytes = one?.BytesPerStep ?? double.NaN;
                sb.AppendLine(Inv, $"| {model} | {PopulationShape.Parse(shape).Neurons:N0} | {one?.StepsPerSecond ?? double.NaN:N0} | {1e9 / ns:N0} | {bytes / ns:F1} | {(one is null ? double.NaN : one.MedianNs / ns):F2}× | {alloc} B |");
            }
        }

        sb.AppendLine();
        sb.AppendLine("Copies behind the roofline (GB/s moved = 2 × bytes copied / time; the roofline takes the faster):");
        sb.AppendLine();
        sb.AppendLine("| streams | neurons | memmove (Span.CopyTo) GB/s | SIMD loop GB/s |");
        sb.AppendLine("|---:|---:|---:|---:|");
        foreach (var g in CopyDetail.GroupBy(c => (c.Key.Streams, c.Key.Neurons)).OrderBy(g => g.Key.Streams).ThenBy(g => g.Key.Neurons))
        {
            double bytes = (double)g.Key.Neurons * g.Key.Streams * sizeof(float);
            string Rate(string method) => g.FirstOrDefault(c => c.Key.Method == method) is { Value: > 0 } c ? (bytes / c.Value).ToString("F1", Inv) : "n/a";
            sb.AppendLine(Inv, $"| {g.Key.Streams} | {g.Key.Neurons:N0} | {Rate(nameof(RooflineBenchmarks.Copy))} | {Rate(nameof(RooflineBenchmarks.CopySimd))} |");
        }

        sb.AppendLine();
        sb.AppendLine("## Targets (issue: Performance)");
        sb.AppendLine();
        sb.AppendLine("| model | target | measured | holds |");
        sb.AppendLine("|---|---|---:|---|");
        foreach (var (model, target, measured, holds) in Targets())
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {model} | {target} | {measured} | {(holds ? "yes" : "**no**")} |");
        }

        return sb.ToString();
    }

    public IEnumerable<(string Model, string Target, string Measured, bool Holds)> Targets()
    {
        (int Size, double StepsPerSecond)[] floors = [(1024, 300_000), (65536, 30_000), (1048576, 1_100)];
        foreach (string model in ModelSetup.Targeted)
        {
            foreach (var (size, floor) in floors)
            {
                var row = Rows.FirstOrDefault(r => r.Setup.Model == model && r.Shape == new PopulationShape(1, size));
                if (row is null)
                {
                    continue;
                }

                yield return (model, $"≥ {floor:N0} steps/s at {size:N0}", $"{row.StepsPerSecond:N0}", row.StepsPerSecond >= floor);
                if (size == 1048576)
                {
                    yield return (model, "≥ 50% of the copy roofline at 1,048,576", $"{row.PercentOfRoofline:F0}%", row.PercentOfRoofline >= 50);
                }
            }
        }

        // The stepping thread's own counter decides: the diagnoser counts the whole process (tiered JIT,
        // BenchmarkDotNet's engine) divided by the operations, so a few bytes show up at slow steps.
        double worst = Rows.Count == 0 ? 0 : Rows.Max(r => r.ThreadAllocatedPerStep);
        long diagnoser = Rows.Count == 0 ? 0 : Rows.Max(r => r.AllocatedPerStep);
        yield return ("all", "0 B allocated per step (stepping thread)", string.Create(Inv, $"max {worst:0.##} B (diagnoser max {diagnoser} B)"), worst == 0);
    }

    internal static string Time(double ns) => ns switch
    {
        < 1e3 => string.Create(Inv, $"{ns:F0} ns"),
        < 1e6 => string.Create(Inv, $"{ns / 1e3:F2} µs"),
        _ => string.Create(Inv, $"{ns / 1e6:F3} ms"),
    };
}

/// <summary>A one-line description of the machine the figures come from.</summary>
internal static class Machine
{
    public static string Describe()
    {
        string cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
                ?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }

        string isa = System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? "AVX-512" : System.Runtime.Intrinsics.X86.Avx2.IsSupported ? "AVX2" : "no AVX2";
        return $"Machine: {cpu}, {Environment.ProcessorCount} cores, {isa}, Vector<float> width {System.Numerics.Vector<float>.Count}, " +
            $".NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.";
    }
}
