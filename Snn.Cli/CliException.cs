namespace Snn.Cli;

/// <summary>A user error the command line reports without a stack trace: a bad file, a malformed option value.</summary>
internal sealed class CliException(string message) : Exception(message);
