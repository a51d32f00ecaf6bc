using Microsoft.Extensions.Logging;

namespace Snn.Server.Engine;

/// <summary>
/// Failures: a network whose step throws ends its own streams with a status; the loop and every
/// other network go on.
/// </summary>
internal sealed partial class StepLoop
{
    /// <summary>A network whose step threw: its streams end with the error; the loop and other networks go on.</summary>
    private void Fail(Network network, Exception e)
    {
        LogStepFailed(e, network.Name);
        // The exception's text stays in the log: a client learns which network failed, not the server's internals.
        EndSinks(network, e as EngineException ?? new EngineException(EngineError.Internal,
            $"stepping network '{network.Name}' failed; the server log has the details"));
    }

    /// <summary>Ends every driver and watcher of a network with <paramref name="error"/>.</summary>
    private static void EndSinks(Network network, EngineException error)
    {
        foreach (var inst in network.Instances)
        {
            if (inst.Driver is { } d)
            {
                d.End(error);
                inst.Driver = null;
                inst.SetDriven(false);
            }

            foreach (var w in inst.Watchers)
            {
                w.End(error);
            }

            inst.Watchers.Clear();
            inst.SetWatcherCount();
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Error, Message = "Stepping network {Network} failed; its streams were aborted")]
    private partial void LogStepFailed(Exception exception, string network);
}
