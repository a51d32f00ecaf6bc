using System.Globalization;
using System.Text;
using BenchmarkDotNet.Reports;
using Snn.Benchmarks.Kernels;

namespace Snn.Benchmarks.Engine;

/// <summary>Steps/s, synaptic events/s and allocations per step of the engine benchmarks; writes engine.md.</summary>
internal sealed class EngineReport(IReadOnlyList<(string Network, double MedianNs, double MinNs, double MaxNs, long Allocated)> rows)
{
    public static EngineReport From(IEnumerable<Summary> summaries)
    {
        var rows = new List<(string, double, double, double, long)>();
        foreach (var report in summaries.SelectMany(s => s.Reports))
        {
            if (report.ResultStatistics is { } stats && report.BenchmarkCase.Descriptor.Type == typeof(EngineBenchmarks))
            {
                rows.Add(((string)report.BenchmarkCase.Parameters[nameof(EngineBenchmarks.Network)], stats.Median, stats.Min, stats.Max,
                    report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? -1));
            }
        }

        return new EngineReport(rows);
    }

    public void Write(string directory, string artifacts)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("# Engine benchmarks");
        sb.AppendLine();
        sb.AppendLine(Machine.Describe());
        sb.AppendLine();
        sb.AppendLine("In-process, no transport: each step clears the input buffers and adds the step's input events (2% of the input");
        sb.AppendLine("population, value 1) as the step loop does, then `CpuBackend.Step` runs every population in order. Synaptic events =");
        sb.AppendLine("non-zero source values × their synapses, averaged over 50 steps after a 20-step transient (conv2d: mean fan-out).");
        sb.AppendLine("Times are BenchmarkDotNet medians over its iterations; steps/s min–max are the slowest and the fastest iteration.");
        sb.AppendLine();
        sb.AppendLine("| network | neurons | synapses | median step | steps/s | steps/s min–max | spikes/step | synaptic events/step | synaptic events/s | allocated/step |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (network, ns, minNs, maxNs, alloc) in rows)
        {
            EngineFigures.ByNetwork.TryGetValue(network, out var f);
            double stepsPerSecond = 1e9 / ns;
            sb.AppendLine(inv, $"| {network} | {f.Neurons:N0} | {f.Synapses:N0} | {KernelReport.Time(ns)} | {stepsPerSecond:N0} | {1e9 / maxNs:N0}–{1e9 / minNs:N0} | {f.Spikes:N0} | {f.SynapticEvents:N0} | {f.SynapticEvents * stepsPerSecond / 1e6:N1} M | {alloc} B |");
        }

        string markdown = sb.ToString();
        Directory.CreateDirectory(directory);
        Directory.CreateDirectory(artifacts);
        File.WriteAllText(Path.Combine(directory, "engine.md"), markdown);
        File.WriteAllText(Path.Combine(artifacts, "engine.md"), markdown);
        Console.WriteLine();
        Console.WriteLine(markdown);
    }
}
