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

    /// <summary>Recorded bytes a sink may have out; large records get fewer frames (at least 4).</summary>
    public const long MaxRecordedBytes = 32L << 20;

    private readonly Channel<StepFrame> _frames = Channel.CreateUnbounded<StepFrame>(
        new UnboundedChannelOptions { SingleReader = false, SingleWriter = true, AllowSynchronousContinuations = false });

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
        long perFrame = Math.Max(StepFrame.RecordBytes(plan), 1);
        Capacity = (int)Math.Clamp(Math.Min(frames, MaxRecordedBytes / perFrame), 4, Math.Max(frames, 4));
    }

    public Network Network { get; }

    public Instance Instance { get; }

    public OutputPlan Plan { get; }

    /// <summary>Loses the oldest frames instead of holding anything back or being cut off.</summary>
    public bool Lossy { get; }

    public int Capacity { get; }

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

    /// <summary>Whether one more frame may go out now. Loop thread only.</summary>
    internal bool HasRoom => Volatile.Read(ref _out) < Capacity;

    /// <summary>A frame to fill: a returned one when there is one. Loop thread only.</summary>
    internal StepFrame Rent() => _free.TryDequeue(out var f) ? f : new StepFrame(Network, Plan);

    internal void Emit(StepFrame frame)
    {
        frame.DroppedBefore = _droppedPending;
        _droppedPending = 0;
        Interlocked.Increment(ref _out);
        _frames.Writer.TryWrite(frame);
    }

    /// <summary>Makes room in a lossy sink: drops the oldest queued frame (or, if the writer holds them all, this step's). Loop thread only.</summary>
    internal bool DropOldest()
    {
        Interlocked.Increment(ref _dropped);
        _droppedPending++;
        if (_frames.Reader.TryRead(out var oldest))
        {
            _droppedPending += oldest.DroppedBefore; // the losses it was to report move to the next frame
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
