using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Snn.Server.Engine;

/// <summary>
/// The engine side of a Run stream that drives one instance. The RPC handler writes commands into
/// <see cref="Commands"/> (bounded: a full inbox makes the handler wait, and HTTP/2 flow control then
/// slows the client) and reads step outputs from <see cref="Frames"/>. The loop executes a command
/// only when the previous one is done, and steps the instance only while the outbox has room, so a
/// slow driver stalls its own instance and nothing else.
/// </summary>
internal sealed class RunStream
{
    /// <summary>Most frames the loop may queue ahead of the stream's writer.</summary>
    public const int MaxOutboxFrames = 256;

    /// <summary>Recorded bytes a stream may have queued; large records get fewer frames (at least 4).</summary>
    public const long OutboxBytes = 32L << 20;

    /// <summary>Commands a handler may queue ahead of the loop.</summary>
    public const int InboxCapacity = 64;

    private readonly Channel<RunCommand> _commands = Channel.CreateBounded<RunCommand>(
        new BoundedChannelOptions(InboxCapacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly Channel<StepFrame> _frames = Channel.CreateUnbounded<StepFrame>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true, AllowSynchronousContinuations = false });

    private readonly ConcurrentQueue<StepFrame> _free = new();
    private readonly StepLoop _loop;
    private int _inFlight; // frames emitted and not yet returned

    public RunStream(StepLoop loop, Network network, Instance instance, OutputPlan plan)
    {
        _loop = loop;
        Network = network;
        Instance = instance;
        Plan = plan;
        long perFrame = Math.Max(StepFrame.RecordBytes(plan), 1);
        OutboxCapacity = (int)Math.Clamp(OutboxBytes / perFrame, 4, MaxOutboxFrames);
    }

    /// <summary>Frames the loop may queue ahead of the writer (the loop checks it before stepping).</summary>
    public int OutboxCapacity { get; }

    /// <summary>Marks the end of the driver's requests: the loop completes <see cref="Frames"/> after it.</summary>
    public static readonly RunCommand EndOfRequests = new([], 0);

    public Network Network { get; }

    public Instance Instance { get; }

    public OutputPlan Plan { get; }

    /// <summary>Steps of the current command still to execute. Loop thread only.</summary>
    public long Remaining { get; set; }

    /// <summary>Set once the loop has seen <see cref="EndOfRequests"/> or detached the stream.</summary>
    public bool Finished { get; set; }

    public ChannelReader<StepFrame> Frames => _frames.Reader;

    internal ChannelReader<RunCommand> CommandReader => _commands.Reader;

    /// <summary>Queues a request; waits while the inbox is full.</summary>
    public async ValueTask SendAsync(RunCommand command, CancellationToken cancellationToken)
    {
        await _commands.Writer.WriteAsync(command, cancellationToken);
        _loop.Wake();
    }

    /// <summary>Says that no more requests follow; the frame channel completes once all are executed.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        await _commands.Writer.WriteAsync(EndOfRequests, cancellationToken);
        _commands.Writer.TryComplete();
        _loop.Wake();
    }

    /// <summary>Hands an encoded frame back for reuse.</summary>
    public void Return(StepFrame frame)
    {
        _free.Enqueue(frame);
        Interlocked.Decrement(ref _inFlight);
        _loop.Wake();
    }

    /// <summary>Whether the loop can emit one more frame now (frames not yet handed back stay counted). Loop thread only.</summary>
    internal bool CanEmit => Volatile.Read(ref _inFlight) < OutboxCapacity;

    /// <summary>A frame to fill: reused when one is free. Loop thread only.</summary>
    internal StepFrame RentFrame() => _free.TryDequeue(out var f) ? f : new StepFrame(Network, Plan);

    internal void Emit(StepFrame frame)
    {
        Interlocked.Increment(ref _inFlight);
        _frames.Writer.TryWrite(frame);
    }

    internal void EndFrames(Exception? error = null)
    {
        Finished = true;
        _frames.Writer.TryComplete(error);
        _commands.Writer.TryComplete();
    }
}
