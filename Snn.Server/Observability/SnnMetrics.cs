using System.Diagnostics.Metrics;
using Snn.Server.Engine;
using Snn.Server.Rpc;

namespace Snn.Server.Observability;

/// <summary>
/// The server's instruments, on one <see cref="Meter"/> named <see cref="MeterName"/>. The step loop
/// updates the synchronous ones with no tags (no allocation on its hot path, listened to or not); the
/// observable ones read counts the loop and the handlers keep anyway, when a scrape collects them.
/// One per step loop: each server in a process has its own meter, and its exporter listens to that one
/// only (see <see cref="MetricsSetup"/>).
/// </summary>
internal sealed class SnnMetrics : IDisposable
{
    public const string MeterName = "Snn.Server";

    /// <summary>Step durations: 1 µs to 1 s.</summary>
    private static readonly double[] DurationBuckets =
        [1e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1];

    /// <summary>Lateness: 1 µs to 20 ms (the range of the REALTIME lateness figures of GetStatus), then 100 ms and 1 s.</summary>
    private static readonly double[] LatenessBuckets =
        [1e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 0.1, 1];

    public SnnMetrics()
    {
        Meter = new Meter(MeterName, typeof(SnnMetrics).Assembly.GetName().Version?.ToString());
        StepDuration = Meter.CreateHistogram<double>("snn.step.duration", "s",
            "Duration of one step of a network's due instances (input intake, the backend step, output emission)",
            tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        TickLateness = Meter.CreateHistogram<double>("snn.realtime.tick.lateness", "s",
            "REALTIME: how late the loop began each tick at which a network stepped",
            tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = LatenessBuckets });
        StepLateness = Meter.CreateHistogram<double>("snn.realtime.step.lateness", "s",
            "REALTIME: how late each network's step began (tick lateness plus the steps before it in the tick)",
            tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = LatenessBuckets });
        Overruns = Meter.CreateCounter<long>("snn.realtime.overruns", "{tick}", "REALTIME ticks whose step took longer than the period");
        EventsIn = Meter.CreateCounter<long>("snn.events.in", "{event}", "Input events (spikes sent to input neurons) applied at a step");
        SpikesOut = Meter.CreateCounter<long>("snn.spikes.out", "{spike}", "Spikes sent in output frames, to drivers and watchers (counted per stream)");
        LateInputs = Meter.CreateCounter<long>("snn.inputs.late", "{input}", "Inputs that named a step already past (applied at the next step)");
        TooEarlyInputs = Meter.CreateCounter<long>("snn.inputs.too_early", "{input}", "Inputs that named a step beyond the input horizon (dropped)");
        DroppedFrames = Meter.CreateCounter<long>("snn.watch.dropped", "{frame}", "Frames a lossy Watch stream lost because its reader fell behind");
        CutOffWatchers = Meter.CreateCounter<long>("snn.watch.cut_off", "{stream}", "Watch streams ended RESOURCE_EXHAUSTED because their reader fell behind");
        Snapshots = Meter.CreateCounter<long>("snn.snapshots", "{snapshot}",
            "Snapshots stored, by origin (manual: SaveSnapshot; periodic; shutdown)");
        SnapshotDuration = Meter.CreateHistogram<double>("snn.snapshot.duration", "s",
            "Duration of one snapshot: the state copied between two steps, encoded and committed to the store",
            tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = SnapshotBuckets });
        SnapshotBytes = Meter.CreateCounter<long>("snn.snapshot.bytes", "By", "Bytes of snapshot payload stored (after compression)");
        Restores = Meter.CreateCounter<long>("snn.snapshot.restores", "{snapshot}",
            "Snapshots put back into live state (RestoreSnapshot, ForkNetwork, recovery at start)");
    }

    /// <summary>Snapshot durations: 1 ms to 1 min.</summary>
    private static readonly double[] SnapshotBuckets = [1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    public Meter Meter { get; }

    public Histogram<double> StepDuration { get; }

    public Histogram<double> TickLateness { get; }

    public Histogram<double> StepLateness { get; }

    public Counter<long> Overruns { get; }

    public Counter<long> EventsIn { get; }

    public Counter<long> SpikesOut { get; }

    public Counter<long> LateInputs { get; }

    public Counter<long> TooEarlyInputs { get; }

    public Counter<long> DroppedFrames { get; }

    public Counter<long> CutOffWatchers { get; }

    public Counter<long> Snapshots { get; }

    public Histogram<double> SnapshotDuration { get; }

    public Counter<long> SnapshotBytes { get; }

    public Counter<long> Restores { get; }

    /// <summary>The observable instruments: what the loop and the handlers count, read at each collection.</summary>
    public void Observe(StepLoop loop, OpenStreams streams)
    {
        var backend = new KeyValuePair<string, object?>[]
        {
            new("backend", loop.Backend.Name),
            new("device", loop.Backend.Device),
        };
        Meter.CreateObservableCounter("snn.steps", () => new Measurement<long>(loop.StepsExecuted, backend), "{step}",
            "Instance-steps executed since start (one network instance advanced by one step)");
        Meter.CreateObservableGauge("snn.streams.open", () => streams.Count, "{stream}", "Run and Watch streams in progress");
        Meter.CreateObservableGauge("snn.networks", () => loop.Networks.Count, "{network}", "Networks hosted");
        Meter.CreateObservableGauge("snn.neurons", () => loop.Networks.Sum(n => n.Neurons * n.Instances.Length), "{neuron}",
            "Neurons hosted, over all networks and their instances");
        Meter.CreateObservableGauge("snn.synapses", () => loop.Networks.Sum(n => n.Synapses), "{synapse}",
            "Synapses hosted, over all networks (instances share their weights)");
    }

    /// <summary>Adds 0 to every counter, so that a listener shows them at 0 before their first event.</summary>
    public void ShowCounters()
    {
        foreach (var counter in new[] { Overruns, EventsIn, SpikesOut, LateInputs, TooEarlyInputs, DroppedFrames, CutOffWatchers, SnapshotBytes, Restores })
        {
            counter.Add(0);
        }
    }

    public void Dispose() => Meter.Dispose();
}
