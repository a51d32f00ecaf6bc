using System.Diagnostics;
using System.Globalization;
using System.Text;
using Snn.Benchmarks.Kernels;
using Snn.Server.Engine;

namespace Snn.Benchmarks.Engine;

/// <summary>
/// Memory of a hosted network of about 1M neurons and 100M synapses: managed heap and process
/// working set before the spec exists, with the spec, with the built network, and with only the
/// network left (the spec dropped by the caller), plus the engine's own account (<c>Network.Bytes</c>).
/// With sparse projections: input 1,048,576 → 100,000,000 random synapses → sinabs.LIF 1,048,576.
/// Without them: input 100 → dense → sinabs.LIF 1,048,576 (104,857,600 weights).
/// </summary>
internal static class MemoryFootprint
{
    private const long GiB = 1L << 30;

    public static void Run(string directory)
    {
        var inv = CultureInfo.InvariantCulture;
        var rows = new List<(string Stage, long Heap, long WorkingSet)>();
        void Sample(string stage)
        {
            // An aggressive full collection also hands freed memory back to the OS, so the working set
            // shows what the process holds, not what the GC kept around after building.
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            long heap = GC.GetTotalMemory(forceFullCollection: false);
            using var self = Process.GetCurrentProcess();
            rows.Add((stage, heap, self.WorkingSet64));
            Console.WriteLine(string.Create(inv, $"{stage,-40} heap {heap / 1048576.0,9:F1} MiB   working set {self.WorkingSet64 / 1048576.0,9:F1} MiB"));
        }

        Sample("start");
        bool sparse = EngineNetworks.Supports(ProjectionKind.Sparse);
        var (network, stats) = Build(sparse, Sample);
        Sample("network only (spec dropped by the caller)");
        var fixture = stats;
        for (int t = 0; t < 10; t++)
        {
            fixture.Step();
        }

        Sample("after 10 steps");
        using var process = Process.GetCurrentProcess();
        long peak = process.PeakWorkingSet64;
        long retained = rows[^1].Heap - rows[0].Heap;
        long neurons = network.Neurons;
        long synapses = network.Synapses;
        long populationBytes = network.Populations.Sum(p => p.Bytes);
        long engineBytes = network.Bytes;

        var sb = new StringBuilder();
        sb.AppendLine("# Memory: 1M neurons + 100M synapses");
        sb.AppendLine();
        sb.AppendLine(Machine.Describe());
        sb.AppendLine();
        sb.AppendLine(sparse
            ? "Network: input 1,048,576 → sparse projection, 100,000,000 random (pre, post, weight) listed by source → sinabs.LIF 1,048,576."
            : "Sparse projections are not in this build: input 100 → dense → sinabs.LIF 1,048,576 (104,857,600 weights) stands in.");
        sb.AppendLine();
        sb.AppendLine("| stage | managed heap | process working set |");
        sb.AppendLine("|---|---:|---:|");
        foreach (var (stage, heap, ws) in rows)
        {
            sb.AppendLine(inv, $"| {stage} | {heap / 1048576.0:N1} MiB | {ws / 1048576.0:N1} MiB |");
        }

        sb.AppendLine();
        sb.AppendLine(inv, $"- neurons {neurons:N0}, synapses {synapses:N0}");
        sb.AppendLine(inv, $"- engine account (`Network.Bytes`): {engineBytes / 1048576.0:N1} MiB, of which populations {populationBytes / 1048576.0:N1} MiB");
        sb.AppendLine(inv, $"- managed heap retained by the running network: {retained / 1048576.0:N1} MiB = {(double)populationBytes / neurons:F1} B per neuron (buffers) + {(double)(retained - populationBytes) / synapses:F2} B per synapse (everything else)");
        sb.AppendLine(inv, $"- process peak working set: {peak / 1048576.0:N1} MiB; working set while running: {rows[^1].WorkingSet / 1048576.0:N1} MiB");
        sb.AppendLine(inv, $"- target: running network under 1 GiB of process memory: {(rows[^1].WorkingSet < GiB ? "holds" : "**missed**")}; peak (building included) under 1 GiB: {(peak < GiB ? "holds" : "**missed**")}");
        string markdown = sb.ToString();
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "memory.md"), markdown);
        Console.WriteLine();
        Console.WriteLine(markdown);
        GC.KeepAlive(fixture);
    }

    /// <summary>Builds the network in a frame of its own so the spec is unreachable on return.</summary>
    private static (Network Network, EngineFixture Fixture) Build(bool sparse, Action<string> sample)
    {
        var definition = sparse ? EngineNetworks.Sparse() : EngineNetworks.WideDense();
        sample("spec built (arrays of the request)");
        var fixture = new EngineFixture(definition, EngineNetworks.InputName, 0.02);
        sample("spec + network");
        return (fixture.Network, fixture);
    }
}
