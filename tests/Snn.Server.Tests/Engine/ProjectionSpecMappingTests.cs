using Snn.Protos.V1;
using Snn.Server.Engine;
using Snn.Server.Services;

namespace Snn.Server.Tests.Engine;

/// <summary>snn.v1 sparse, conv2d and sum_pool2d projections and delay_steps, to the engine and back (GetNetwork).</summary>
public sealed class ProjectionSpecMappingTests
{
    private static NetworkSpec Spec()
    {
        var spec = new NetworkSpec { Name = "mapped" };
        spec.Populations.Add(new PopulationSpec { Name = "in", Model = "input", Size = 2 * 5 * 5, Shape = { 2, 5, 5 } });
        spec.Populations.Add(new PopulationSpec { Name = "conv", Model = "sinabs.IAF", Size = 3 * 3 * 5, Shape = { 3, 3, 5 } });
        spec.Populations.Add(new PopulationSpec { Name = "pool", Model = "passthrough", Size = 3 * 1 * 2, Shape = { 3, 1, 2 } });
        spec.Populations.Add(new PopulationSpec { Name = "out", Model = "sinabs.IAF", Size = 4 });

        var conv = new Protos.V1.Conv2dProjection { KernelSize = { 3, 3 }, Stride = { 2, 1 }, Padding = { 1, 1 }, Bias = { 0.5f, 0f, -1f } };
        conv.Weights.Add(Enumerable.Range(0, 3 * 2 * 9).Select(k => k / 64f));
        spec.Projections.Add(new ProjectionSpec { Name = "c", Source = "in", Target = "conv", Conv2D = conv });
        spec.Projections.Add(new ProjectionSpec
        {
            Name = "p",
            Source = "conv",
            Target = "pool",
            SumPool2D = new Protos.V1.SumPool2dProjection { KernelSize = { 2, 2 }, Stride = { 2, 2 }, Padding = { 0, 0 } },
            DelaySteps = 3,
            BiasOnFirstStep = true,
        });
        spec.Projections.Add(new ProjectionSpec
        {
            Name = "s",
            Source = "pool",
            Target = "out",
            Sparse = new Protos.V1.SparseProjection { Pre = { 5, 0, 5, 2 }, Post = { 0, 3, 0, 1 }, Weights = { 1f, 2f, 3f, 4f }, Bias = { 1, 2, 3, 4 } },
        });
        spec.Projections.Add(new ProjectionSpec
        {
            Name = "rec",
            Source = "out",
            Target = "out",
            Sparse = new Protos.V1.SparseProjection { Pre = { 1 }, Post = { 2 }, Weights = { 0.5f } },
            DelaySteps = 2,
            BiasOnFirstStep = false,
        });
        return spec;
    }

    [Fact]
    public void New_kinds_and_delays_survive_the_round_trip_with_weights()
    {
        var spec = Spec();
        var network = NetworkBuilder.Build(SpecMapping.ToDefinition(spec), new EngineLimits());
        var back = SpecMapping.ToProto(network, includeWeights: true);

        var expected = spec.Clone();
        expected.Dt = SpecMapping.DefaultDt;
        expected.Instances = 1;
        expected.RealtimeFactor = 1;
        expected.Clock = Protos.V1.ClockMode.Lockstep;
        Assert.Equal(expected.Projections, back.Spec.Projections);
        Assert.Equal([true, true, true, false], back.SameStep);
        Assert.Equal((ulong)(3 * 2 * 9 + 4 + 1), back.Synapses);
        Assert.Equal(3, network.Projections[1].Lag);
        Assert.Equal(3, network.Projections[3].Lag);
    }

    [Fact]
    public void Without_weights_the_geometry_and_delays_remain()
    {
        var network = NetworkBuilder.Build(SpecMapping.ToDefinition(Spec()), new EngineLimits());
        var back = SpecMapping.ToProto(network, includeWeights: false).Spec.Projections;
        Assert.Empty(back[0].Conv2D.Weights);
        Assert.Empty(back[0].Conv2D.Bias);
        Assert.Equal([3u, 3u], back[0].Conv2D.KernelSize);
        Assert.Equal([2u, 1u], back[0].Conv2D.Stride);
        Assert.Equal(ProjectionSpec.KindOneofCase.SumPool2D, back[1].KindCase);
        Assert.Equal(3u, back[1].DelaySteps);
        Assert.Equal(ProjectionSpec.KindOneofCase.Sparse, back[2].KindCase);
        Assert.Empty(back[2].Sparse.Pre);
        Assert.False(back[2].HasBiasOnFirstStep); // lag 0: the flag means nothing
        Assert.False(back[3].BiasOnFirstStep);
    }

    [Fact]
    public void Defaults_and_single_values_expand_to_both_axes()
    {
        var spec = Spec();
        spec.Projections[0].Conv2D.KernelSize.Clear();
        spec.Projections[0].Conv2D.KernelSize.Add(3);
        spec.Projections[0].Conv2D.Padding.Clear();
        spec.Projections[0].Conv2D.Padding.Add(1);
        spec.Projections[1].SumPool2D.Stride.Clear();
        spec.Projections[1].SumPool2D.Padding.Clear();
        var network = NetworkBuilder.Build(SpecMapping.ToDefinition(spec), new EngineLimits());
        var back = SpecMapping.ToProto(network, includeWeights: false).Spec.Projections;
        Assert.Equal([1u, 1u], back[0].Conv2D.Padding);
        Assert.Equal([2u, 2u], back[1].SumPool2D.Stride);
        Assert.Equal([0u, 0u], back[1].SumPool2D.Padding);
    }

    [Fact]
    public void A_projection_without_kind_or_with_an_index_beyond_int_is_refused_naming_the_field()
    {
        var spec = Spec();
        spec.Projections[2].Sparse.Pre[1] = uint.MaxValue;
        var e = Assert.Throws<EngineException>(() => SpecMapping.ToDefinition(spec));
        Assert.Contains("spec.projections[2].sparse.pre[1] is 4294967295", e.Message, StringComparison.Ordinal);

        spec = Spec();
        spec.Projections[1].ClearKind();
        e = Assert.Throws<EngineException>(() => SpecMapping.ToDefinition(spec));
        Assert.Contains("spec.projections[1] has no kind; set one of dense, one_to_one, sparse, conv2d, sum_pool2d", e.Message, StringComparison.Ordinal);

        spec = Spec();
        spec.Projections[1].DelaySteps = uint.MaxValue;
        e = Assert.Throws<EngineException>(() => SpecMapping.ToDefinition(spec));
        Assert.Contains("spec.projections[1].delay_steps is 4294967295", e.Message, StringComparison.Ordinal);

        spec.Projections[1].DelaySteps = 5000;
        e = Assert.Throws<EngineException>(() => NetworkBuilder.Build(SpecMapping.ToDefinition(spec), new EngineLimits()));
        Assert.Contains("spec.projections[1].delay_steps is 5000; it must be 0..4096 (Snn:Limits:MaxDelaySteps)", e.Message, StringComparison.Ordinal);
    }
}
