using Google.Protobuf;
using Grpc.Core;
using Snn.FunctionalTests.Api;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Nir;

/// <summary>
/// ImportNetwork and ExportNetwork over gRPC against the real server: a malformed file is INVALID_ARGUMENT
/// naming the node and the field (and the server goes on serving), a bad request is refused before the file
/// is read, and a well-formed file becomes a network that runs and exports.
/// </summary>
public sealed class NirImportTests(ApiServerFixture server, NirTestFiles files) : ApiTest(server), IClassFixture<NirTestFiles>
{
    public static TheoryData<string, string, string> MalformedFiles => new()
    {
        { "missing_dataset", "lif", "tau" },
        { "wrong_shape", "lif", "v_threshold" },
        { "edge_to_missing_node", "ghost", "edges" },
        { "stateless_cycle", "a", "edges" },
    };

    [Theory]
    [MemberData(nameof(MalformedFiles))]
    public async Task A_malformed_file_is_INVALID_ARGUMENT_naming_node_and_field_and_the_server_goes_on(string file, string node, string field)
    {
        string name = Names.Unique("nirbad");
        await Rpc.FailsAsync(StatusCode.InvalidArgument,
            () => Client.ImportNetworkAsync(new ImportNetworkRequest { Name = name, Nir = ByteString.CopyFrom(files.Bytes(file)) }),
            $"NIR node '{node}', field '{field}': ");
        await AssertNothingCreatedAndTheServerServesAsync(name);
    }

    [Fact]
    public async Task Bytes_that_are_not_HDF5_or_none_are_INVALID_ARGUMENT_saying_so()
    {
        string name = Names.Unique("nirbad");
        await Rpc.FailsAsync(StatusCode.InvalidArgument,
            () => Client.ImportNetworkAsync(new ImportNetworkRequest { Name = name, Nir = ByteString.CopyFromUtf8("this is not an HDF5 file\n") }),
            "NIR file: file: not an HDF5 file");
        await Rpc.FailsAsync(StatusCode.InvalidArgument,
            () => Client.ImportNetworkAsync(new ImportNetworkRequest { Name = name }), "nir is empty");
        await AssertNothingCreatedAndTheServerServesAsync(name);
    }

    [Fact]
    public async Task A_network_the_engine_refuses_after_import_says_it_came_from_the_file()
    {
        string name = Names.Unique("nirbad");
        await Rpc.FailsAsync(StatusCode.InvalidArgument,
            () => Client.ImportNetworkAsync(new ImportNetworkRequest { Name = name, Nir = ByteString.CopyFrom(files.Bytes("negative_threshold")), Flavor = "snntorch" }),
            "the network imported from the NIR file is refused: ", "threshold");
        await AssertNothingCreatedAndTheServerServesAsync(name);
    }

    [Fact]
    public async Task An_unknown_flavour_a_bad_dt_or_a_bad_name_is_refused_before_the_file_is_read()
    {
        var nir = ByteString.CopyFrom(files.Bytes("feedforward"));
        string name = Names.Unique("nirbad");
        await Rpc.FailsAsync(StatusCode.InvalidArgument,
            () => Client.ImportNetworkAsync(new ImportNetworkRequest { Name = name, Nir = nir, Flavor = "lava" }),
            "flavor 'lava' is unknown", "generic, snntorch, norse or sinabs");
        foreach (double dt in new[] { -0.001, double.NaN, double.PositiveInfinity })
        {
            await Rpc.FailsAsync(StatusCode.InvalidArgument,
                () => Client.ImportNetworkAsync(new ImportNetworkRequest { Name = name, Nir = nir, Dt = dt }),
                "dt is ", "positive, finite");
        }

        await Rpc.FailsAsync(StatusCode.InvalidArgument,
            () => Client.ImportNetworkAsync(new ImportNetworkRequest { Name = "has space", Nir = nir }), "name");
        await AssertNothingCreatedAndTheServerServesAsync(name);
    }

    [Fact]
    public async Task Exporting_a_network_that_does_not_exist_is_NOT_FOUND() =>
        await Rpc.FailsAsync(StatusCode.NotFound,
            () => Client.ExportNetworkAsync(Names.Unique("nirnone")), "does not exist");

