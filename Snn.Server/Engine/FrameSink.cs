using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Snn.Server.Engine;

/// <summary>
/// One consumer of an instance's step outputs: its driver or a watcher. The loop fills pooled
/// frames and queues them; the stream's single writer task encodes them and hands them back. At
/// most <see cref="Capacity"/> frames are out at once. What happens when a sink is full is the
/// sink's policy: a LOCKSTEP driver holds its instance back (the loop checks <see cref="HasRoom"/>
/// before stepping), a lossy sink loses its oldest frames and counts them, any other watcher is cut
/// off with RESOURCE_EXHAUSTED.
/// </summary>
internal class FrameSink
{
    /// <summary>Most frames a sink may have out, unless it asks for more.</summary>
    public const int MaxFrames = 256;

    /// <summary>Most frames a REALTIME driver may have out: 4 s of ticks at 1 kHz.</summary>
    public const int MaxRealtimeFrames = 4096;

    /// <summary>Most frames a watcher may ask to have out (WatchRequest.queue), as a REALTIME driver.</summary>
    public const int MaxWatcherFrames = MaxRealtimeFrames;

    /// <summary>
    /// The frames a watcher gets for its requested queue (0 = <see cref="MaxFrames"/>): at most
    /// <see cref="MaxWatcherFrames"/>, and beyond <see cref="MaxFrames"/> only as many as the worst case
    /// of its spike buffers (every neuron spiking: an index and a value each) fits in
    /// <see cref="MaxRecordedBytes"/>, since spike buffers grow to what the populations emit.
    /// </summary>
    public static int WatcherFrames(Network network, OutputPlan plan, uint requested)
    {
        int frames = requested == 0 ? MaxFrames : (int)Math.Min(requested, MaxWatcherFrames);
        if (frames <= MaxFrames)
        {
            return frames;
        }

        long spikeBytes = 8L * plan.SpikePopulations.Sum(p => (long)network.Populations[p].Size);
        return (int)Math.Max(MaxFrames, Math.Min(frames, MaxRecordedBytes / Math.Max(1, spikeBytes)));
    }

    /// <summary>Recorded bytes a sink may have out; large records get fewer frames (at least 4).</summary>
    public const long MaxRecordedBytes = 32L << 20;

    // Bounded to the sink's capacity, which the loop never exceeds (it counts frames out before it
    // emits): a bounded channel keeps its items in one reused array, so emitting allocates nothing.
    private readonly Channel<StepFrame> _frames;

    private readonly ConcurrentQueue<StepFrame> _free = new();
    private readonly StepLoop _loop;
    private int _out; // frames emitted and not yet handed back
    private long _dropped;
    private long _droppedPending;

    public FrameSink(StepLoop loop, Network network, Instance instance, OutputPlan plan, bool lossy, int frames)
    {
        _loop = loop;
        Network = network;
        Instance = instance;
        Plan = plan;
        Lossy = lossy;
        FirstStep = instance.Step;
        long perFrame = Math.Max(StepFrame.RecordBytes(plan), 1);
        Capacity = (int)Math.Clamp(Math.Min(frames, MaxRecordedBytes / perFrame), 4, Math.Max(frames, 4));
        _frames = Channel.CreateBounded<StepFrame>(new BoundedChannelOptions(Capacity)
        {
            SingleReader = false, // the loop takes the oldest frame out of a full lossy sink
            SingleWriter = true,
            AllowSynchronousContinuations = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public Network Network { get; }

    public Instance Instance { get; }

    public OutputPlan Plan { get; }

    /// <summary>Loses the oldest frames instead of holding anything back or being cut off.</summary>
    public bool Lossy { get; }

    public int Capacity { get; }

    /// <summary>
    /// The step of the first frame this sink receives: the instance's next step when the loop attached
    /// the sink (after a reset, 0). Reported as RunOpened.step, so the first step a client reads is the
    /// one announced, even when the instance stepped on while the handler answered.
    /// </summary>
    public long FirstStep { get; }

    /// <summary>
    /// Most steps the writer packs into one response. A sink that is cut off when full gets at most half
    /// its capacity per response, so the loop keeps room to emit while a response is on the wire;
    /// other sinks (a LOCKSTEP driver waits, a lossy one drops) take up to <paramref name="max"/>, and
    /// never more than their capacity: the loop emits no more while the writer holds that many.
    /// </summary>
    public int StepsPerResponse(int max) => CutOffWhenFull ? Math.Clamp(Capacity / 2, 1, max) : Math.Min(max, Capacity);

    /// <summary>Whether this sink is ended when it falls <see cref="Capacity"/> frames behind (a lossless watcher).</summary>
    public virtual bool CutOffWhenFull => !Lossy;

    /// <summary>Frames lost so far (lossy sinks).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Set once the sink has been ended; the loop emits nothing more to it.</summary>
    public bool Ended { get; private set; }

    public ChannelReader<StepFrame> Frames => _frames.Reader;

    /// <summary>Hands an encoded frame back for reuse.</summary>
    public void Return(StepFrame frame)
    {
        _free.Enqueue(frame);
        Interlocked.Decrement(ref _out);
        _loop.Wake();
    }

    /// <summary>
    /// Whether one more frame may go out now. Loop thread only. A lossy sink counts only the frames
    /// still queued (so that making room always means dropping a queued frame and the newest step is
    /// always delivered, carrying the count of what was lost); any other sink counts every frame not
    /// yet handed back, the one its writer is sending included.
    /// </summary>
    internal bool HasRoom => Lossy ? _frames.Reader.Count < Capacity : Volatile.Read(ref _out) < Capacity;

    /// <summary>Frames that may go out now before this sink is full (a lossy sink never is: it drops its oldest). Loop thread only.</summary>
    internal int Room => Lossy ? int.MaxValue : Capacity - Volatile.Read(ref _out);

    /// <summary>A frame to fill: a returned one when there is one. Loop thread only.</summary>
    internal StepFrame Rent() => _free.TryDequeue(out var f) ? f : new StepFrame(Network, Plan);

    internal void Emit(StepFrame frame)
    {
        frame.DroppedBefore = _droppedPending;
        _droppedPending = 0;
        Interlocked.Increment(ref _out);
        _frames.Writer.TryWrite(frame);
    }

    /// <summary>Makes room in a full lossy sink by dropping its oldest queued frame (returns whether it did). Loop thread only.</summary>
    internal bool DropOldest()
    {
        if (_frames.Reader.TryRead(out var oldest))
        {
            Interlocked.Increment(ref _dropped);
            _droppedPending += oldest.DroppedBefore + 1; // its own loss, and the losses it was to report
            Return(oldest);
            return true;
        }

        return false;
    }

    /// <summary>Completes the frame stream (with an error to end the call with a status). Loop thread only.</summary>
    internal virtual void End(Exception? error = null)
    {
        Ended = true;
        _frames.Writer.TryComplete(error);
    }
}
