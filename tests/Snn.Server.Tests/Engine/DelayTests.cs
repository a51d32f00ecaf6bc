using Snn.Server.Engine;
using static Snn.Server.Tests.Engine.EngineHarness;

namespace Snn.Server.Tests.Engine;

/// <summary>
/// delay_steps: a same-step projection with delay d delivers the spikes of step t − d, a previous-step
/// one those of t − 1 − d; nothing from before step 0; the bias rule; resets; instances apart.
/// </summary>
public sealed class DelayTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public void A_spike_at_step_t_arrives_at_t_plus_the_delay(int delay)
    {
        var run = new EngineHarness(Net(
            [Flat("in", "input", 3), Flat("out", "passthrough", 3)],
            [OneToOne("j", "in", "out", [1f, 2f, 4f], delay)]));
        var seen = new List<float[]>();
        for (int t = 0; t < 12; t++)
        {
            run.Step("in", _ => t switch { 0 => [1f, 0f, 0f], 2 => [0f, 3f, 1f], _ => null });
            seen.Add(run.Output("out"));
        }

        for (int t = 0; t < 12; t++)
        {
            float[] expected = (t - delay) switch { 0 => [1f, 0f, 0f], 2 => [0f, 6f, 4f], _ => [0f, 0f, 0f] };
            Assert.Equal(expected, seen[t]);
        }
    }

    /// <summary>Every kind, delayed by 2, gives at step t what its undelayed twin gave at step t − 2.</summary>
    [Theory]
    [InlineData(ProjectionKind.Dense)]
    [InlineData(ProjectionKind.OneToOne)]
    [InlineData(ProjectionKind.Sparse)]
    [InlineData(ProjectionKind.Conv2d)]
    [InlineData(ProjectionKind.SumPool2d)]
    public void Every_kind_delivers_its_delayed_spikes(ProjectionKind kind)
    {
        var rng = new Random((int)kind);
        const int delay = 2;
        int[] outShape = kind switch
        {
            ProjectionKind.Conv2d => [2, 4, 4],
            ProjectionKind.SumPool2d => [2, 2, 2],
            _ => [2, 4, 4],
        };
        int nIn = 32, nOut = outShape.Aggregate(1, (a, b) => a * b);
        ProjectionDefinition Make(string name, string target, int d) => kind switch
        {
            ProjectionKind.Dense => Dense(name, "in", target, Dyadic(new Random(1), nOut * nIn), delay: d),
            ProjectionKind.OneToOne => OneToOne(name, "in", target, Dyadic(new Random(1), nIn), d),
            ProjectionKind.Sparse => Sparse(name, "in", target, [0, 5, 5, 31], [3, 3, 9, 31], [0.5f, 1f, -2f, 0.25f], delay: d),
            ProjectionKind.Conv2d => Conv(name, "in", target, Dyadic(new Random(1), 2 * 2 * 3 * 3), [3], padding: [1], delay: d),
            _ => Pool(name, "in", target, [2], delay: d),
        };

        var run = new EngineHarness(Net(
            [Shaped("in", "input", 2, 4, 4), Shaped("now", "passthrough", outShape), Shaped("later", "passthrough", outShape)],
            [Make("now", "now", 0), Make("later", "later", delay)]));
        var now = new List<float[]>();
        for (int t = 0; t < 10; t++)
        {
            var input = Counts(rng, nIn, rate: 0.4);
            run.Step("in", _ => input);
            now.Add(run.Output("now"));
            Assert.Equal(t < delay ? new float[nOut] : now[t - delay], run.Output("later"));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    public void A_previous_step_projection_with_delay_d_delivers_the_spikes_of_t_minus_1_minus_d(int delay)
    {
        // p_t = in_t + p_(t-1-d) / 2: a pulse at step 0 echoes every 1 + d steps, halved each time.
        var run = new EngineHarness(Net(
            [Flat("in", "input", 1), Flat("p", "passthrough", 1)],
            [OneToOne("in_p", "in", "p"), Dense("echo", "p", "p", [0.5f], delay: delay)]));
        Assert.False(run.Network.Projections[1].SameStep);
        Assert.Equal(delay + 1, run.Network.Projections[1].Lag);
        for (int t = 0; t < 16; t++)
        {
            run.Step("in", _ => t == 0 ? [1f] : null);
            int lag = delay + 1;
            float expected = t % lag == 0 ? MathF.Pow(0.5f, t / lag) : 0f;
            Assert.Equal(expected, run.Output("p")[0]);
        }
    }

    [Theory]
    [InlineData(0, false)] // read straight from the buffer at the next step: must keep its own spikes
    [InlineData(1, true)]  // read from the delay line: the spikes can live in the input buffer
    public void A_stateless_population_shares_its_spike_buffer_with_its_input_unless_the_next_step_reads_it(int delay, bool shared)
    {
        var run = new EngineHarness(Net(
            [Flat("in", "input", 1), Flat("p", "passthrough", 1), Flat("lif", "sinabs.IAF", 1)],
            [OneToOne("in_p", "in", "p"), Dense("echo", "p", "p", [0.5f], delay: delay), OneToOne("p_lif", "p", "lif")]));
        Assert.True(run["in"].SpikesAreInput);
        Assert.Equal(shared, run["p"].SpikesAreInput);
        Assert.False(run["lif"].SpikesAreInput);
        Assert.Equal(4L * 1 * 1, run["in"].Bytes);
    }

    [Fact]
    public void A_cycle_closing_projection_with_delay_waits_one_step_more_than_the_delay()
    {
        // a -> b same step; b -> a closes the cycle: delivers b of step t - 1 - 2.
        var run = new EngineHarness(Net(
            [Flat("in", "input", 1), Flat("a", "passthrough", 1), Flat("b", "passthrough", 1)],
            [OneToOne("in_a", "in", "a"), OneToOne("ab", "a", "b"), OneToOne("ba", "b", "a", [0.5f], delay: 2)]));
        Assert.Equal([true, true, false], run.Network.Projections.Select(j => j.SameStep));
        var a = new List<float>();
        for (int t = 0; t < 8; t++)
        {
            run.Step("in", _ => t == 0 ? [1f] : null);
            a.Add(run.Output("a")[0]);
        }

        Assert.Equal([1f, 0f, 0f, 0.5f, 0f, 0f, 0.25f, 0f], a);
    }

    [Theory]
    [InlineData(true, 0, new[] { 1f, 1f, 1f, 1f, 3f, 1f })]  // same step, bias every step
    [InlineData(false, 0, new[] { 1f, 1f, 1f, 1f, 3f, 1f })] // lag 0: the flag has no effect
    [InlineData(true, 2, new[] { 1f, 1f, 1f, 1f, 1f, 1f, 3f })]
    [InlineData(false, 2, new[] { 0f, 0f, 1f, 1f, 1f, 1f, 3f })] // no bias before the first delivered spikes (steps 0, 1)
    public void The_bias_of_a_delayed_projection_waits_for_its_first_spikes_when_bias_on_first_step_is_false(
        bool biasOnFirstStep, int delay, float[] expected)
    {
        var run = new EngineHarness(Net(
            [Flat("in", "input", 1), Flat("out", "passthrough", 1)],
            [Dense("j", "in", "out", [2f], [1f], delay, biasOnFirstStep)]));
        for (int t = 0; t < expected.Length; t++)
        {
            run.Step("in", _ => t == 4 ? [1f] : null);
            Assert.Equal(expected[t], run.Output("out")[0]);
        }
    }

    [Fact]
    public void A_delayed_self_projection_without_first_step_bias_adds_its_bias_from_step_lag_on()
    {
        // Previous step + delay 1 = lag 2: no bias at steps 0 and 1 (sinabs-style), then bias every step.
        var run = new EngineHarness(Net(
            [Flat("p", "passthrough", 1)],
            [Dense("rec", "p", "p", [0f], [0.5f], delay: 1, biasOnFirstStep: false)]));
        var seen = new List<float>();
        for (int t = 0; t < 4; t++)
        {
            run.Step();
            seen.Add(run.Output("p")[0]);
        }

        Assert.Equal([0f, 0f, 0.5f, 0.5f], seen);
    }

    [Fact]
    public void A_reset_empties_the_delay_line()
    {
        var run = new EngineHarness(Net(
            [Flat("in", "input", 1), Flat("out", "passthrough", 1)],
            [OneToOne("j", "in", "out", delay: 2)]));
        run.Step("in", _ => [1f]); // step 0
        run.Step();                // step 1
        run.Reset(0);
        run.Step();                // step 0 again: nothing from before the reset
        run.Step();
        run.Step();
        Assert.Equal(0f, run.Output("out")[0]);
        run.Step("in", _ => [3f]); // step 3
        run.Step();
        run.Step();
        Assert.Equal(3f, run.Output("out")[0]);
    }

    [Fact]
    public void Instances_keep_their_own_delay_lines_and_clocks()
    {
        var run = new EngineHarness(Net(
            [Flat("in", "input", 1), Flat("out", "passthrough", 1)],
            [OneToOne("j", "in", "out", delay: 3)],
            instances: 2));
        int[] both = [0, 1], first = [0];
        run.Step(both, "in", i => [i + 1f]); // instance 0 sends 1, instance 1 sends 2, at their step 0
        var out0 = new List<float>();
        var out1 = new List<float>();
        for (int k = 0; k < 6; k++)
        {
            // Instance 1 advances every other round only.
            run.Step(k % 2 == 0 ? first : both);
            out0.Add(run.Output("out", 0)[0]);
            out1.Add(run.Output("out", 1)[0]);
        }

        // Instance 0 steps 1..6: the spike of step 0 arrives at step 3 (k = 2).
        Assert.Equal([0f, 0f, 1f, 0f, 0f, 0f], out0);
        // Instance 1 steps at k = 1, 3, 5 (its steps 1, 2, 3): arrival at its step 3 (k = 5).
        Assert.Equal([0f, 0f, 0f, 0f, 0f, 2f], out1);
        Assert.Equal(7, run.Network.Instances[0].Step);
        Assert.Equal(4, run.Network.Instances[1].Step);
    }

    [Fact]
    public void Zero_delay_projections_have_no_delay_line()
    {
        var run = new EngineHarness(Net(
            [Flat("in", "input", 4), Flat("out", "passthrough", 4)],
            [OneToOne("a", "in", "out"), OneToOne("b", "out", "out"), OneToOne("c", "in", "out", delay: 2)],
            instances: 3));
        Assert.Equal([0L, 0L, 2L * 4], run.Network.Projections.Select(j => j.DelayLineValues));
        Assert.Equal(["c"], run.Network.Delayed.Select(j => j.Name));
        Assert.True(run.Network.Bytes >= 4L * 2 * 4 * 3);
    }
}