    /// <summary>Needs NirImporter: Input(3) → Affine → LIF(2) → Output imported (generic), then run.</summary>
    [Fact]
    public async Task A_feed_forward_file_imports_with_its_report_and_runs()
    {
        string name = Names.Unique("nirff");
        var response = await Client.ImportNetworkAsync(new ImportNetworkRequest
        {
            Name = name,
            Nir = ByteString.CopyFrom(files.Bytes("feedforward")),
            Instances = 2,
        }).Within();

        var network = response.Network;
        Assert.Equal(name, network.Spec.Name);
        Assert.Equal(0.001, network.Spec.Dt);
        Assert.Equal(2, network.Instances.Count);
        Assert.Equal(3u, Assert.Single(network.Spec.Populations, p => p.Model == "input").Size);
        Assert.Equal(2u, Assert.Single(network.Spec.Populations, p => p.Name == "lif").Size);
        Assert.Contains(response.Report, line => line.Node == "fc");
        Assert.Contains(response.Report, line => line.Node == "lif");
        Assert.Equal(network, await Client.GetNetworkAsync(new GetNetworkRequest { Name = name }).Within());
        Assert.Contains(await WeightsAsync(name), w => w.Length == 6 && w.All(x => x == 20f));

        var spikes = await RunAsync(name, instance: 1);
        Assert.Equal([0u, 1u], spikes.SelectMany(s => s).Distinct().Order());
        await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name }).Within();
    }

    /// <summary>Needs NirImporter, NirExporter and NirWriter: an exported network imports back and steps the same.</summary>
    [Fact]
    public async Task An_imported_network_exports_and_imports_back_stepping_the_same()
    {
        string name = Names.Unique("nirrt");
        var imported = await Client.ImportNetworkAsync(new ImportNetworkRequest { Name = name, Nir = ByteString.CopyFrom(files.Bytes("feedforward")) }).Within();
        var exported = await Client.ExportNetworkAsync(name).Within();
        Assert.NotEmpty(exported.Report);
        Assert.Equal(Hdf5Signature.Bytes, exported.Nir.Span[..8].ToArray());

        string again = name + "-again";
        var reimported = await Client.ImportNetworkAsync(new ImportNetworkRequest { Name = again, Nir = exported.Nir }).Within();
        Assert.Equal(imported.Network.Synapses, reimported.Network.Synapses);
        Assert.Equal(
            imported.Network.Spec.Populations.Select(p => (p.Name, p.Model, p.Size)),
            reimported.Network.Spec.Populations.Select(p => (p.Name, p.Model, p.Size)));
        var weights = await WeightsAsync(name);
        Assert.Equal(weights, await WeightsAsync(again));
        Assert.Contains(weights, w => w.Length == 6 && w.All(x => x == 20f));

        Assert.Equal(await RunAsync(name, instance: 0), await RunAsync(again, instance: 0));
        foreach (string n in new[] { name, again })
        {
            await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = n }).Within();
        }
    }

    /// <summary>Every projection's weights (dense ones as stored), in spec order.</summary>
    private async Task<List<float[]>> WeightsAsync(string name)
    {
        var network = await Client.GetNetworkAsync(new GetNetworkRequest { Name = name, IncludeWeights = true }).Within();
        return network.Spec.Projections.Select(j => j.Dense?.Weights.ToArray() ?? []).ToList();
    }

    /// <summary>Five steps with all three inputs spiking every step; the spikes of "lif" at each step.</summary>
    private async Task<List<uint[]>> RunAsync(string name, uint instance)
    {
        var input = (await Client.GetNetworkAsync(new GetNetworkRequest { Name = name }).Within())
            .Spec.Populations.Single(p => p.Model == "input").Name;
        await using var run = await Client.OpenRunAsync(new RunOpen { Network = name, Instance = instance, SpikesFrom = { "lif" } }).Within();
        await run.AdvanceAsync(5, Enumerable.Range(0, 5).Select(t => Specs.Events(input, [0, 1, 2], offset: (uint)t))).Within();
        var steps = await run.ReadStepsAsync(5);
        await run.EndAsync();
        return steps.Select(s => s.SpikesOf().Indices).ToList();
    }

    private async Task AssertNothingCreatedAndTheServerServesAsync(string name)
    {
        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.GetNetworkAsync(new GetNetworkRequest { Name = name }));
        string after = Names.Unique("nirafter");
        await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay(after) }).Within();
        await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = after }).Within();
    }
}
