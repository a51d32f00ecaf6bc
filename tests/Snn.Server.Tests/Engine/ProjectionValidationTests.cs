using Snn.Server.Engine;
using static Snn.Server.Tests.Engine.EngineHarness;

namespace Snn.Server.Tests.Engine;

/// <summary>Malformed sparse, conv2d, sum pooling and delayed projections are refused with the field named.</summary>
public sealed class ProjectionValidationTests
{
    private static readonly PopulationDefinition In = Shaped("in", "input", 2, 12, 12);
    private static readonly PopulationDefinition Out = Shaped("out", "passthrough", 4, 12, 12);

    private static float[] Zeros(int n) => new float[n];

    [Theory]
    [InlineData("conv-weights", "spec.projections[0].conv2d.weights has 10 values; it needs out_c*in_c*kh*kw = 4*2*3*3 = 72")]
    [InlineData("conv-output",
        "spec.projections[0].conv2d: source 'in' [2,12,12] with kernel_size [3,3], stride [1,1], padding [0,0] gives an output of shape [4,10,10] (floor((H+2p-k)/s)+1); target 'out' has shape [4,12,12]")]
    [InlineData("conv-stride", "spec.projections[0].conv2d: source 'in' [2,12,12] with kernel_size [3,3], stride [2,1], padding [1,1] gives an output of shape [4,6,12]")]
    [InlineData("conv-noshape", "spec.projections[0].conv2d: source 'flat' has no shape (size 288); a conv2d projection needs source and target populations of shape [C,H,W]")]
    [InlineData("conv-2d-shape", "spec.projections[0].conv2d: target 'hw' has shape [12,12]; a conv2d projection needs")]
    [InlineData("conv-nokernel", "spec.projections[0].conv2d.kernel_size has 0 values; give [y, x] or one value for both")]
    [InlineData("conv-kernel3", "spec.projections[0].conv2d.kernel_size has 3 values")]
    [InlineData("conv-stride0", "spec.projections[0].conv2d.stride is [0,0]; each value must be 1..65536")]
    [InlineData("conv-bigkernel", "spec.projections[0].conv2d: the kernel does not fit source 'in' [2,12,12] with kernel_size [13,3]")]
    [InlineData("conv-bias", "spec.projections[0].conv2d.bias has 3 values; it needs one per output channel (out_c = 4)")]
    [InlineData("conv-nan", "spec.projections[0].conv2d.weights[5] is NaN")]
    [InlineData("pool-channels",
        "spec.projections[0].sum_pool2d: source 'in' [2,12,12] with kernel_size [2,2], stride [2,2], padding [0,0] gives an output of shape [2,6,6] (floor((H+2p-k)/s)+1, channels unchanged); target 'p3' has shape [3,6,6]")]
    [InlineData("pool-size", "gives an output of shape [2,4,4] (floor((H+2p-k)/s)+1, channels unchanged); target 'p2' has shape [2,6,6]")]
    [InlineData("pool-weights", "spec.projections[0].sum_pool2d: a sum pooling projection has no weights or bias")]
    [InlineData("pool-padding", "spec.projections[0].sum_pool2d.padding has 3 values")]
    [InlineData("sparse-lengths",
        "spec.projections[0].sparse has 2 pre, 3 post and 3 weights; they must have equal lengths (one (pre, post, weight) triple per synapse)")]
    [InlineData("sparse-pre", "spec.projections[0].sparse.pre[1] is 288; source 'in' has 288 neurons (0..287)")]
    [InlineData("sparse-post", "spec.projections[0].sparse.post[2] is -1; target 'out' has 576 neurons (0..575)")]
    [InlineData("sparse-bias", "spec.projections[0].sparse.bias has 2 values; it needs one per target neuron (576)")]
    [InlineData("sparse-inf", "spec.projections[0].sparse.weights[0] is ")]
    [InlineData("delay-large", "spec.projections[0].delay_steps is 4097; it must be 0..4096 (Snn:Limits:MaxDelaySteps)")]
    [InlineData("delay-negative", "spec.projections[0].delay_steps is -1; it must be 0..4096 (Snn:Limits:MaxDelaySteps)")]
    [InlineData("onetoone-bias", "spec.projections[0]: a one-to-one projection has no bias")]
    public void Malformed_projections_are_refused_naming_the_field(string what, string expected)
    {
        NetworkDefinition def = what switch
        {
            "conv-weights" => Net([In, Out], [Conv("c", "in", "out", Zeros(10), [3], padding: [1])]),
            "conv-output" => Net([In, Out], [Conv("c", "in", "out", Zeros(72), [3])]),
            "conv-stride" => Net([In, Out], [Conv("c", "in", "out", Zeros(72), [3], stride: [2, 1], padding: [1])]),
            "conv-noshape" => Net([Flat("flat", "input", 288), Out], [Conv("c", "flat", "out", Zeros(72), [3], padding: [1])]),
            "conv-2d-shape" => Net([In, Shaped("hw", "passthrough", 12, 12)], [Conv("c", "in", "hw", Zeros(72), [3], padding: [1])]),
            "conv-nokernel" => Net([In, Out], [Conv("c", "in", "out", Zeros(72), [])]),
            "conv-kernel3" => Net([In, Out], [Conv("c", "in", "out", Zeros(72), [3, 3, 3])]),
            "conv-stride0" => Net([In, Out], [Conv("c", "in", "out", Zeros(72), [3], stride: [0], padding: [1])]),
            "conv-bigkernel" => Net([In, Out], [Conv("c", "in", "out", Zeros(72), [13, 3])]),
            "conv-bias" => Net([In, Out], [Conv("c", "in", "out", Zeros(72), [3], padding: [1], bias: [1f, 2f, 3f])]),
            "conv-nan" => Net([In, Out], [Conv("c", "in", "out", Zeros(72).Select((v, i) => i == 5 ? float.NaN : v).ToArray(), [3], padding: [1])]),
            "pool-channels" => Net([In, Shaped("p3", "passthrough", 3, 6, 6)], [Pool("p", "in", "p3", [2])]),
            "pool-size" => Net([In, Shaped("p2", "passthrough", 2, 6, 6)], [Pool("p", "in", "p2", [3])]),
            "pool-weights" => Net([In, Shaped("p2", "passthrough", 2, 6, 6)],
                [new ProjectionDefinition("p", "in", "p2", ProjectionKind.SumPool2d, [1f], null, true) { KernelSize = [2] }]),
            "pool-padding" => Net([In, Shaped("p2", "passthrough", 2, 6, 6)], [Pool("p", "in", "p2", [2], padding: [0, 0, 0])]),
            "sparse-lengths" => Net([In, Out], [Sparse("s", "in", "out", [0, 1], [0, 1, 2], [1f, 1f, 1f])]),
            "sparse-pre" => Net([In, Out], [Sparse("s", "in", "out", [0, 288], [0, 1], [1f, 1f])]),
            "sparse-post" => Net([In, Out], [Sparse("s", "in", "out", [0, 1, 2], [0, 1, -1], [1f, 1f, 1f])]),
            "sparse-bias" => Net([In, Out], [Sparse("s", "in", "out", [0], [0], [1f], bias: [1f, 2f])]),
            "sparse-inf" => Net([In, Out], [Sparse("s", "in", "out", [0], [0], [float.PositiveInfinity])]),
            "delay-large" => Net([In, Out], [Pool("p", "in", "out", [1], delay: 4097)]),
            "delay-negative" => Net([In, Out], [Sparse("s", "in", "out", [], [], [], delay: -1)]),
            "onetoone-bias" => Net([Flat("a", "input", 2), Flat("b", "passthrough", 2)],
                [new ProjectionDefinition("j", "a", "b", ProjectionKind.OneToOne, [], [1f, 1f], true)]),
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };

        var e = Assert.Throws<EngineException>(() => NetworkBuilder.Build(def, new EngineLimits()));
        Assert.Equal(EngineError.InvalidArgument, e.Error);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Delay_lines_count_against_the_state_value_limit()
    {
        var limits = new EngineLimits { MaxStateValuesPerNetwork = 10_000 };
        // Populations: 2 × 100 × 3 = 600 values; a delay line of 100 steps × 100 neurons goes over.
        var def = Net([Flat("a", "input", 100), Flat("b", "passthrough", 100)], [OneToOne("j", "a", "b", delay: 100)]);
        var e = Assert.Throws<EngineException>(() => NetworkBuilder.Build(def, limits));
        Assert.Contains("spec.projections[0].delay_steps 100: the delay lines need more than 10000 state values", e.Message, StringComparison.Ordinal);

        NetworkBuilder.Build(def with { Projections = [OneToOne("j", "a", "b", delay: 90)] }, limits);
    }

    [Fact]
    public void Sparse_synapses_count_against_the_synapse_limit()
    {
        var limits = new EngineLimits { MaxSynapsesPerNetwork = 3 };
        var def = Net([Flat("a", "input", 4), Flat("b", "passthrough", 4)],
            [Sparse("s", "a", "b", [0, 1, 2, 3], [0, 1, 2, 3], [1f, 1f, 1f, 1f])]);
        var e = Assert.Throws<EngineException>(() => NetworkBuilder.Build(def, limits));
        Assert.Contains("more than 3 synapses", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cycle_without_delays_is_accepted_and_closed_by_a_previous_step_projection()
    {
        var run = new EngineHarness(Net(
            [Shaped("in", "input", 1, 4, 4), Shaped("a", "passthrough", 1, 4, 4), Shaped("b", "passthrough", 1, 2, 2)],
            [
                OneToOne("in_a", "in", "a"),
                Pool("ab", "a", "b", [2]),
                Sparse("ba", "b", "a", [0, 3], [0, 15], [1f, 1f]),
            ]));
        Assert.Equal([true, true, false], run.Network.Projections.Select(j => j.SameStep));
    }
}
