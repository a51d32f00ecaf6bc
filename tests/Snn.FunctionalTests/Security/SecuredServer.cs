using Snn.FunctionalTests.Infrastructure;
using System.Net;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Snn.Client;
using Snn.FunctionalTests.Api;
using Snn.FunctionalTests.Transport;
using Snn.Server;
using Snn.Server.Security;

namespace Snn.FunctionalTests.Security;

/// <summary>
/// A server with API keys for two tenants, on loopback port 0 with the HTTP/1.1 endpoint: alice's key in
/// configuration (<c>Snn:Auth:Keys</c>, in clear), bob's in a keys file (<c>Snn:Auth:KeysFile</c>, hashed).
/// </summary>
internal sealed class SecuredServer : IAsyncDisposable
{
    public const string AliceKey = "alice-key-0123456789abcdef";
    public const string BobKey = "bob-key-fedcba9876543210";

    private readonly ServerHost _host;
    private readonly string _directory;
    private readonly CapturedLogs _logs;

    private SecuredServer(ServerHost host, string directory, CapturedLogs logs)
    {
        _host = host;
        _directory = directory;
        _logs = logs;
    }

    public Uri Address => _host.Address;

    public Uri HttpAddress => _host.HttpAddress!;

    /// <summary>Starts it; <paramref name="settings"/> adds <c>--Key value</c> pairs (e.g. quotas).</summary>
    public static async Task<SecuredServer> StartAsync(params (string Key, string Value)[] settings)
    {
        string directory = Directory.CreateTempSubdirectory("snn-keys-").FullName;
        string keysFile = Path.Combine(directory, "keys");
        await File.WriteAllTextAsync(keysFile, $"# tenant sha256(key)\n\nbob {ApiKeys.Hash(BobKey)}\n");
        string[] args =
        [
            .. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "http://127.0.0.1:0",
            "--Snn:Auth:Keys:0:Tenant", "alice", "--Snn:Auth:Keys:0:Key", AliceKey,
            "--Snn:Auth:KeysFile", keysFile,
            .. settings.SelectMany(s => new[] { "--" + s.Key, s.Value }),
        ];
        var logs = new CapturedLogs();
        var host = await ServerHost.StartAsync(args, new CancellationTokenSource(ApiTimeouts.Default).Token, b => b.Logging.AddProvider(logs));
        return new SecuredServer(host, directory, logs);
    }

    /// <summary>A client sending <c>authorization: Bearer <paramref name="key"/></c> (none when null).</summary>
    public SnnClient Client(string? key)
    {
        var client = new SnnClient(Address);
        if (key is not null)
        {
            client.DefaultHeaders.Add("authorization", "Bearer " + key);
        }

        return client;
    }

    public HttpClient Http(string? key)
    {
        var http = new HttpClient { BaseAddress = HttpAddress, DefaultRequestVersion = HttpVersion.Version11 };
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new("Bearer", key);
        }

        return http;
    }

    /// <summary>Everything the server logged so far (debug and up).</summary>
    public IReadOnlyCollection<(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception)> LogEntries => _logs.Entries;

    public void AssertNoErrorsLogged()
    {
        var errors = _logs.UnexpectedErrors([]);
        Assert.True(errors.Count == 0, "the server logged errors:\n" + string.Join("\n", errors));
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync().AsTask().Within();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>Fixture: one <see cref="SecuredServer"/> for a test class.</summary>
public sealed class SecuredServerFixture : IAsyncLifetime
{
    private SecuredServer? _server;

    internal SecuredServer Server => _server ?? throw new InvalidOperationException("server not started");

    public async Task InitializeAsync() => _server = await SecuredServer.StartAsync().Within();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

internal static class StatusAssert
{
    public static Task<RpcException> Unauthenticated(Func<Task> call, string fragment) =>
        Rpc.FailsAsync(StatusCode.Unauthenticated, call, fragment);
}
