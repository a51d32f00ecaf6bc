using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Snn.Client;
using Snn.Conformance;
using Snn.FunctionalTests.Infrastructure;
using Snn.Server;
using Snn.Server.Backends;
using Snn.Server.Backends.Gpu;

namespace Snn.FunctionalTests.Conformance;

/// <summary>
/// Every reference case and network, replayed through the public API of a real server whose backend
/// is the ILGPU one on ILGPU's CPU accelerator (<c>Snn:Engine:Backend=ilgpu-cpu</c>): the device
/// kernels CUDA runs, checked where there is no GPU. Same tolerance as on the CPU backend.
/// </summary>
public sealed class GpuReferenceCaseTests(GpuReferenceCaseTests.IlgpuCpuServer server) : IClassFixture<GpuReferenceCaseTests.IlgpuCpuServer>
{
    /// <summary>A real server (Kestrel on loopback) stepping on the ilgpu-cpu backend.</summary>
    public sealed class IlgpuCpuServer : IAsyncLifetime
    {
        private ServerHost? _host;

        public SnnClient CreateClient() => new(_host?.Address ?? throw new InvalidOperationException("server not started"));

        /// <summary>Where each network of the server stepped (network name: where).</summary>
        public IReadOnlyList<string> Placements() =>
            ((GpuBackend)(_host ?? throw new InvalidOperationException("server not started")).Services.GetRequiredService<IComputeBackend>()).Placements();

        public async Task InitializeAsync() =>
            _host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "", "--Snn:Engine:Backend=ilgpu-cpu", "--Snn:Engine:CpuBelowNeurons=0"],
                new CancellationTokenSource(TimeSpan.FromSeconds(120)).Token);

        public async Task DisposeAsync()
        {
            if (_host is not null)
            {
                await _host.DisposeAsync();
            }
        }
    }

    private static string Dir(string kind) => Path.Combine(AppContext.BaseDirectory, "data", kind);

    public static TheoryData<string> LayerCases() => ReferenceCaseTests.LayerCases();

    public static TheoryData<string> NetworkCases() => ReferenceCaseTests.NetworkCases();

    [Fact]
    public async Task The_server_reports_the_ilgpu_backend_and_its_device()
    {
        using var client = server.CreateClient();
        var info = await client.GetServerInfoAsync(null, new CallOptions(cancellationToken: new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token));
        Assert.Equal("ilgpu-cpu", info.Backend);
        Assert.NotNull(info.ComputeDevice);
        Assert.False(string.IsNullOrEmpty(info.ComputeDevice.Name));
        Assert.False(info.ComputeDevice.HasFreeBytes); // ILGPU's CPU accelerator cannot tell (CUDA's driver can: the device check prints it)
    }

    [Theory]
    [MemberData(nameof(LayerCases))]
    public Task Layer_case_matches_the_library_on_ilgpu(string name) => Check("refcases", name);

    [Theory]
    [MemberData(nameof(NetworkCases))]
    public Task Network_case_matches_the_library_on_ilgpu(string name) => Check("refnets", name);

    private async Task Check(string kind, string name)
    {
        using var client = server.CreateClient();
        var runner = new CaseRunner(client, new StringWriter());
        string outDir = Path.Combine(Path.GetTempPath(), "snn-gpu-conformance-" + Guid.NewGuid().ToString("N"));
        try
        {
            string reference = Path.Combine(Dir(kind), name + ".json");
            var result = await runner.RunFileAsync(reference, outDir, new CancellationTokenSource(TimeSpan.FromMinutes(3)).Token);
            Assert.True(result.Ran, $"{name} did not run: {result.Message}");
            var cmp = CaseComparer.Compare(reference, Path.Combine(outDir, name + ".json"), ReferenceCaseTests.Tolerance);
            Assert.True(cmp.Passes(ReferenceCaseTests.Tolerance),
                $"{name}: {cmp.SpikeMismatches} spike mismatches, max state error {cmp.MaxStateError:G3}\n{string.Join("\n", cmp.Problems)}");
            var placed = server.Placements().Where(p => p.StartsWith($"conformance-{name}-", StringComparison.Ordinal)).ToList();
            Assert.True(placed.Count > 0 && placed.All(p => p.EndsWith(": on the device", StringComparison.Ordinal)),
                $"{name} did not step on the device: {string.Join("; ", placed)}");
        }
        finally
        {
            if (Directory.Exists(outDir))
            {
                Directory.Delete(outDir, recursive: true);
            }
        }
    }
}
