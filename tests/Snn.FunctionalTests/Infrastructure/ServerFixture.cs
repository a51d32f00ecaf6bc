using Snn.Client;
using Snn.Server;

namespace Snn.FunctionalTests.Infrastructure;

/// <summary>One real server (Kestrel, h2c on a free loopback port) shared by a test class.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private ServerHost? _host;

    public Uri Address => _host?.Address ?? throw new InvalidOperationException("server not started");

    public SnnClient CreateClient() => new(Address);

    public async Task InitializeAsync() =>
        _host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "http://127.0.0.1:0"], new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
