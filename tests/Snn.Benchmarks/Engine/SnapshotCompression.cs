using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Snn.Server.Backends.Cpu;
using Snn.Server.Engine;
using Snn.Server.Models;
using Snn.Server.Storage;

namespace Snn.Benchmarks.Engine;

/// <summary>
/// Whether LZ4 pays for snapshots (<c>Snn.Benchmarks snapshot</c>; prints, writes nothing): input 2^20 →
/// snntorch.Synaptic 2^20 with a 4-step delay, 2 instances, each driven 50 steps with 5 % of its inputs
/// spiking, captured between steps as SaveSnapshot does, then encoded with every codec of
/// <see cref="SnapshotCodec"/>: payload size and encode time (best of 5), and the decode time.
/// </summary>
internal static class SnapshotCompression
{
    private const int Size = 1 << 20;
    private const int Steps = 50;

    public static void Run()
    {
        var inv = CultureInfo.InvariantCulture;
        using var backend = new CpuBackend();
        using var loop = new StepLoop(backend, new EngineLimits(), new RealtimeOptions(), NullLogger<StepLoop>.Instance);
        var definition = new NetworkDefinition("snap",
            [new("in", "input", Size, [], new Dictionary<string, ParamValue>()),
             new("syn", "snntorch.Synaptic", Size, [], new Dictionary<string, ParamValue>
             {
                 ["alpha"] = ParamValue.Number(0.8),
                 ["beta"] = ParamValue.Number(0.9),
             })],
            [new("ff", "in", "syn", ProjectionKind.OneToOne, [], null, true) { DelaySteps = 4 }],
            0.001, ClockMode.Lockstep, 2, 1);
        var network = loop.CreateAsync(definition).GetAwaiter().GetResult();
        var rng = new Random(1);
        foreach (var instance in network.Instances)
        {
            Drive(loop, network, instance.Index, rng);
        }

        var state = loop.CaptureAsync(network, null).GetAwaiter().GetResult();
        byte[] raw = SnapshotFormat.Write(state);
        Console.WriteLine(string.Create(inv, $"snapshot of 2 x {Size} snntorch.Synaptic neurons, delay 4, after {Steps} steps: {raw.Length:N0} bytes raw"));
        foreach (string codec in new[] { "none", "lz4" })
        {
            byte[] encoded = [];
            double encode = Best(() => encoded = SnapshotCodec.Encode(raw, codec));
            double decode = Best(() => SnapshotCodec.Decode(encoded, codec));
            Console.WriteLine(string.Create(inv,
                $"{codec,-5} {encoded.Length,14:N0} bytes ({100.0 * encoded.Length / raw.Length:F1} %)  encode {encode:F1} ms  decode {decode:F1} ms"));
        }
    }

    private static void Drive(StepLoop loop, Network network, int instance, Random rng)
    {
        var stream = loop.OpenAsync(network, instance, new OutputPlan([], []), reset: false, CancellationToken.None).GetAwaiter().GetResult();
        var reading = Task.Run(async () =>
        {
            await foreach (var frame in stream.Frames.ReadAllAsync())
            {
                stream.Return(frame);
            }
        });
        for (int t = 0; t < Steps; t++)
        {
            int[] indices = Enumerable.Range(0, Size).Where(_ => rng.NextDouble() < 0.05).ToArray();
            stream.SendAsync(new RunCommand([new PendingInput(0, 0, indices, null, null)], 1), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }

        stream.CompleteAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        reading.GetAwaiter().GetResult();
        loop.CloseAsync(stream).GetAwaiter().GetResult();
    }

    /// <summary>Best of 5 runs, in milliseconds.</summary>
    private static double Best(Action action)
    {
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return best;
    }
}
