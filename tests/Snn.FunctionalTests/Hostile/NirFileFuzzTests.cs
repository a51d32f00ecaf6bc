using Google.Protobuf;
using Grpc.Core;
using Snn.FunctionalTests.Api;
using Snn.Protos.V1;
using Snn.Server.Tests.Nir;

namespace Snn.FunctionalTests.Hostile;

/// <summary>
/// Damaged real NIR files through the real server: every file in tests/data/nir and its flavors folder,
/// mutated by <see cref="NirMutator"/> with fixed seeds (bit flips, overwrites, truncation, copied and zeroed
/// blocks, huge size words), sent to ImportNetwork. Each answer is a network or a refusal that says what to
/// fix, never INTERNAL or UNKNOWN; afterwards the server answers, imports an undamaged file, and logged no error.
/// </summary>
public sealed class NirFileFuzzTests(ApiServerFixture server) : ApiTest(server)
{
    private const int MutantsPerFile = 20;

    private static readonly StatusCode[] Documented =
        [StatusCode.InvalidArgument, StatusCode.FailedPrecondition, StatusCode.ResourceExhausted];

    [Fact]
    public async Task Damaged_real_NIR_files_import_or_are_refused_with_a_documented_status_and_the_server_goes_on()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "data", "nir");
        var seeds = Directory.GetFiles(dir, "*.nir").Concat(Directory.GetFiles(Path.Combine(dir, "flavors"), "*.nir")).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(seeds);
        var faults = new List<string>();
        var counts = new Dictionary<StatusCode, int>();
        foreach (var (path, index) in seeds.Select((p, i) => (p, i)))
        {
            var file = await File.ReadAllBytesAsync(path);
            var mutator = new NirMutator(0x6E1F + index);
            for (var i = 0; i < MutantsPerFile; i++)
            {
                var (bytes, kind) = mutator.Mutate(file);
                string name = Names.Unique("nirfz");
                var request = new ImportNetworkRequest { Name = name, Nir = ByteString.CopyFrom(bytes) };
                StatusCode code;
                try
                {
                    await Client.ImportNetworkAsync(request).Within();
                    code = StatusCode.OK;
                    await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name }).Within();
                }
                catch (RpcException e)
                {
                    code = e.StatusCode;
                    if (!Documented.Contains(code) || string.IsNullOrWhiteSpace(e.Status.Detail))
                        faults.Add($"{Path.GetFileName(path)} mutant {i} ({kind}): {code} '{e.Status.Detail}'");
                }

                counts[code] = counts.GetValueOrDefault(code) + 1;
            }
        }

        Assert.True(faults.Count == 0, string.Join("\n", faults.Take(10)));
        Assert.True(counts.GetValueOrDefault(StatusCode.InvalidArgument) > 0, "no mutant was refused as malformed: the mutations do not reach the reader");

        // The server goes on: it answers, an undamaged file imports, nothing was logged as a fault.
        Assert.NotEmpty((await Client.GetServerInfoAsync().Within()).Models);
        string after = Names.Unique("nirfzok");
        await Client.ImportNetworkAsync(new ImportNetworkRequest
        {
            Name = after, Nir = ByteString.CopyFrom(await File.ReadAllBytesAsync(Path.Combine(dir, "lif_norse.nir"))), Flavor = "norse",
        }).Within();
        await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = after }).Within();
        Server.AssertNoErrorsLogged();
    }
}
