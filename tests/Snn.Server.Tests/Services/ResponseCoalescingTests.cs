using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Snn.Server.Backends.Cpu;
using Snn.Server.Engine;
using Snn.Server.Services;
using static Snn.Server.Tests.Engine.NetworkBuilderTests;

namespace Snn.Server.Tests.Services;

/// <summary>
/// The Run stream's writer packs a LOCKSTEP advance's steps into one response while the advance is being
/// stepped (StepFrame.AdvanceGoesOn), and sends at once where waiting would not pay: the advance's last
/// step, or a next step not due within the window.
/// </summary>
public sealed class ResponseCoalescingTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly StepLoop _loop = new(new CpuBackend(), new EngineLimits(), new RealtimeOptions(), NullLogger<StepLoop>.Instance);
    private readonly Network _net = NetworkBuilder.Build(Net([Pop("in", 8, "input")], []), new EngineLimits());

    public void Dispose() => _loop.Dispose();

    /// <summary>Records the steps of each response as the writer sends it.</summary>
    private sealed class Responses : IServerStreamWriter<FrameBatch>
    {
        public List<long[]> Sent { get; } = [];

        public TaskCompletionSource FirstWrite { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(FrameBatch message)
        {
            lock (Sent)
            {
                Sent.Add(message.Frames.ToArray().Select(f => f.Step).ToArray());
            }

            FirstWrite.TrySetResult();
            return Task.CompletedTask;
        }

        public long[][] Snapshot()
        {
            lock (Sent)
            {
                return [.. Sent];
            }
        }
    }

    private (RunStream Sink, Responses Responses, Task Writer) Start(TimeSpan? window)
    {
        var plan = new OutputPlan([0], []);
        var sink = new RunStream(_loop, _net, _net.Instances[0], plan);
        var responses = new Responses();
        var writer = RunHandler.WriteFramesAsync(sink, new FrameBatch(plan), responses, TimeSpan.Zero, CancellationToken.None, null, window);
        return (sink, responses, writer);
    }

    private static void Emit(RunStream sink, long step, bool goesOn)
    {
        var frame = sink.Rent();
        frame.Step = step;
        frame.AdvanceGoesOn = goesOn;
        frame.SetSpikes(0, [], [], 8);
        sink.Emit(frame);
    }

    [Fact]
    public async Task The_steps_of_an_advance_being_stepped_go_out_in_one_response()
    {
        var (sink, responses, writer) = Start(TimeSpan.FromMinutes(1)); // a window no loaded machine overruns
        Emit(sink, 0, goesOn: true);
        Emit(sink, 1, goesOn: true);
        await Task.Delay(200); // the writer has woken for steps 0 and 1 and waits for the rest of the advance
        Assert.Empty(responses.Snapshot());

        Emit(sink, 2, goesOn: false);
        await responses.FirstWrite.Task.WaitAsync(Timeout);
        sink.End();
        await writer.WaitAsync(Timeout);
        Assert.Equal([[0L, 1L, 2L]], responses.Snapshot());
    }

    [Fact]
    public async Task The_last_step_of_an_advance_goes_out_without_waiting()
    {
        var (sink, responses, writer) = Start(TimeSpan.FromMinutes(1));
        Emit(sink, 0, goesOn: false);
        await responses.FirstWrite.Task.WaitAsync(Timeout); // nothing more comes: it was sent on its own
        Assert.Equal([[0L]], responses.Snapshot());
        sink.End();
        await writer.WaitAsync(Timeout);
    }

    [Fact]
    public async Task A_step_whose_next_is_not_due_within_the_window_goes_out_without_waiting()
    {
        _net.StepSeconds = 0.5; // a slow network: its next step would come long after the window
        var (sink, responses, writer) = Start(null);
        Emit(sink, 0, goesOn: true);
        await responses.FirstWrite.Task.WaitAsync(Timeout);
        Assert.Equal([[0L]], responses.Snapshot());
        sink.End();
        await writer.WaitAsync(Timeout);
    }
}
