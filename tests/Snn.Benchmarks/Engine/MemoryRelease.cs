using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Snn.Server.Backends.Cpu;
using Snn.Server.Engine;
using Snn.Server.Models;

namespace Snn.Benchmarks.Engine;

/// <summary>
/// Whether deleted networks give their memory back: 30 create/delete cycles of input 2^24 →
/// snntorch.Leaky 2^24 through the step loop, then the process working set with nothing hosted, at
/// once and 10 s later (<c>Snn.Benchmarks release</c>; prints, writes nothing).
/// </summary>
internal static class MemoryRelease
{
    public static void Run()
    {
        var inv = CultureInfo.InvariantCulture;
        static long MiB()
        {
            using var self = Process.GetCurrentProcess();
            return self.WorkingSet64 >> 20;
        }

        using var backend = new CpuBackend();
        using var loop = new StepLoop(backend, new EngineLimits(), new RealtimeOptions(), NullLogger<StepLoop>.Instance);
        Console.WriteLine(string.Create(inv, $"start: {MiB()} MiB"));
        for (int i = 0; i < 30; i++)
        {
            Cycle(loop);
        }

        Console.WriteLine(string.Create(inv, $"after 30 create/delete cycles: {MiB()} MiB (releases asked: {loop.MemoryReleases})"));
        Thread.Sleep(10_000);
        Console.WriteLine(string.Create(inv, $"10 s later: {MiB()} MiB"));
    }

    /// <summary>One create and delete, in a frame of its own so that no stack slot of the caller keeps the network.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void Cycle(StepLoop loop)
    {
        var definition = new NetworkDefinition("big",
            [new("in", "input", 1 << 24, [], new Dictionary<string, ParamValue>()),
             new("lif", "snntorch.Leaky", 1 << 24, [], new Dictionary<string, ParamValue> { ["beta"] = ParamValue.Number(0.9) })],
            [new("ff", "in", "lif", ProjectionKind.OneToOne, [], null, true)],
            0.001, ClockMode.Lockstep, 1, 1);
        loop.CreateAsync(definition).GetAwaiter().GetResult();
        loop.DeleteAsync("big").GetAwaiter().GetResult();
    }
}
