using static Snn.Server.Tests.Engine.EngineHarness;

namespace Snn.Server.Tests.Engine;

/// <summary>
/// refnets finding 3: SumPool2d → Flatten → Linear with no neuron layer between is one dense projection
/// with composed weights W[o][c·144 + y·12 + x] = fc[o][c·36 + (y/2)·6 + x/2]. The same chain written
/// with a passthrough population must give the same bits.
/// </summary>
public sealed class ComposedChainTests
{
    [Fact]
    public void Pool_then_passthrough_then_dense_equals_the_composed_dense_projection()
    {
        const int c = 4, h = 12, w = 12, ph = 6, pw = 6, outputs = 10;
        var rng = new Random(2024);
        var fc = Dyadic(rng, outputs * c * ph * pw);
        var bias = Dyadic(rng, outputs);
        var composed = new float[outputs * c * h * w];
        for (int o = 0; o < outputs; o++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                for (int y = 0; y < h; y++)
                {
                    for (int x = 0; x < w; x++)
                    {
                        composed[o * c * h * w + ch * h * w + y * w + x] = fc[o * c * ph * pw + ch * ph * pw + y / 2 * pw + x / 2];
                    }
                }
            }
        }

        var chain = new EngineHarness(Net(
            [Shaped("in", "input", c, h, w), Shaped("pooled", "passthrough", c, ph, pw), Flat("lif", "sinabs.IAF", outputs)],
            [Pool("pool", "in", "pooled", [2]), Dense("fc", "pooled", "lif", fc, bias)],
            instances: 2));
        var direct = new EngineHarness(Net(
            [Shaped("in", "input", c, h, w), Flat("lif", "sinabs.IAF", outputs)],
            [Dense("fc", "in", "lif", composed, bias)],
            instances: 2));

        int spikes = 0;
        for (int t = 0; t < 60; t++)
        {
            var frames = new[] { Counts(rng, c * h * w, rate: 0.2, max: 2), Counts(rng, c * h * w, rate: 0.05) };
            chain.Step("in", i => frames[i]);
            direct.Step("in", i => frames[i]);
            for (int i = 0; i < 2; i++)
            {
                var expected = direct.Output("lif", i);
                Assert.Equal(expected, chain.Output("lif", i));
                var vc = chain["lif"].Slice(chain["lif"].State[0], i).ToArray();
                var vd = direct["lif"].Slice(direct["lif"].State[0], i).ToArray();
                Assert.Equal(vd, vc);
                spikes += expected.Count(v => v != 0f);
            }
        }

        Assert.True(spikes > 20, $"only {spikes} spikes: the comparison would prove little");
    }
}
