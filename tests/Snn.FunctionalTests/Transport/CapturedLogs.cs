using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Snn.FunctionalTests.Transport;

/// <summary>Collects what the server logs, so a test can fail on an error it did not expect.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception)> _entries = new();

    public IReadOnlyCollection<(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception)> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    /// <summary>Errors whose category and event id are not in <paramref name="expected"/>.</summary>
    public List<string> UnexpectedErrors(IReadOnlyCollection<(string Category, int EventId)> expected)
    {
        var errors = new List<string>();
        foreach (var entry in _entries)
        {
            if (entry.Level >= LogLevel.Error && !expected.Contains((entry.Category, entry.EventId.Id)))
            {
                errors.Add($"{entry.Category}[{entry.EventId.Id}]: {entry.Message} {entry.Exception}");
            }
        }

        return errors;
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue((category, logLevel, eventId, formatter(state, exception), exception));
    }
}
