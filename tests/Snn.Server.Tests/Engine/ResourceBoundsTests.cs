using System.Diagnostics;
using Snn.Server.Engine;
using static Snn.Server.Tests.Engine.EngineHarness;

namespace Snn.Server.Tests.Engine;

/// <summary>
/// The memory budget's estimate (an upper bound of what a network holds, known before anything is
/// allocated), the loop's long waits, and the limits that bound them (issue 11, probe defects 1 and 2).
/// </summary>
public sealed class ResourceBoundsTests
{
    public static TheoryData<string> Networks => new(s_networks.Keys);

    private static readonly Dictionary<string, NetworkDefinition> s_networks = new()
    {
        ["one-to-one"] = Net([Flat("in", "input", 300), Flat("n", "sinabs.IAF", 300)], [OneToOne("j", "in", "n")], instances: 3),
        ["dense with bias and delay"] = Net([Flat("a", "input", 20), Flat("b", "passthrough", 30)],
            [Dense("d", "a", "b", new float[600], bias: new float[30], delay: 7)], instances: 5),
        ["unsorted sparse, recurrent"] = Net([Flat("a", "input", 50), Flat("b", "sinabs.IAF", 40)],
            [Sparse("s", "a", "b", [9, 3, 3, 0], [1, 2, 39, 0], [1, 2, 3, 4]), Sparse("r", "b", "b", [1, 0], [0, 1], [1, 1], delay: 2)]),
        ["conv and pool"] = Net([Shaped("in", "input", 2, 12, 12), Shaped("c", "passthrough", 4, 10, 10), Shaped("p", "passthrough", 4, 5, 5)],
            [Conv("c", "in", "c", new float[72], [3, 3], bias: new float[4]), Pool("p", "c", "p", [2, 2], delay: 3)], instances: 2),
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void The_estimate_charged_before_allocating_bounds_what_the_network_holds(string name)
    {
        var limits = new EngineLimits();
        long estimate = -1;
        var network = NetworkBuilder.Build(s_networks[name], limits, bytes => estimate = bytes);
        long held = NetworkBuilder.ChargedBytes(network, limits.MaxInputHorizon);
        Assert.InRange(estimate, held, 2 * held);
        Assert.True(held > network.Bytes);
    }

    [Fact]
    public void A_refused_reservation_comes_before_any_buffer_is_allocated()
    {
        // 2 × 16,777,216 neurons × 2 instances with a delay line of 8 steps: about 1.6 GiB.
        var def = Net([Flat("in", "input", 1 << 24), Flat("out", "passthrough", 1 << 24)], [OneToOne("j", "in", "out", delay: 8)], instances: 2);
        long asked = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<EngineException>(() => NetworkBuilder.Build(def, new EngineLimits(), bytes =>
        {
            asked = bytes;
            throw new EngineException(EngineError.ResourceExhausted, "no room");
        }));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(EngineError.ResourceExhausted, e.Error);
        Assert.True(asked > 3L << 29, $"estimate {asked}");
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated before the refusal");
    }

    [Fact]
    public void The_default_budget_is_three_quarters_of_the_memory_the_process_may_use()
    {
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        Assert.True(available > 0);
        Assert.Equal((long)(available * 0.75), new EngineLimits().MaxMemoryBytes);
    }

    [Theory]
    [InlineData(1e9, 1.0, 1L)]
    [InlineData(double.NaN, 1.0, 1L)]
    [InlineData(1e-6, 1.0, 1L)]
    [InlineData(3600.0, 0.0, 1L)]
    [InlineData(3600.0, 1.0, 0L)]
    public void Limits_the_engine_cannot_honour_are_refused_at_start(double maxTickPeriod, double maxDt, long maxMemory)
    {
        var limits = new EngineLimits { MaxTickPeriod = maxTickPeriod, MaxDt = maxDt, MaxMemoryBytes = maxMemory };
        Assert.Throws<InvalidOperationException>(limits.Validate);
    }

    [Fact]
    public void Realtime_periods_beyond_MaxTickPeriod_and_dt_beyond_MaxDt_are_refused_naming_the_setting()
    {
        var limits = new EngineLimits();
        var relay = Net([Flat("in", "input", 4), Flat("out", "passthrough", 4)], [OneToOne("j", "in", "out")]);

        var e = Assert.Throws<EngineException>(() => NetworkBuilder.Build(relay with { Clock = ClockMode.Realtime, Dt = 1, RealtimeFactor = 3e6 }, limits));
        Assert.Contains("spec.dt × spec.realtime_factor = 3000000 s; a REALTIME tick period must be at most 3600 s (Snn:Limits:MaxTickPeriod)", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<EngineException>(() => NetworkBuilder.Build(relay with { Dt = 2 }, limits));
        Assert.Contains("spec.dt is 2 s; it must be at most 1 s (Snn:Limits:MaxDt)", e.Message, StringComparison.Ordinal);

        var hourly = NetworkBuilder.Build(relay with { Clock = ClockMode.Realtime, Dt = 1, RealtimeFactor = 3600 }, limits);
        Assert.Equal(3600 * Stopwatch.Frequency, hourly.Clock!.Period);
    }

    [Theory]
    [InlineData(3e6)] // 3,000,000 s: the int cast overflowed
    [InlineData(3600)]
    [InlineData(1e8)]
    public void Long_waits_are_cut_into_pieces_of_at_most_250_ms(double seconds)
    {
        Assert.Equal(250, StepLoop.LongWaitMilliseconds((long)(seconds * Stopwatch.Frequency)));
    }

    [Fact]
    public void Short_waits_end_a_millisecond_before_the_tick()
    {
        Assert.Equal(9, StepLoop.LongWaitMilliseconds(10 * Stopwatch.Frequency / 1000));
        Assert.Equal(1, StepLoop.LongWaitMilliseconds(2 * Stopwatch.Frequency / 1000 + 1));
        Assert.Equal(0, StepLoop.LongWaitMilliseconds(0));
        Assert.Equal(250, StepLoop.LongWaitMilliseconds(long.MaxValue));
    }
}
