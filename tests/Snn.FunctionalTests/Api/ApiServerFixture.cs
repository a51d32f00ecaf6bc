using System.Collections.Concurrent;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Snn.Client;
using Snn.Server;
using Snn.FunctionalTests.Infrastructure;

namespace Snn.FunctionalTests.Api;

/// <summary>
/// The server of <see cref="Infrastructure.ServerFixture"/> (the real composition, Kestrel h2c on a free
/// loopback port) plus a capture of what it logs, so every API test can fail when the server logged an
/// error. One server per test class; tests of a class run one after another.
/// </summary>
public sealed class ApiServerFixture : IAsyncLifetime
{
    private readonly ErrorLog _errors = new();
    private ServerHost? _host;

    public Uri Address => _host?.Address ?? throw new InvalidOperationException("server not started");

    /// <summary>A client of its own (own channel and connections); dispose it.</summary>
    public SnnClient CreateClient(GrpcChannelOptions? options = null) => new(Address, options);

    /// <summary>The HTTP/1.1 endpoint (JSON API, gRPC-Web).</summary>
    public Uri HttpAddress => _host?.HttpAddress ?? throw new InvalidOperationException("server not started");

    public async Task InitializeAsync()
    {
        _host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "http://127.0.0.1:0"]).Within();
        _host.Services.GetRequiredService<ILoggerFactory>().AddProvider(_errors);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync().AsTask().Within();
        }
    }

    /// <summary>Errors the server logged since the last call, then forgets them.</summary>
    public IReadOnlyList<string> TakeErrors()
    {
        var taken = new List<string>();
        while (_errors.Entries.TryDequeue(out var entry))
        {
            taken.Add(entry);
        }

        return taken;
    }

    /// <summary>Fails when the server logged an error (any event id: no API test expects one).</summary>
    public void AssertNoErrorsLogged()
    {
        var errors = TakeErrors();
        Assert.True(errors.Count == 0, "the server logged errors:\n" + string.Join("\n", errors));
    }

    private sealed class ErrorLog : ILoggerProvider
    {
        public ConcurrentQueue<string> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(ErrorLog owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
                Func<TState, Exception?, string> formatter)
            {
                if (logLevel >= LogLevel.Error)
                {
                    owner.Entries.Enqueue($"{category}[{eventId.Id}] {logLevel}: {formatter(state, exception)} {exception}");
                }
            }
        }
    }
}

/// <summary>
/// Base of the API test classes: a client per test, and after each test a check that the server
/// logged no error.
/// </summary>
public abstract class ApiTest(ApiServerFixture server) : IClassFixture<ApiServerFixture>, IAsyncLifetime
{
    protected ApiServerFixture Server { get; } = server;

    protected SnnClient Client { get; } = server.CreateClient();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync()
    {
        Client.Dispose();
        Server.AssertNoErrorsLogged();
        return Task.CompletedTask;
    }
}
