using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Snn.Cli.Bench;
using Snn.Client;
using Snn.FunctionalTests.Api;
using Snn.FunctionalTests.Infrastructure;

namespace Snn.FunctionalTests.Persistence;

/// <summary>
/// A server in a child process over one data directory, which a test can kill (SIGKILL: no shutdown
/// snapshot, no checkpoint, no clean close) and start again on the same directory.
/// </summary>
internal sealed class PersistentServer : IAsyncDisposable
{
    private readonly string[] _args;
    private ChildProcess? _child;

    private PersistentServer(string dataDirectory, string[] args)
    {
        DataDirectory = dataDirectory;
        _args = args;
    }

    public string DataDirectory { get; }

    public string Database => Path.Combine(DataDirectory, "snn.db");

    public SnnClient Client { get; private set; } = null!;

    /// <summary>The server's recent output, for failure messages.</summary>
    public string Tail() => _child?.Tail() ?? "";

    /// <summary>Starts a server on a new, empty data directory.</summary>
    public static async Task<PersistentServer> StartAsync(params string[] args)
    {
        var server = new PersistentServer(TestData.NewDirectory(), args);
        await server.StartAsync();
        return server;
    }

    /// <summary>Starts the server on the same data directory (after <see cref="Kill"/> or <see cref="StopAsync"/>).</summary>
    public async Task StartAsync()
    {
        Client?.Dispose();
        _child = ChildProcess.StartServer(DataDirectory, _args);
        await _child.WaitHealthyAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
        Client = new SnnClient(_child.Address);
    }

    /// <summary>SIGKILL: the process ends at once, wherever it is.</summary>
    public void Kill()
    {
        using var process = Process.GetProcessById(_child!.Id);
        process.Kill();
        process.WaitForExit();
    }

    /// <summary>SIGTERM: a graceful stop (the shutdown snapshot is taken).</summary>
    public async Task StopAsync()
    {
        int? exit = await _child!.TerminateAsync(TimeSpan.FromSeconds(30));
        Assert.True(exit == 0, $"the server exited with {exit}:\n{Tail()}");
    }

    public async Task RestartAfterKillAsync()
    {
        Kill();
        await _child!.DisposeAsync();
        await StartAsync();
    }

    /// <summary>Opens the database of a stopped server (the test reads what the server left).</summary>
    public SqliteConnection OpenDatabase()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Database, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public static string IntegrityCheck(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        using var reader = command.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read())
        {
            lines.Add(reader.GetString(0));
        }

        return string.Join("\n", lines);
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        if (_child is not null)
        {
            await _child.DisposeAsync();
        }
    }
}
