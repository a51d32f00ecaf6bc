using Snn.Client.Specs;
using Snn.Protos.V1;

namespace Snn.Client.Tests.Specs;

/// <summary>Spec files, JSON and YAML, read into one NetworkSpec; mistakes name file, line and field.</summary>
public sealed class NetworkSpecFileTests : IDisposable
{
    private const string Json = """
        {
          "name": "ff",
          "dt": 0.001,
          "clock": "CLOCK_MODE_LOCKSTEP",
          "populations": [
            { "name": "in", "model": "input", "size": 3 },
            { "name": "lif", "model": "snntorch.Leaky", "size": 2, "shape": [2],
              "params": { "beta": { "scalar": 0.9 }, "reset_mechanism": { "text": "zero" }, "threshold": { "perNeuron": { "values": [1, 2] } } } }
          ],
          "projections": [
            { "name": "fc", "source": "in", "target": "lif", "dense": { "weights": [1, 0, 0, 0, 1, 0.5], "bias": [0.1, 0.2] }, "bias_on_first_step": false }
          ]
        }
        """;

    private const string Yaml = """
        # the same network as Json, in YAML
        name: ff
        dt: 1e-3
        clock: CLOCK_MODE_LOCKSTEP
        populations:
          - {name: in, model: input, size: 3}
          - name: lif
            model: snntorch.Leaky
            size: 2
            shape: [2]
            params:
              beta: {scalar: 0.9}
              reset_mechanism: {text: zero}
              threshold: {perNeuron: {values: [1, 2]}}
        projections:
          - name: fc
            source: in
            target: lif
            dense:
              weights: [1, 0, 0, 0, 1, 0.5]
              bias: [0.1, 0.2]
            bias_on_first_step: false
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("snn-specfile-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Json_and_yaml_give_the_same_spec()
    {
        var fromJson = NetworkSpecFile.Parse(Json, "spec.json").Spec;
        var fromYaml = NetworkSpecFile.Parse(Yaml, "spec.yaml").Spec;

        Assert.Equal(fromJson, fromYaml);
        Assert.Equal("ff", fromJson.Name);
        Assert.Equal(ClockMode.Lockstep, fromJson.Clock);
        Assert.Equal(0.9, fromJson.Populations[1].Params["beta"].Scalar);
        Assert.Equal([1f, 2f], fromJson.Populations[1].Params["threshold"].PerNeuron.Values);
        Assert.Equal([1f, 0f, 0f, 0f, 1f, 0.5f], fromJson.Projections[0].Dense.Weights);
        Assert.False(fromJson.Projections[0].BiasOnFirstStep);
        Assert.True(fromJson.Projections[0].HasBiasOnFirstStep);
    }

    [Fact]
    public void Lists_of_numbers_come_from_npy_files_beside_the_spec()
    {
        // float64 weights (rounded to float32, with a warning), int64 sparse indices, float32 values.
        NumPy.Run(_directory, """
            import os
            os.mkdir('w')
            np.save('w/dense.npy', np.array([[1.0, 0.0, 0.1], [0.0, 1.0, -0.5]]))
            np.save('pre.npy', np.array([0, 2], dtype=np.int64))
            np.save('post.npy', np.array([1, 0], dtype=np.int64))
            np.save('sw.npy', np.array([0.25, 4.0], dtype=np.float32))
            np.save('bad.npy', np.array([0.5, 1.0], dtype=np.float32))
            """);
        var path = Path.Combine(_directory, "net.yaml");
        File.WriteAllText(path, """
            name: sidecar
            populations:
              - {name: in, model: input, size: 3}
              - {name: out, model: snntorch.Leaky, size: 2, params: {threshold: {perNeuron: {values: {npy: sw.npy}}}}}
            projections:
              - {name: fc, source: in, target: out, dense: {weights: {npy: w/dense.npy}}}
              - {name: sp, source: in, target: out, sparse: {pre: {npy: pre.npy}, post: {npy: post.npy}, weights: {npy: sw.npy}}}
            """);

        var file = NetworkSpecFile.Load(path);

        Assert.Equal([1f, 0f, 0.1f, 0f, 1f, -0.5f], file.Spec.Projections[0].Dense.Weights);
        Assert.Equal([0u, 2u], file.Spec.Projections[1].Sparse.Pre);
        Assert.Equal([1u, 0u], file.Spec.Projections[1].Sparse.Post);
        Assert.Equal([0.25f, 4f], file.Spec.Projections[1].Sparse.Weights);
        Assert.Equal([0.25f, 4f], file.Spec.Populations[1].Params["threshold"].PerNeuron.Values);
        var warning = Assert.Single(file.Warnings);
        Assert.Equal($"{path}:6: projections[0].dense.weights: w/dense.npy holds float64 (<f8); its values were rounded to float32", warning);

        // Floats where integers belong, and a missing file, name the field and the line.
        File.WriteAllText(path, "name: x\nprojections:\n  - name: sp\n    sparse:\n      pre: {npy: bad.npy}\n");
        var floats = Assert.Throws<NetworkSpecException>(() => NetworkSpecFile.Load(path));
        Assert.Equal($"{path}:5: projections[0].sparse.pre: bad.npy holds <f4; this field takes integers (int32 <i4 or int64 <i8)", floats.Message);

        File.WriteAllText(path, "name: x\nprojections:\n  - name: fc\n    dense:\n      weights: {npy: nowhere.npy}\n");
        var missing = Assert.Throws<NetworkSpecException>(() => NetworkSpecFile.Load(path));
        Assert.StartsWith($"{path}:5: projections[0].dense.weights: nowhere.npy: cannot read:", missing.Message);
    }

    [Theory]
    [InlineData("spec.yaml", "name: x\npopulations:\n  - name: a\n    modle: input\n", "spec.yaml:4: populations[0].modle: unknown field; PopulationSpec has name, model, size, shape, params")]
    [InlineData("spec.yaml", "name: x\npopulations:\n  - name: a\n    size: -1\n", "spec.yaml:4: populations[0].size: -1 is outside 0..4294967295")]
    [InlineData("spec.yaml", "name: x\npopulations:\n  - name: a\n    size: 1.5\n", "spec.yaml:4: populations[0].size: expected an integer, found the number 1.5")]
    [InlineData("spec.yaml", "name: x\nclock: REALTIME\n", "spec.yaml:2: clock: expected one of CLOCK_MODE_UNSPECIFIED, CLOCK_MODE_LOCKSTEP, CLOCK_MODE_REALTIME, found the string 'REALTIME'")]
    [InlineData("spec.yaml", "name: x\npopulations: {name: a}\n", "spec.yaml:2: populations: expected a list, found a mapping")]
    [InlineData("spec.yaml", "name: x\nprojections:\n  - name: p\n    dense: {weights: 3}\n", "spec.yaml:4: projections[0].dense.weights: expected a list (or {npy: FILE.npy}), found the number 3")]
    [InlineData("spec.yaml", "name: x\nprojections:\n  - name: p\n    dense: {}\n    oneToOne: {}\n", "spec.yaml:5: projections[0].one_to_one: dense is set already; a ProjectionSpec has one kind (dense, one_to_one, sparse, conv2d, sum_pool2d)")]
    [InlineData("spec.yaml", "name: x\n  bad: [\n", "spec.yaml:2: invalid YAML:")]
    [InlineData("spec.yaml", "- a\n- b\n", "spec.yaml:1: expected a mapping of NetworkSpec fields, found a list")]
    [InlineData("spec.yaml", "name: x\nname: y\n", "spec.yaml:2: invalid YAML: Duplicate key")]
    [InlineData("spec.json", "{\n  \"name\": \"x\",\n  \"populations\": [\n    { \"name\": \"a\", \"size\": \"ten\" }\n  ]\n}", "spec.json:4: populations[0].size: expected an integer, found the string 'ten'")]
    [InlineData("spec.json", "{\n  \"name\": \"x\",\n  \"dt\": 0.001,,\n}", "spec.json:3: invalid JSON:")]
    [InlineData("spec.json", "{\n  \"name\": \"x\",\n  \"instances\": true\n}", "spec.json:3: instances: expected an integer, found true")]
    [InlineData("spec.json", "", "spec.json:1: invalid JSON:")]
    [InlineData("spec.json", "{\n  \"name\": \"x\",\n  \"name\": \"y\"\n}", "spec.json:3: the key 'name' appears twice in one object")]
    public void A_mistake_names_the_file_the_line_and_the_field(string fileName, string text, string expected)
    {
        var e = Assert.Throws<NetworkSpecException>(() => NetworkSpecFile.Parse(text, fileName));
        Assert.StartsWith(expected, e.Message);
    }

    [Fact]
    public void Yaml_reads_unquoted_numbers_as_names_where_a_string_belongs()
    {
        var spec = NetworkSpecFile.Parse("name: 2024\npopulations:\n  - {name: true, model: input, size: 1}\n", "s.yaml").Spec;
        Assert.Equal("2024", spec.Name);
        Assert.Equal("true", spec.Populations[0].Name);

        // JSON keeps protobuf's rule: a string field takes a string.
        var e = Assert.Throws<NetworkSpecException>(() => NetworkSpecFile.Parse("{\"name\": 2024}", "s.json"));
        Assert.Equal("s.json:1: name: expected a string, found the number 2024", e.Message);
    }

    [Fact]
    public void Server_messages_get_the_line_of_the_field_they_name()
    {
        var file = NetworkSpecFile.Parse(Yaml, "spec.yaml");

        Assert.Equal(8, file.LineOf("spec.populations[1].model"));
        Assert.Equal(7, file.LineOf("populations[1]"));
        Assert.Equal(20, file.LineOf("spec.projections[0].dense.weights[4]"));
        Assert.Equal(13, file.LineOf("spec.populations[1].params.reset_mechanism"));
        Assert.Null(file.LineOf("spec.nothing"));

        Assert.Equal("spec.yaml:8: spec.populations[1].model 'x' is unknown",
            file.Annotate("spec.populations[1].model 'x' is unknown"));
        Assert.Equal("spec.yaml:20: spec.projections[0].dense.weights has 6 values; it needs 3",
            file.Annotate("spec.projections[0].dense.weights has 6 values; it needs 3"));
        Assert.Equal("spec.yaml: a network named 'ff' exists already", file.Annotate("a network named 'ff' exists already"));
    }
}
