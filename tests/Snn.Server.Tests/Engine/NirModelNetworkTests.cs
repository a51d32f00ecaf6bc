using Snn.Server.Engine;
using Snn.Server.Tests.Models;
using static Snn.Server.Tests.Engine.EngineHarness;

namespace Snn.Server.Tests.Engine;

/// <summary>
/// The models the NIR importers build, stepped by the engine rather than the bare kernel: each
/// transcribed case as input → model → passthrough, batch rows as instances. The model's output
/// (spikes, or v for the non-spiking norse.LIBox and sinabs.ExpLeak) must reach the next
/// population unchanged, and an RSynaptic self-projection must act as its recurrent input.
/// </summary>
public sealed class NirModelNetworkTests
{
    public static TheoryData<string> Cases() =>
        new(RefCase.Names().Where(n => n.StartsWith(RefCase.TranscribedPrefix, StringComparison.Ordinal)));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Engine_steps_the_transcribed_case_and_carries_the_output_on(string caseName)
    {
        var c = RefCase.Load(caseName);
        int n = c.Neurons;
        var projections = new List<ProjectionDefinition>
        {
            OneToOne("in_m", "in", "m"),
            OneToOne("m_out", "m", "out"),
        };
        if (c.Root.TryGetProperty("weights", out var w))
        {
            // snntorch's recurrent Linear (with bias, added from step 0) or one-to-one V, as the self-projection.
            projections.Add(w.TryGetProperty("rec_weight", out var rw)
                ? Dense("rec", "m", "m", RefCase.Matrix(rw).SelectMany(r => r).ToArray(), RefCase.Vector(w.GetProperty("rec_bias")))
                : OneToOne("rec", "m", "m", RefCase.Vector(w.GetProperty("V"))));
        }

        var harness = new EngineHarness(Net(
            [Flat("in", "input", n), new PopulationDefinition("m", c.ServerModel, n, [], c.ServerParams()), Flat("out", "passthrough", n)],
            projections, c.Batch));
        var model = harness["m"];
        for (int t = 0; t < c.Time; t++)
        {
            harness.Step("in", b => c.Input[b][t]);
            for (int b = 0; b < c.Batch; b++)
            {
                string at = $"{caseName}, instance {b}, step {t}";
                AssertBits(c.Spikes[b][t], harness.Output("m", b), $"{at}: output");
                AssertBits(c.Spikes[b][t], harness.Output("out", b), $"{at}: output passed on");
                for (int s = 0; s < model.Model.StateVariables.Count; s++)
                {
                    string name = model.Model.StateVariables[s];
                    AssertBits(c.States[name][b][t], model.Slice(model.State[s], b).ToArray(), $"{at}: {name}");
                }
            }
        }

        // The non-spiking models' output is graded and signed: it is their v, not a spike.
        if (c.ServerModel is "norse.LIBox" or "sinabs.ExpLeak")
        {
            Assert.Contains(c.Spikes.SelectMany(b => b).SelectMany(r => r), v => v < 0f);
        }
    }

    private static void AssertBits(float[] expected, float[] actual, string where)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]) || (expected[i] == 0f && actual[i] == 0f),
                $"{where}[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
        }
    }
}
