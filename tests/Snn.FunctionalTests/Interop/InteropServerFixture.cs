using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Snn.FunctionalTests.Transport;
using Snn.InteropServer;

namespace Snn.FunctionalTests.Interop;

/// <summary>Runs the interop server (grpc.testing.TestService on Grpc.AspNetCore) in-process on a free loopback port.</summary>
public sealed class InteropServerFixture : IAsyncLifetime
{
    private WebApplication? _app;

    internal CapturedLogs Logs { get; } = new();

    public int Port { get; private set; }

    public async Task InitializeAsync()
    {
        _app = InteropServerApp.Build(0, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(Logs);
        });
        await _app.StartAsync().WithTimeout();
        Port = InteropServerApp.GetPort(_app);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync().WithTimeout();
            await _app.DisposeAsync();
        }
    }
}
