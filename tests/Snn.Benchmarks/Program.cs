using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;
using Snn.Benchmarks.Engine;
using Snn.Benchmarks.Kernels;

namespace Snn.Benchmarks;

/// <summary>
/// Benchmarks of SnnService, run in this process without the transport.
/// <code>
/// dotnet run -c Release --project tests/Snn.Benchmarks -- kernels   # kernel suite + roofline, results/kernels.md, results/kernels.svg
/// dotnet run -c Release --project tests/Snn.Benchmarks -- engine    # networks stepped through the CPU backend, results/engine.md
/// dotnet run -c Release --project tests/Snn.Benchmarks -- memory    # 1M neurons + 100M synapses, results/memory.md
/// dotnet run -c Release --project tests/Snn.Benchmarks -- all       # all three
/// </code>
/// Options: <c>--quick</c> (fewer shapes and iterations), <c>--models a,b</c>, <c>--shapes 1x1024,64x16384</c>,
/// <c>--out DIR</c> (defaults to tests/Snn.Benchmarks/results); anything else (e.g. <c>--filter '*Kernel*'</c>)
/// is passed to BenchmarkDotNet.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        var options = Options.Parse(args);
        if (options.Command is null)
        {
            Console.Error.WriteLine("usage: Snn.Benchmarks (kernels|engine|memory|release|all) [--quick] [--models a,b] [--shapes 1x1024,...] [--out DIR] [BenchmarkDotNet options]");
            return 2;
        }

        Directory.CreateDirectory(options.OutputDirectory);
        var config = Config(options);
        bool all = options.Command == "all";
        if (all || options.Command == "kernels")
        {
            RunKernels(options, config);
        }

        if (all || options.Command == "engine")
        {
            RunEngine(options, config);
        }

        if (all || options.Command == "memory")
        {
            if (all)
            {
                // Process memory is only meaningful in a process that did nothing else.
                Console.WriteLine("memory: run 'memory' on its own for a clean process; measuring here anyway");
            }

            MemoryFootprint.Run(options.OutputDirectory);
        }

        if (options.Command == "release")
        {
            MemoryRelease.Run();
        }

        if (options.Command == "snapshot")
        {
            SnapshotCompression.Run();
        }

        return 0;
    }

    private static void RunKernels(Options options, IConfig config)
    {
        Selection.Models = options.Models is { } names ? names.Select(ModelSetup.Get).ToArray() : ModelSetup.All;
        Selection.Shapes = options.Shapes ?? (options.Quick ? PopulationShape.Quick : PopulationShape.All);
        var summaries = BenchmarkSwitcher
            .FromTypes([typeof(KernelBenchmarks), typeof(SplitKernelBenchmarks), typeof(RooflineBenchmarks)])
            .Run(options.BenchmarkArgs, config)
            .ToArray();
        var report = KernelReport.From(summaries);
        report.Write(options.OutputDirectory, ArtifactsResults(config));
    }

    private static void RunEngine(Options options, IConfig config)
    {
        var summaries = BenchmarkSwitcher
            .FromTypes(EngineBenchmarks.Types)
            .Run(options.BenchmarkArgs, config)
            .ToArray();
        EngineReport.From(summaries).Write(options.OutputDirectory, ArtifactsResults(config));
    }

    private static string ArtifactsResults(IConfig config) => Path.Combine(config.ArtifactsPath, "results");

    /// <summary>
    /// One in-process job (no generated project to build). Defaults: 3 warm-up and 7 measured
    /// iterations of about 250 ms; <c>--quick</c>: 1 and 3 of about 100 ms.
    /// </summary>
    private static IConfig Config(Options options)
    {
        var job = Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(options.Quick ? 1 : 3)
            .WithIterationCount(options.Quick ? 3 : 7)
            .WithIterationTime(TimeInterval.FromMilliseconds(options.Quick ? 100 : 250))
            .WithId(options.Quick ? "quick" : "short");
        return DefaultConfig.Instance
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(40))
            .WithArtifactsPath(Path.Combine(Environment.CurrentDirectory, "BenchmarkDotNet.Artifacts"));
    }
}

/// <summary>Command line of the benchmark program.</summary>
internal sealed class Options
{
    public string? Command { get; private set; }

    public bool Quick { get; private set; }

    public string[]? Models { get; private set; }

    public PopulationShape[]? Shapes { get; private set; }

    public string OutputDirectory { get; private set; } = DefaultOutput();

    /// <summary>Arguments for BenchmarkDotNet; <c>--filter *</c> when none names a filter.</summary>
    public string[] BenchmarkArgs { get; private set; } = [];

    public static Options Parse(string[] args)
    {
        var o = new Options();
        var rest = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "kernels" or "engine" or "memory" or "release" or "snapshot" or "all" when o.Command is null:
                    o.Command = args[i];
                    break;
                case "--quick":
                    o.Quick = true;
                    break;
                case "--models" when i + 1 < args.Length:
                    o.Models = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                case "--shapes" when i + 1 < args.Length:
                    o.Shapes = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(PopulationShape.Parse).ToArray();
                    break;
                case "--out" when i + 1 < args.Length:
                    o.OutputDirectory = Path.GetFullPath(args[++i]);
                    break;
                default:
                    rest.Add(args[i]);
                    break;
            }
        }

        if (!rest.Contains("--filter") && !rest.Contains("-f"))
        {
            rest.AddRange(["--filter", "*"]);
        }

        o.BenchmarkArgs = [.. rest];
        return o;
    }

    /// <summary>tests/Snn.Benchmarks/results of the repository this program was built from.</summary>
    private static string DefaultOutput()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SnnService.sln")))
            {
                return Path.Combine(dir.FullName, "tests", "Snn.Benchmarks", "results");
            }
        }

        return Path.Combine(Environment.CurrentDirectory, "results");
    }
}
