using Snn.Server.Engine;
using static Snn.Server.Tests.Engine.EngineHarness;

namespace Snn.Server.Tests.Engine;

/// <summary>
/// Each projection kind against a naive reference computed in float64. Weights are multiples of 1/64
/// and inputs small integer counts, so every partial sum is exact and the results must agree bit for bit
/// whatever the summation order (refnets README, the 1/64 claim).
/// </summary>
public sealed class ProjectionKindTests
{
    /// <summary>out[o,y,x] = bias[o] + Σ w[o,i,ky,kx] · in[i, y·sy − py + ky, x·sx − px + kx], zero outside.</summary>
    private static float[] NaiveConv(float[] input, int inC, int h, int w, float[] weights, float[]? bias, int outC,
        int kh, int kw, int sy, int sx, int py, int px, int ho, int wo)
    {
        var result = new float[outC * ho * wo];
        for (int o = 0; o < outC; o++)
        {
            for (int y = 0; y < ho; y++)
            {
                for (int x = 0; x < wo; x++)
                {
                    double sum = bias?[o] ?? 0;
                    for (int i = 0; i < inC; i++)
                    {
                        for (int ky = 0; ky < kh; ky++)
                        {
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int iy = y * sy - py + ky, ix = x * sx - px + kx;
                                if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                                {
                                    sum += (double)weights[((o * inC + i) * kh + ky) * kw + kx] * input[(i * h + iy) * w + ix];
                                }
                            }
                        }
                    }

                    result[(o * ho + y) * wo + x] = (float)sum;
                }
            }
        }

