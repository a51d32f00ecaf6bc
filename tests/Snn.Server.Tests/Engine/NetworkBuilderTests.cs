using Snn.Server.Engine;
using Snn.Server.Models;

namespace Snn.Server.Tests.Engine;

public sealed class NetworkBuilderTests
{
    private static readonly Dictionary<string, ParamValue> NoParams = [];

    internal static PopulationDefinition Pop(string name, int size, string model = "sinabs.IAF",
        Dictionary<string, ParamValue>? parameters = null) =>
        new(name, model, size, [], parameters ?? NoParams);

    internal static ProjectionDefinition Dense(string name, string source, string target, float[] weights, float[]? bias = null,
        bool biasOnFirstStep = true) =>
        new(name, source, target, ProjectionKind.Dense, weights, bias, biasOnFirstStep);

    internal static ProjectionDefinition OneToOne(string name, string source, string target, float[]? weights = null) =>
        new(name, source, target, ProjectionKind.OneToOne, weights ?? [], null, true);

    internal static NetworkDefinition Net(IReadOnlyList<PopulationDefinition> pops, IReadOnlyList<ProjectionDefinition> projections,
        int instances = 1, string name = "net") =>
        new(name, pops, projections, 0.001, ClockMode.Lockstep, instances, 1);

    private static Network Build(NetworkDefinition def) => NetworkBuilder.Build(def, new EngineLimits());

    [Fact]
    public void Order_follows_projections_and_marks_cycle_closing_ones_as_previous_step()
    {
        // Declared out of order on purpose: c, b, a with a -> b -> c, c -> a (closes a cycle), b -> b (self).
        var net = Build(Net(
            [Pop("c", 1), Pop("b", 1), Pop("a", 1, "input")],
            [
                Dense("ab", "a", "b", [1f]),
                Dense("bc", "b", "c", [1f]),
                Dense("ca", "c", "a", [1f]),
                Dense("bb", "b", "b", [1f]),
            ]));

        Assert.Equal(["a", "b", "c"], net.Order.Select(i => net.Populations[i].Name));
        Assert.Equal([true, true, false, false], net.Projections.Select(j => j.SameStep));
    }

    [Fact]
    public void Independent_populations_keep_declaration_order()
    {
        var net = Build(Net([Pop("x", 1), Pop("y", 1), Pop("z", 1)], [Dense("zy", "z", "y", [1f])]));
        Assert.Equal(["x", "z", "y"], net.Order.Select(i => net.Populations[i].Name));
    }

    [Theory]
    [InlineData("model", "spec.populations[0].model 'nope' is unknown")]
    [InlineData("size", "spec.populations[0].size is 0")]
    [InlineData("name", "spec.populations[1].name 'a' is used by another population")]
    [InlineData("target", "spec.projections[0].target 'ghost' is not a population")]
    [InlineData("weights", "spec.projections[0].dense.weights has 3 values; it needs target.size*source.size = 2*2 = 4")]
    [InlineData("nan", "spec.projections[0].dense.weights[1] is NaN")]
    [InlineData("bias", "spec.projections[0].dense.bias has 1 values")]
    [InlineData("onetoone", "spec.projections[0]: a one-to-one projection needs equal sizes")]
    [InlineData("param", "spec.populations[0].params.no_such_param")]
    [InlineData("perneuron", "spec.populations[0].params.spike_threshold has 3 values; a per-neuron parameter needs one per neuron (2)")]
    [InlineData("netname", "spec.name 'bad name!' is not a valid name")]
    [InlineData("instances", "spec.instances is 0")]
    public void Malformed_specs_are_refused_naming_the_field(string what, string expected)
    {
        var a = Pop("a", 2);
        var b = Pop("b", 2);
        NetworkDefinition def = what switch
        {
            "model" => Net([Pop("a", 2, "nope")], []),
            "size" => Net([Pop("a", 0)], []),
            "name" => Net([a, Pop("a", 2)], []),
            "target" => Net([a], [Dense("j", "a", "ghost", [1f])]),
            "weights" => Net([a, b], [Dense("j", "a", "b", [1f, 2f, 3f])]),
            "nan" => Net([a, b], [Dense("j", "a", "b", [1f, float.NaN, 0f, 0f])]),
            "bias" => Net([a, b], [Dense("j", "a", "b", [1f, 1f, 1f, 1f], [1f])]),
            "onetoone" => Net([a, Pop("c", 3)], [OneToOne("j", "a", "c")]),
            "param" => Net([Pop("a", 2, parameters: new() { ["no_such_param"] = ParamValue.Number(1) })], []),
            "perneuron" => Net([Pop("a", 2, parameters: new() { ["spike_threshold"] = ParamValue.Numbers([1f, 1f, 1f]) })], []),
            "netname" => Net([a], [], name: "bad name!"),
            "instances" => Net([a], [], instances: 0),
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };

        var e = Assert.Throws<EngineException>(() => Build(def));
        Assert.Equal(EngineError.InvalidArgument, e.Error);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
