using System.Diagnostics;
using Snn.Server.Engine;
using Snn.Server.Nir;
using Snn.Server.Services;
using Xunit.Abstractions;

namespace Snn.Server.Tests.Nir;

/// <summary>
/// Damaged real NIR files (every file in tests/data/nir and its flavors folder, mutated by
/// <see cref="NirMutator"/> with fixed seeds) go through the whole import in process: reader, importer and
/// network builder. Each must import or be refused with <see cref="NirFormatException"/> or
/// <see cref="EngineException"/> (the statuses that say what to fix), within a time and an allocation bound.
/// </summary>
public sealed class NirFuzzTests(ITestOutputHelper output)
{
    /// <summary>Mutants per seed file; SNN_NIR_FUZZ_CASES raises it for a longer hunt.</summary>
    private static readonly int CasesPerFile =
        int.TryParse(Environment.GetEnvironmentVariable("SNN_NIR_FUZZ_CASES"), out var n) && n > 0 ? n : 150;

    /// <summary>The first file's seed; SNN_NIR_FUZZ_SEED picks other mutants for a longer hunt.</summary>
    private static readonly int SeedBase =
        int.TryParse(Environment.GetEnvironmentVariable("SNN_NIR_FUZZ_SEED"), out var s) ? s : 0x4E1F;

    /// <summary>A mutant of a file under 1 MB whose reading allocates more than this is a finding.</summary>
    internal const long AllocationBound = 64L << 20;

    /// <summary>Generous: a mutant reads in milliseconds; this catches a loop, not a slow machine.</summary>
    internal static readonly TimeSpan CaseBound = TimeSpan.FromSeconds(10);

    internal static IEnumerable<string> SeedFiles()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "data", "nir");
        return Directory.GetFiles(dir, "*.nir").Concat(Directory.GetFiles(Path.Combine(dir, "flavors"), "*.nir")).Order(StringComparer.Ordinal);
    }

    /// <summary>The flavour a seed file was written for, by its name (the library that wrote it).</summary>
    internal static NirFlavor FlavorOf(string path)
    {
        var name = Path.GetFileName(path);
        return name.Contains("sinabs") ? NirFlavor.Sinabs
            : name.Contains("norse") ? NirFlavor.Norse
            : name.Contains("snntorch") || name.Contains("braille") ? NirFlavor.Snntorch
            : NirFlavor.Generic;
    }

    /// <summary>Limits small enough that a mutant's inflated shape is refused rather than built at full size.</summary>
    internal static EngineLimits Limits() => new() { MaxNeuronsPerNetwork = 1 << 20, MaxNeuronsPerPopulation = 1 << 20, MaxSynapsesPerNetwork = 1 << 22 };

    [ThreadStatic] internal static string? LastRefusal;

    /// <summary>The whole import of one file's bytes: null when it imports or is refused as the API says, else what went wrong.</summary>
    internal static string? Import(byte[] bytes, NirFlavor flavor, out long allocated)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        allocated = -1;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            var graph = NirReader.Read(stream);
            // What the file makes the reader allocate is bounded here; the network it declares (a damaged
            // shape can declare millions of neurons) is the importer's and engine's, bounded by the engine's
            // limits and the server's memory budget.
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            var result = NirImporter.Import(graph, new NirImportOptions("fz", 0.001, flavor, Strict: false));
            NetworkBuilder.Build(SpecMapping.ToDefinition(result.Spec), Limits());
            return null;
        }
        catch (NirFormatException e)
        {
            LastRefusal = e.Message;
            return e.Message.Length > 0 ? null : "NirFormatException without a message";
        }
        catch (EngineException e)
        {
            LastRefusal = e.Message;
            return e.Message.Length > 0 ? null : "EngineException without a message";
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}\n{e.StackTrace}";
        }
        finally
        {
            if (allocated < 0)
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
    }

    /// <summary>Runs one case on a thread of its own, so that a hang is reported instead of stalling the test.</summary>
    internal static string? ImportBounded(byte[] bytes, NirFlavor flavor, out long allocated)
    {
        long used = 0;
        string? fault = null;
        string? refusal = null;
        var thread = new Thread(() => { LastRefusal = "(imported)"; fault = Import(bytes, flavor, out used); refusal = LastRefusal; }, 64 << 20) { IsBackground = true };
        thread.Start();
        if (!thread.Join(CaseBound))
        {
            allocated = 0;
            return $"no answer within {CaseBound.TotalSeconds} s";
        }

        allocated = used;
        return fault ?? (used > AllocationBound ? $"allocated {used >> 20} MiB; {refusal}" : null);
    }

    [Fact]
    public void Damaged_real_NIR_files_import_or_are_refused_with_a_message_within_time_and_allocation_bounds()
    {
        var findings = new List<string>();
        long worst = 0, cases = 0;
        var clock = Stopwatch.StartNew();
        foreach (var (path, index) in SeedFiles().Select((p, i) => (p, i)))
        {
            var file = File.ReadAllBytes(path);
            var flavor = FlavorOf(path);
            Assert.Null(Import(file, flavor, out _)); // the seed itself imports
            var mutator = new NirMutator(SeedBase + index);
            for (var i = 0; i < CasesPerFile; i++)
            {
                var (bytes, kind) = mutator.Mutate(file);
                var fault = ImportBounded(bytes, flavor, out var allocated);
                cases++;
                worst = Math.Max(worst, allocated);
                if (fault is not null && Environment.GetEnvironmentVariable("SNN_NIR_FUZZ_DUMP") is { } dump)
                    File.WriteAllBytes(Path.Combine(dump, $"{Path.GetFileNameWithoutExtension(path)}-{i}.nir"), bytes);
                if (fault is not null)
                    findings.Add($"{Path.GetFileName(path)} mutant {i} ({kind}): {fault}");
            }
        }

        output.WriteLine($"{cases} mutants in {clock.Elapsed.TotalSeconds:F1} s ({cases / clock.Elapsed.TotalSeconds:F0}/s); worst allocation {worst >> 10} KiB");
        foreach (var f in findings.Take(40))
            output.WriteLine(f);
        Assert.True(findings.Count == 0, $"{findings.Count} mutants broke the import:\n{string.Join("\n", findings.Take(10))}");
    }
}