        return result;
    }

    private static int Out(int size, int k, int s, int p) => (size + 2 * p - k) / s + 1;

    [Theory]
    [InlineData(2, 12, 12, 4, 3, 3, 1, 1, 1, 1)] // the reference convnet's layer
    [InlineData(3, 7, 9, 2, 3, 2, 2, 1, 1, 0)]   // non-square kernel and input, stride on one axis
    [InlineData(1, 5, 5, 3, 5, 5, 1, 1, 0, 0)]   // kernel as large as the input
    [InlineData(2, 8, 6, 3, 2, 3, 3, 2, 2, 1)]   // stride 3×2, padding 2×1
    [InlineData(1, 4, 4, 1, 1, 1, 1, 1, 0, 0)]   // 1×1
    [InlineData(2, 5, 7, 2, 3, 3, 2, 3, 3, 2)]   // padding as large as the kernel: border outputs see only zeros
    [InlineData(4, 6, 5, 5, 4, 2, 3, 2, 0, 1)]   // overlapping rows, odd sizes
    public void Conv2d_matches_a_naive_convolution(int inC, int h, int w, int outC, int kh, int kw, int sy, int sx, int py, int px)
    {
        var rng = new Random(inC * 1000 + h * 100 + kh * 10 + sy);
        int ho = Out(h, kh, sy, py), wo = Out(w, kw, sx, px);
        var weights = Dyadic(rng, outC * inC * kh * kw);
        var bias = Dyadic(rng, outC);
        var run = new EngineHarness(Net(
            [Shaped("in", "input", inC, h, w), Shaped("out", "passthrough", outC, ho, wo)],
            [Conv("conv", "in", "out", weights, [kh, kw], [sy, sx], [py, px], bias)]));

        for (int t = 0; t < 5; t++)
        {
            var input = Counts(rng, inC * h * w, rate: t == 4 ? 1.0 : 0.3);
            run.Step("in", _ => input);
            var expected = NaiveConv(input, inC, h, w, weights, bias, outC, kh, kw, sy, sx, py, px, ho, wo);
            Assert.Equal(expected, run.Output("out"));
        }
    }

    [Fact]
    public void Conv2d_defaults_to_stride_1_and_no_padding_and_takes_one_value_for_both_axes()
    {
        var rng = new Random(7);
        var weights = Dyadic(rng, 2 * 1 * 3 * 3);
        var run = new EngineHarness(Net(
            [Shaped("in", "input", 1, 6, 5), Shaped("out", "passthrough", 2, 4, 3)],
            [Conv("conv", "in", "out", weights, [3])]));
        var input = Counts(rng, 30, rate: 0.5);
        run.Step("in", _ => input);
        Assert.Equal(NaiveConv(input, 1, 6, 5, weights, null, 2, 3, 3, 1, 1, 0, 0, 4, 3), run.Output("out"));
    }

    [Fact]
    public void Conv2d_adds_into_the_input_already_there_and_adds_its_bias_without_spikes()
    {
        var rng = new Random(3);
        var run = new EngineHarness(Net(
            [Shaped("in", "input", 1, 3, 3), Shaped("out", "passthrough", 2, 3, 3)],
            [Conv("conv", "in", "out", Dyadic(rng, 2 * 9), [3], padding: [1], bias: [0.5f, -0.25f])]));
        var conv = run.Network.Projections[0];
        var target = Enumerable.Repeat(1f, 18).ToArray();
        conv.Deliver(new float[9], target, new float[18], addBias: true);
        Assert.Equal(Enumerable.Repeat(1.5f, 9).Concat(Enumerable.Repeat(0.75f, 9)), target);

        conv.Deliver(new float[9], target, new float[18], addBias: false);
        Assert.Equal(Enumerable.Repeat(1.5f, 9).Concat(Enumerable.Repeat(0.75f, 9)), target);
    }

    private static float[] NaivePool(float[] input, int c, int h, int w, int kh, int kw, int sy, int sx, int py, int px, int ho, int wo)
    {
        var result = new float[c * ho * wo];
        for (int ch = 0; ch < c; ch++)
        {
            for (int y = 0; y < ho; y++)
            {
                for (int x = 0; x < wo; x++)
                {
                    double sum = 0;
                    for (int ky = 0; ky < kh; ky++)
                    {
                        for (int kx = 0; kx < kw; kx++)
                        {
                            int iy = y * sy - py + ky, ix = x * sx - px + kx;
                            if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                            {
                                sum += input[(ch * h + iy) * w + ix];
                            }
                        }
                    }

                    result[(ch * ho + y) * wo + x] = (float)sum;
                }
            }
        }

        return result;
    }

    [Theory]
    [InlineData(4, 12, 12, 2, 2, 0, 0, 0, 0)] // sinabs SumPool2d(2): stride = kernel
    [InlineData(2, 7, 7, 2, 2, 0, 0, 0, 0)]   // odd size: the last row and column fall out (floor)
    [InlineData(3, 6, 8, 3, 2, 1, 2, 1, 0)]   // overlapping windows, padding on one axis
    [InlineData(1, 5, 9, 3, 3, 2, 3, 1, 1)]
    [InlineData(2, 4, 6, 1, 3, 1, 3, 0, 0)]   // non-square kernel
    public void Sum_pooling_matches_naive_window_sums(int c, int h, int w, int kh, int kw, int sy, int sx, int py, int px)
    {
        var rng = new Random(c * 100 + h * 10 + kh);
        int esy = sy == 0 ? kh : sy, esx = sx == 0 ? kw : sx;
        int ho = Out(h, kh, esy, py), wo = Out(w, kw, esx, px);
        var run = new EngineHarness(Net(
            [Shaped("in", "input", c, h, w), Shaped("out", "passthrough", c, ho, wo)],
            [Pool("pool", "in", "out", [kh, kw], sy == 0 ? null : [sy, sx], [py, px])]));

        for (int t = 0; t < 4; t++)
        {
            var input = Counts(rng, c * h * w, rate: t == 3 ? 1.0 : 0.4);
            run.Step("in", _ => input);
            Assert.Equal(NaivePool(input, c, h, w, kh, kw, esy, esx, py, px, ho, wo), run.Output("out"));
        }
    }

    [Fact]
    public void Sparse_sums_every_triple_including_duplicates_in_the_given_order()
    {
        var rng = new Random(11);
        const int ns = 20, nt = 13, n = 120;
        var pre = Enumerable.Range(0, n).Select(_ => rng.Next(ns)).ToArray();
        var post = Enumerable.Range(0, n).Select(_ => rng.Next(nt)).ToArray();
        // Force duplicates of one (pre, post) pair, separated by other synapses.
        pre[5] = pre[50] = pre[99] = 3;
        post[5] = post[50] = post[99] = 7;
        var weights = Dyadic(rng, n);
        var bias = Dyadic(rng, nt);
        var run = new EngineHarness(Net(
            [Flat("in", "input", ns), Flat("out", "passthrough", nt)],
            [Sparse("sp", "in", "out", pre, post, weights, bias)]));

        for (int t = 0; t < 5; t++)
        {
            var input = Counts(rng, ns, rate: t == 0 ? 1.0 : 0.3);
            input[3] = 2f;
            run.Step("in", _ => input);
            var expected = new double[nt];
            for (int k = 0; k < nt; k++)
            {
                expected[k] = bias[k];
            }

            for (int k = 0; k < n; k++)
            {
                expected[post[k]] += (double)weights[k] * input[pre[k]];
            }

            Assert.Equal(expected.Select(v => (float)v), run.Output("out"));
        }
    }

    [Fact]
    public void Sparse_duplicates_add_one_after_the_other_in_the_given_order()
    {
        // Non-dyadic on purpose: in float32, (1 + 6e-8) + 6e-8 = 1 + 2 ulp but 1 + (6e-8 + 6e-8) = 1 + 1 ulp.
        float big = 1f, small = 6e-8f;
        var run = new EngineHarness(Net(
            [Flat("in", "input", 2), Flat("out", "passthrough", 1)],
            [Sparse("sp", "in", "out", [0, 1, 0, 0, 1], [0, 0, 0, 0, 0], [big, 5f, small, small, -5f])]));
        run.Step("in", _ => [1f, 0f]);
        float expected = 0f;
        expected += big;
        expected += small;
        expected += small;
        Assert.NotEqual(big + (small + small), expected);
        Assert.Equal(expected, run.Output("out")[0]);
    }

    [Theory]
    [InlineData(new[] { 2, 0, 2, 1 }, new[] { 0, 1, 1, 0 }, 50f, 50f)] // unsorted: a permutation is kept
    [InlineData(new[] { 0, 1, 2, 2 }, new[] { 1, 0, 1, 0 }, 60f, 40f)] // sorted by source: 8 bytes per synapse
    public void Sparse_weights_come_back_and_are_replaced_in_the_spec_order(int[] pre, int[] post, float out0, float out1)
    {
        var run = new EngineHarness(Net(
            [Flat("in", "input", 3), Flat("out", "passthrough", 2)],
            [Sparse("sp", "in", "out", pre, post, [1f, 2f, 3f, 4f])]));
        var sp = (SparseProjection)run.Network.Projections[0];
        Assert.Equal([1f, 2f, 3f, 4f], sp.CopyWeights());
        Assert.Equal(pre, sp.CopyPre());
        Assert.Equal(post, sp.CopyPost());
        Assert.Equal(4, sp.Synapses);
        bool sorted = pre.SequenceEqual(pre.Order());
        Assert.Equal(sp.Bytes, 4L * (4 + 4 + (3 + 1)) + (sorted ? 0 : 16));

        sp.Install(sp.PrepareWeights([10f, 20f, 30f, 40f], null, "projections[0]"));
        Assert.Equal([10f, 20f, 30f, 40f], sp.CopyWeights());
        run.Step("in", _ => [1f, 1f, 1f]);
        Assert.Equal([out0, out1], run.Output("out"));

        var e = Assert.Throws<EngineException>(() => sp.PrepareWeights([1f], null, "projections[0]"));
        Assert.Contains("projections[0].weights has 1 values; sparse projection 'sp' has 4 synapses", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Conv2d_weights_are_replaced_in_the_spec_layout()
    {
        var rng = new Random(5);
        var run = new EngineHarness(Net(
            [Shaped("in", "input", 2, 4, 4), Shaped("out", "passthrough", 3, 2, 2)],
            [Conv("conv", "in", "out", Dyadic(rng, 3 * 2 * 3 * 3), [3])]));
        var conv = run.Network.Projections[0];
        var replacement = Dyadic(rng, 3 * 2 * 3 * 3);
        var bias = Dyadic(rng, 3);
        conv.Install(conv.PrepareWeights(replacement, bias, "projections[0]"));
        Assert.Equal(replacement, conv.CopyWeights());
        Assert.Equal(bias, conv.CopyBias());

        var input = Counts(rng, 32, rate: 0.6);
        run.Step("in", _ => input);
        Assert.Equal(NaiveConv(input, 2, 4, 4, replacement, bias, 3, 3, 3, 1, 1, 0, 0, 2, 2), run.Output("out"));
    }

    [Fact]
    public void Synapses_count_stored_weights()
    {
        var run = new EngineHarness(Net(
            [Shaped("in", "input", 2, 6, 6), Shaped("c", "passthrough", 4, 6, 6), Shaped("p", "passthrough", 4, 3, 3)],
            [
                Conv("conv", "in", "c", new float[4 * 2 * 3 * 3], [3], padding: [1]),
                Pool("pool", "c", "p", [2]),
                Sparse("sp", "p", "p", [0, 1, 1], [2, 3, 3], [1f, 1f, 1f]),
            ]));
        Assert.Equal([72L, 0L, 3L], run.Network.Projections.Select(j => j.Synapses));
        Assert.Equal(75, run.Network.Synapses);
    }

    [Fact]
    public void Deliver_and_the_step_allocate_nothing()
    {
        var rng = new Random(1);
        var run = new EngineHarness(Net(
            [
                Shaped("in", "input", 2, 8, 8), Shaped("c", "sinabs.IAF", 3, 8, 8), Shaped("p", "passthrough", 3, 4, 4),
                Flat("d", "sinabs.IAF", 10), Flat("s", "sinabs.IAF", 10),
            ],
            [
                Conv("conv", "in", "c", Dyadic(rng, 3 * 2 * 3 * 3), [3], padding: [1], bias: Dyadic(rng, 3)),
                Pool("pool", "c", "p", [2], delay: 2),
                Dense("fc", "p", "d", Dyadic(rng, 10 * 48), Dyadic(rng, 10), delay: 1, biasOnFirstStep: false),
                Sparse("sp", "d", "s", [0, 1, 2, 2], [0, 0, 1, 9], [0.5f, 0.5f, 1f, 2f], delay: 3),
                Sparse("rec", "s", "s", [0, 9], [1, 0], [0.25f, -0.5f], delay: 2),
                OneToOne("back", "s", "d", delay: 1),
            ],
            instances: 3));
        var input = Counts(rng, 128, rate: 0.5);
        run.Step("in", _ => input); // the input population's current now repeats every step
        for (int t = 0; t < 20; t++)
        {
            run.StepRepeatingInput();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int t = 0; t < 200; t++)
        {
            run.StepRepeatingInput();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.True(run.Output("s").Any(v => v != 0f), "the chain should be active");
    }
}
