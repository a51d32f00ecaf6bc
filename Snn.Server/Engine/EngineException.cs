namespace Snn.Server.Engine;

/// <summary>Why the engine refused a request; mapped to a gRPC status at one place (Services).</summary>
public enum EngineError
{
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    ResourceExhausted,
    Aborted,
}

/// <summary>A request the engine refuses, with a message that says what to fix.</summary>
public sealed class EngineException(EngineError error, string message) : Exception(message)
{
    public EngineError Error { get; } = error;

    public static EngineException Invalid(string message) => new(EngineError.InvalidArgument, message);

    public static EngineException NotFound(string message) => new(EngineError.NotFound, message);
}
