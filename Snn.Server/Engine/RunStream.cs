using System.Threading.Channels;

namespace Snn.Server.Engine;

/// <summary>
/// The engine side of a Run stream that drives one instance. The RPC handler writes commands into a
/// bounded inbox (a full inbox makes the handler wait, and HTTP/2 flow control then slows the
/// client) and reads step outputs as a <see cref="FrameSink"/>. LOCKSTEP: the loop takes the next
/// command only when the previous one is done, and steps the instance only while the sink has room,
/// so a slow driver stalls its own instance and nothing else. REALTIME: the clock steps the
/// instance; commands carry inputs only, and a driver that falls behind loses its oldest outputs.
/// </summary>
internal sealed class RunStream(StepLoop loop, Network network, Instance instance, OutputPlan plan)
    : FrameSink(loop, network, instance, plan, lossy: network.Clock is not null,
        network.Clock is not null ? MaxRealtimeFrames : MaxFrames)
{
    /// <summary>A driver is never cut off: LOCKSTEP holds its instance back, REALTIME is lossy.</summary>
    public override bool CutOffWhenFull => false;

    /// <summary>Commands a handler may queue ahead of the loop.</summary>
    public const int InboxCapacity = 64;

    /// <summary>Marks the end of the driver's requests: the loop ends the sink after it.</summary>
    public static readonly RunCommand EndOfRequests = new([], 0);

    private readonly StepLoop _loop = loop;

    private readonly Channel<RunCommand> _commands = Channel.CreateBounded<RunCommand>(
        new BoundedChannelOptions(InboxCapacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    /// <summary>Steps of the current command still to execute (LOCKSTEP). Loop thread only.</summary>
    public long Remaining { get; set; }

    internal ChannelReader<RunCommand> CommandReader => _commands.Reader;

    /// <summary>Queues a request; waits while the inbox is full.</summary>
    public async ValueTask SendAsync(RunCommand command, CancellationToken cancellationToken)
    {
        await _commands.Writer.WriteAsync(command, cancellationToken);
        _loop.Wake();
    }

    /// <summary>Says that no more requests follow; the frames complete once all are executed.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        await _commands.Writer.WriteAsync(EndOfRequests, cancellationToken);
        _commands.Writer.TryComplete();
        _loop.Wake();
    }

    internal override void End(Exception? error = null)
    {
        base.End(error);
        _commands.Writer.TryComplete();
    }
}
