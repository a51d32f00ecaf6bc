using Snn.Cli;

namespace Snn.FunctionalTests.Cli;

/// <summary>The outcome of one in-process <c>snn</c> invocation.</summary>
internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}{Environment.NewLine}stdout:{Environment.NewLine}{Output}{Environment.NewLine}stderr:{Environment.NewLine}{Error}";
}

/// <summary>Runs <c>snn</c> in-process (the same entry point as the executable) with captured output and a timeout.</summary>
internal static class CliRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static async Task<CliResult> RunAsync(TimeSpan timeout, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var cts = new CancellationTokenSource(timeout);
        int code = await SnnCli.InvokeAsync(args, TextWriter.Synchronized(output), TextWriter.Synchronized(error), cts.Token).WaitAsync(timeout + TimeSpan.FromSeconds(15));
        return new CliResult(code, output.ToString(), error.ToString());
    }

    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(DefaultTimeout, args);
}
