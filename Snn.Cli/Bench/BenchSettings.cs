namespace Snn.Cli.Bench;

/// <summary>What a <c>snn bench</c> run measures and how long. Quick mode shortens everything for smoke use.</summary>
internal sealed class BenchSettings
{
    public bool Quick { get; init; }

    /// <summary>Repetitions per suite; the report gives their median and min–max. Defaults to 5 (quick: 2).</summary>
    public int Repeat { get; init; } = 5;

    /// <summary>LOCKSTEP round trips per repetition of lockstep-rtt (and of its echo baseline). Defaults to 20,000 (quick: 2,000).</summary>
    public int RoundTrips { get; init; } = 20_000;

    /// <summary>REALTIME networks in the realtime suite. Defaults to 100.</summary>
    public int Networks { get; init; } = 100;

    /// <summary>Seconds the REALTIME networks run per repetition. Defaults to 60 (quick: 5).</summary>
    public double RealtimeSeconds { get; init; } = 60;

    /// <summary>Watchers in the fanout suite. Defaults to 16.</summary>
    public int Watchers { get; init; } = 16;

    /// <summary>Warm-up round trips before the measured ones.</summary>
    public int WarmupRoundTrips => Quick ? 200 : 2_000;

    /// <summary>Messages (100 steps each) per repetition of lockstep-batch, after <see cref="BatchWarmup"/>.</summary>
    public int BatchMessages => Quick ? 100 : 1_000;

    public int BatchWarmup => Quick ? 10 : 100;

    /// <summary>Events per RunRequest in the ingest suite.</summary>
    public int IngestEventsPerMessage => Quick ? 10_000 : 50_000;

    /// <summary>Seconds of ingest measured per repetition, after <see cref="IngestWarmupSeconds"/>.</summary>
    public double IngestSeconds => Quick ? 0.5 : 3;

    public double IngestWarmupSeconds => Quick ? 0.2 : 0.5;

    /// <summary>Seconds the fanout driver runs per repetition.</summary>
    public double FanoutSeconds => Quick ? 1 : 5;

    /// <summary>Events in the replay suite's EVT 2.0 recording. 10,000,000 (quick: 1,000,000).</summary>
    public long ReplayEvents => Quick ? 1_000_000 : 10_000_000;
}
