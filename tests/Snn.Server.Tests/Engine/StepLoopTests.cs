using Microsoft.Extensions.Logging.Abstractions;
using Snn.Server.Backends.Cpu;
using Snn.Server.Engine;
using Snn.Server.Models;
using static Snn.Server.Tests.Engine.NetworkBuilderTests;

namespace Snn.Server.Tests.Engine;

public sealed class StepLoopTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly StepLoop _loop = new(new CpuBackend(), new EngineLimits(), new RealtimeOptions(), NullLogger<StepLoop>.Instance);

    public void Dispose() => _loop.Dispose();

    private static OutputPlan SpikesOf(Network net, params string[] names) =>
        new(names.Select(n => net.FindPopulation(n)!.Index).ToArray(), []);

    private static async Task<List<(long Step, int[] Indices, float[] Values)>> ReadAll(RunStream stream, int population = 0)
    {
        var result = new List<(long, int[], float[])>();
        await foreach (var frame in stream.Frames.ReadAllAsync().WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            int n = frame.SpikeCounts[population];
            result.Add((frame.Step, frame.SpikeIndices[population][..n], frame.SpikeValues[population][..n]));
            stream.Return(frame);
        }

        return result;
    }

    [Fact]
    public async Task Deleting_a_large_network_hands_its_memory_back_and_a_small_one_does_not()
    {
        // 2 x 2^22 neurons: over 64 MiB of state and buffers, over the 64 MiB threshold.
        await _loop.CreateAsync(Net([Pop("in", 1 << 22, "input"), Pop("lif", 1 << 22, "sinabs.IAF")], [OneToOne("ff", "in", "lif")], name: "large"));
        await _loop.CreateAsync(Net([Pop("in", 4, "input")], [], name: "small"));
        Assert.True(_loop.TryGet("large", out var large) && large.Bytes >= StepLoop.ReleaseAfterDeleteBytes, $"the large network holds {large?.Bytes} bytes");

        await _loop.DeleteAsync("small");
        Assert.Equal(0, _loop.MemoryReleases);
        await _loop.DeleteAsync("large");
        Assert.Equal(1, _loop.MemoryReleases);
    }

    [Fact]
    public async Task A_command_whose_caller_left_before_the_loop_took_it_never_runs()
    {
        using var gate = new ManualResetEventSlim();
        var blocked = _loop.InvokeAsync(() => gate.Wait(Timeout)); // holds the loop thread
        using var cts = new CancellationTokenSource();
        bool ran = false;
        var call = _loop.InvokeAsync(() => ran = true, cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        gate.Set();
        await blocked.WaitAsync(Timeout);
        await _loop.InvokeAsync(() => true).WaitAsync(Timeout); // every command queued before this one has been taken
        Assert.False(ran);
    }

    [Fact]
    public async Task A_driver_whose_caller_left_while_it_was_attached_is_detached_again()
    {
        var net = await _loop.CreateAsync(Net([Pop("in", 2, "input")], []));
        using var cts = new CancellationTokenSource();
        // The caller hangs up after the loop attached the driver but before the answer reached it (the work
        // itself cancels, the latest possible moment): the instance must not stay driven.
        var opening = _loop.InvokeAsync(() =>
        {
            var stream = new RunStream(_loop, net, net.Instances[0], SpikesOf(net, "in"));
            net.Instances[0].Driver = stream;
            cts.Cancel();
            return stream;
        }, cts.Token, abandon: stream => _ = _loop.CloseAsync(stream));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => opening);

        var deadline = DateTime.UtcNow + Timeout;
        while (await _loop.InvokeAsync(() => net.Instances[0].Driver is not null) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        var next = await _loop.OpenAsync(net, 0, SpikesOf(net, "in"), reset: false, CancellationToken.None);
        await _loop.CloseAsync(next);
    }

    [Fact]
    public async Task A_lockstep_drivers_frames_say_whether_their_advance_goes_on()
    {
        var net = await _loop.CreateAsync(Net([Pop("in", 3, "input")], []));
        var stream = await _loop.OpenAsync(net, 0, SpikesOf(net, "in"), reset: false, CancellationToken.None);
        await stream.SendAsync(new RunCommand([], 1), CancellationToken.None);
        await stream.SendAsync(new RunCommand([], 3), CancellationToken.None);
        await stream.SendAsync(new RunCommand([], 2), CancellationToken.None);
        await stream.CompleteAsync(CancellationToken.None);

        var goesOn = new List<(long Step, bool GoesOn)>();
        await foreach (var frame in stream.Frames.ReadAllAsync().WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            goesOn.Add((frame.Step, frame.AdvanceGoesOn));
            stream.Return(frame);
        }

        // The last step of each request ends its advance; the writer sends it without waiting for more.
        Assert.Equal([(0L, false), (1L, true), (2L, true), (3L, false), (4L, true), (5L, false)], goesOn);
    }

    [Fact]
    public async Task Input_events_reach_a_population_in_the_same_step_with_their_values()
    {
        var net = await _loop.CreateAsync(Net(
            [Pop("in", 3, "input"), Pop("iaf", 3)],
            [OneToOne("j", "in", "iaf", [1f, 1f, 2f])]));
        var stream = await _loop.OpenAsync(net, 0, SpikesOf(net, "in", "iaf"), reset: false, CancellationToken.None);

        await stream.SendAsync(new RunCommand([new PendingInput(0, 0, [0, 2], [1f, 1.5f], null)], 1), CancellationToken.None);
        await stream.SendAsync(new RunCommand([new PendingInput(0, 1, [1], [2.5f], null)], 2), CancellationToken.None);
        await stream.CompleteAsync(CancellationToken.None);

        var inSpikes = new List<(long, int[], float[])>();
        var iafSpikes = new List<(long, int[], float[])>();
        await foreach (var frame in stream.Frames.ReadAllAsync().WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            inSpikes.Add((frame.Step, frame.SpikeIndices[0][..frame.SpikeCounts[0]], frame.SpikeValues[0][..frame.SpikeCounts[0]]));
            iafSpikes.Add((frame.Step, frame.SpikeIndices[1][..frame.SpikeCounts[1]], frame.SpikeValues[1][..frame.SpikeCounts[1]]));
            stream.Return(frame);
        }

        Assert.Equal([0L, 1L, 2L], inSpikes.Select(s => s.Item1));
        Assert.Equal([0, 2], inSpikes[0].Item2);
        Assert.Equal([1f, 1.5f], inSpikes[0].Item3);
        Assert.Empty(inSpikes[1].Item2);
        Assert.Equal([1], inSpikes[2].Item2); // offset 1 of the second request = step 2
        // sinabs.IAF, MultiSpike, threshold 1: v = 1 -> 1 spike; v = 1.5*2 = 3 -> 3 spikes; step 2: v = 2.5 -> 2 spikes.
        Assert.Equal([0, 2], iafSpikes[0].Item2);
        Assert.Equal([1f, 3f], iafSpikes[0].Item3);
        Assert.Equal([1], iafSpikes[2].Item2);
        Assert.Equal([2f], iafSpikes[2].Item3);
        Assert.Equal(3, net.Instances[0].Step);
    }

    [Fact]
    public async Task A_self_projection_delivers_the_previous_steps_spikes_and_bias_follows_its_flag()
    {
        // in -> a (same step); a -> a (previous step) with bias 0.25 not added at step 0.
        var net = await _loop.CreateAsync(Net(
            [Pop("in", 1, "input"), Pop("a", 1, "passthrough")],
            [OneToOne("ff", "in", "a"), Dense("rec", "a", "a", [2f], [0.25f], biasOnFirstStep: false)]));
        var stream = await _loop.OpenAsync(net, 0, SpikesOf(net, "a"), reset: false, CancellationToken.None);
        await stream.SendAsync(new RunCommand([new PendingInput(0, 0, [0], null, null)], 3), CancellationToken.None);
        await stream.CompleteAsync(CancellationToken.None);
        var frames = await ReadAll(stream);

        // step 0: a = 1 (input), no recurrent term, no bias. step 1: 2*1 + 0.25. step 2: 2*2.25 + 0.25.
        Assert.Equal([1f], frames[0].Values);
        Assert.Equal([2.25f], frames[1].Values);
        Assert.Equal([4.75f], frames[2].Values);
    }

    [Fact]
    public async Task Instances_are_independent_and_a_second_driver_is_refused()
    {
        var net = await _loop.CreateAsync(Net([Pop("in", 2, "input")], [], instances: 2));
        var s0 = await _loop.OpenAsync(net, 0, SpikesOf(net, "in"), false, CancellationToken.None);
        var e = await Assert.ThrowsAsync<EngineException>(() => _loop.OpenAsync(net, 0, SpikesOf(net, "in"), false, CancellationToken.None));
        Assert.Equal(EngineError.AlreadyExists, e.Error);

        var s1 = await _loop.OpenAsync(net, 1, SpikesOf(net, "in"), false, CancellationToken.None);
        await s0.SendAsync(new RunCommand([new PendingInput(0, 0, [0], null, null)], 1), CancellationToken.None);
        await s1.SendAsync(new RunCommand([new PendingInput(0, 0, [1], null, null)], 2), CancellationToken.None);
        await s0.CompleteAsync(CancellationToken.None);
        await s1.CompleteAsync(CancellationToken.None);
        var f0 = await ReadAll(s0);
        var f1 = await ReadAll(s1);

        Assert.Single(f0);
        Assert.Equal([0], f0[0].Indices);
        Assert.Equal(2, f1.Count);
        Assert.Equal([1], f1[0].Indices);
        Assert.Equal(1, net.Instances[0].Step);
        Assert.Equal(2, net.Instances[1].Step);
    }

    [Fact]
    public async Task Set_parameters_is_all_or_nothing_and_reset_returns_to_step_zero()
    {
        var net = await _loop.CreateAsync(Net([Pop("a", 2)], []));
        var before = net.Populations[0].Kernel;
        var bad = Assert.ThrowsAsync<EngineException>(() => _loop.SetParametersAsync(net,
            [("a", new Dictionary<string, ParamValue> { ["spike_threshold"] = ParamValue.Number(2) }),
             ("a", new Dictionary<string, ParamValue> { ["nonsense"] = ParamValue.Number(2) })],
            [], CancellationToken.None));
        Assert.Contains("nonsense", (await bad).Message, StringComparison.Ordinal);
        Assert.Same(before, net.Populations[0].Kernel);

        await _loop.SetParametersAsync(net,
            [("a", new Dictionary<string, ParamValue> { ["spike_threshold"] = ParamValue.Number(2) })], [], CancellationToken.None);
        Assert.NotSame(before, net.Populations[0].Kernel);
        Assert.Equal(2.0, net.Populations[0].Parameters["spike_threshold"].Scalar);

        var stream = await _loop.OpenAsync(net, 0, SpikesOf(net, "a"), false, CancellationToken.None);
        await stream.SendAsync(new RunCommand([new PendingInput(0, 0, null, null, [0.5f, 1.5f])], 1), CancellationToken.None);
        await stream.CompleteAsync(CancellationToken.None);
        await ReadAll(stream);
        await _loop.CloseAsync(stream);
        var (step, values) = await _loop.GetStateAsync(net, 0, net.Populations[0], [0], null, CancellationToken.None);
        Assert.Equal(1, step);
        Assert.Equal([0.5f, 1.5f], values[0]); // threshold 2: no spike, nothing subtracted

        await _loop.ResetAsync(net, null, CancellationToken.None);
        (step, values) = await _loop.GetStateAsync(net, 0, net.Populations[0], [0], null, CancellationToken.None);
        Assert.Equal(0, step);
        Assert.Equal([0f, 0f], values[0]);
    }
}
