using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Snn.Client;
using Grpc.Core;
using Grpc.Health.V1;

namespace Snn.Cli.Bench;

/// <summary>
/// A server the benchmark starts as a separate process (<c>dotnet X.dll ...</c>) on a loopback port:
/// the SnnService itself, or the echo baseline. Its output is kept (the last lines) for error
/// messages; it is stopped with SIGTERM (graceful), then killed if it does not exit.
/// </summary>
internal sealed partial class ChildProcess : IAsyncDisposable
{
    private const int TailLines = 40;
    private readonly Process _process;
    private readonly Queue<string> _tail = new();
    private readonly List<string> _errors = [];
    private bool _inError;
    private readonly Lock _lock = new();

    private ChildProcess(Process process, string name, Uri address)
    {
        _process = process;
        Name = name;
        Address = address;
    }

    public string Name { get; }

    public Uri Address { get; }

    public int Id => _process.Id;

    /// <summary>Snn.Server.dll next to snn.dll (copied there by the project reference).</summary>
    public static string ServerDll => Path.Combine(AppContext.BaseDirectory, "Snn.Server.dll");

    /// <summary>snn.dll itself, to start <c>snn bench echo-server</c>.</summary>
    public static string CliDll => typeof(ChildProcess).Assembly.Location;

    /// <summary>Starts the SnnService on a free loopback port with a fresh data directory.</summary>
    public static ChildProcess StartServer(string dataDirectory, params string[] moreArgs)
    {
        int port = FreePort();
        return Start("snn-server", ServerDll, port,
            ["--urls", $"http://127.0.0.1:{port}", "--Snn:HttpUrls", "", "--Snn:DataDirectory", dataDirectory, .. moreArgs]);
    }

    /// <summary>Starts <c>snn bench echo-server</c> on a free loopback port.</summary>
    public static ChildProcess StartEchoServer()
    {
        int port = FreePort();
        return Start("echo-server", CliDll, port, ["bench", "echo-server", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
    }

    private static ChildProcess Start(string name, string dll, int port, string[] args)
    {
        if (!File.Exists(dll))
        {
            throw new CliException($"{dll} not found; build the solution (snn finds the server next to its own output)");
        }

        var info = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        info.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        // The child must not inherit a URL setting that would move its endpoint.
        info.Environment.Remove("ASPNETCORE_URLS");
        info.Environment.Remove("DOTNET_URLS");
        // As the server's launch profile does: 512-bit kernels where the CPU has them (a value already
        // in the environment wins, so a run with 256-bit vectors stays possible).
        info.Environment.TryAdd("DOTNET_MaxVectorTBitWidth", "512");
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(process, name, new Uri($"http://127.0.0.1:{port}"));
        process.OutputDataReceived += (_, e) => child.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits until <c>grpc.health.v1.Health/Check</c> answers SERVING.</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var client = new SnnClient(Address);
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new CliException($"{Name} (pid {_process.Id}) exited with code {_process.ExitCode} before it was healthy:{Environment.NewLine}{Tail()}");
            }

            try
            {
                if (await client.HealthCheckAsync(options: new CallOptions(deadline: DateTime.UtcNow + TimeSpan.FromSeconds(2), cancellationToken: cancellationToken)) == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (RpcException) when (!cancellationToken.IsCancellationRequested)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > until)
            {
                throw new CliException($"{Name} at {Address} was not healthy after {timeout.TotalSeconds:0} s:{Environment.NewLine}{Tail()}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>
    /// Sends SIGTERM (a graceful stop) and waits up to <paramref name="grace"/> for the process to exit.
    /// Returns its exit code, or null when it was still running then (it is killed).
    /// </summary>
    public async Task<int?> TerminateAsync(TimeSpan grace)
    {
        if (Posix.Kill(_process.Id, Posix.SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }

        return await WaitOrKillAsync(grace);
    }

    /// <summary>Waits up to <paramref name="grace"/> for the process to exit; kills it after that (then null).</summary>
    private async Task<int?> WaitOrKillAsync(TimeSpan grace)
    {
        using var wait = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            return null;
        }
    }

    /// <summary>
    /// Every line the process printed at error or fatal level, or that names an unhandled exception, with
    /// the exception lines that follow it (the first 100 lines), however long ago: the tail alone forgets
    /// them in a long run.
    /// </summary>
    public IReadOnlyList<string> ErrorLines()
    {
        lock (_lock)
        {
            return [.. _errors];
        }
    }

    /// <summary>The last lines the process printed.</summary>
    public string Tail()
    {
        lock (_lock)
        {
            return string.Join(Environment.NewLine, _tail);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                if (!OperatingSystem.IsWindows() && Posix.Kill(_process.Id, Posix.SigTerm) == 0)
                {
                    await WaitOrKillAsync(TimeSpan.FromSeconds(10));
                }
                else
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync();
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _tail.Enqueue(line);
            // An error line and the lines after it up to the next event (its exception and stack).
            _inError = IsError(line) || (_inError && !line.StartsWith('['));
            if (_inError && _errors.Count < 100)
            {
                _errors.Add(line);
            }

            while (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }
    }

    private static bool IsError(string line) =>
        line.Contains(" ERR]", StringComparison.Ordinal) || line.Contains(" FTL]", StringComparison.Ordinal)
        || line.Contains("Unhandled", StringComparison.OrdinalIgnoreCase);

    /// <summary>The dotnet host running snn itself when there is one, else <c>dotnet</c> on the PATH.</summary>
    internal static string DotnetHost()
    {
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return self;
        }

        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
    }

    /// <summary>A loopback port that is free now (the OS hands out a fresh one; a race with another process is possible but unlikely).</summary>
    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static partial class Posix
    {
        public const int SigTerm = 15;

        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static partial int Kill(int pid, int signal);
    }
}
