using Spectre.Console;

namespace Snn.Cli.Internal;

/// <summary>
/// A progress bar on stderr for long work (Spectre.Console), drawn only where someone watches it:
/// the executable's stderr is a terminal and the command's own output does not scroll over it
/// (stdout is redirected, or the command prints nothing per step). In tests, pipes and in-process
/// invocations the work runs with no bar at all.
/// </summary>
internal static class Progress
{
    /// <summary>Whether a bar may be drawn: stderr is an interactive terminal and stdout is not, or <paramref name="quietOutput"/>.</summary>
    public static bool Wanted(CliContext context, bool quietOutput) =>
        context.Terminal is { } terminal && terminal.StderrIsTerminal && (quietOutput || !terminal.StdoutIsTerminal);

    /// <summary>
    /// Runs <paramref name="work"/>, which reports how much of <paramref name="total"/> is done, under
    /// a bar labelled <paramref name="what"/> when <paramref name="show"/>; otherwise runs it plainly.
    /// </summary>
    public static async Task RunAsync(bool show, string what, double total, Func<Action<double>, Task> work)
    {
        if (!show || total <= 0)
        {
            await work(static _ => { });
            return;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Error),
            Interactive = InteractionSupport.Yes,
        });
        await console.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(what, maxValue: total);
                await work(done => task.Value = Math.Min(done, total));
                task.Value = total;
            });
    }
}

/// <summary>Whether the executable's standard streams are terminals (null when <c>snn</c> runs in-process, as in the tests).</summary>
internal sealed record TerminalInfo(bool StdoutIsTerminal, bool StderrIsTerminal)
{
    public static TerminalInfo FromConsole() => new(!Console.IsOutputRedirected, !Console.IsErrorRedirected);
}
