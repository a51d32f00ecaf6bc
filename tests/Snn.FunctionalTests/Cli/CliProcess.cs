using System.Diagnostics;
using System.Text;
using Snn.Cli;
using Snn.Cli.Bench;

namespace Snn.FunctionalTests.Cli;

/// <summary>
/// <c>snn</c> as a separate process (<c>dotnet snn.dll ...</c>, the build next to the tests), its
/// stdout and stderr piped and read line by line, as a shell runs it.
/// </summary>
internal sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();
    private readonly List<string> _lines = [];
    private readonly Lock _lock = new();

    private CliProcess(Process process) => _process = process;

    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "snn.dll");

    public static CliProcess Start(params string[] args)
    {
        var info = new ProcessStartInfo(ChildProcess.DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        info.ArgumentList.Add(CliDll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment.Remove(SnnCli.ServerVariable);
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var cli = new CliProcess(process);
        process.OutputDataReceived += (_, e) => cli.Received(cli._output, e.Data);
        process.ErrorDataReceived += (_, e) => cli.Received(cli._error, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return cli;
    }

    /// <summary>Runs <c>snn</c> to its end (killed after <paramref name="timeout"/>).</summary>
    public static async Task<CliResult> RunAsync(TimeSpan timeout, params string[] args)
    {
        using var cli = Start(args);
        return await cli.WaitAsync(timeout);
    }

    /// <summary>Waits until stdout has a line that starts with <paramref name="prefix"/>; fails if the process ends first.</summary>
    public async Task WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        int checkedLines = 0;
        while (true)
        {
            lock (_lock)
            {
                for (; checkedLines < _lines.Count; checkedLines++)
                {
                    if (_lines[checkedLines].StartsWith(prefix, StringComparison.Ordinal))
                    {
                        return;
                    }
                }
            }

            if (_process.HasExited)
            {
                throw new Xunit.Sdk.XunitException($"snn ended before it printed '{prefix}':\n{Tail()}");
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"no '{prefix}' from snn within {timeout}:\n{Tail()}");
            }

            await Task.Delay(20);
        }
    }

    public async Task<CliResult> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            // Also waits for the end of both pipes, so the output is complete.
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"snn did not exit within {timeout}:\n{Tail()}");
        }

        return Result();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    /// <summary>The last lines of stdout and all of stderr, for a failure message.</summary>
    private string Tail()
    {
        lock (_lock)
        {
            return string.Join('\n', _lines.TakeLast(5)) + "\nstderr:\n" + _error;
        }
    }

    private CliResult Result()
    {
        lock (_lock)
        {
            return new CliResult(_process.HasExited ? _process.ExitCode : -1, _output.ToString(), _error.ToString());
        }
    }

    private void Received(StringBuilder into, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            into.Append(line).Append('\n');
            if (into == _output)
            {
                _lines.Add(line);
            }
        }
    }
}
