namespace Snn.Server.Engine;

/// <summary>Why the engine refused a request; mapped to a gRPC status at one place (Rpc/ErrorInterceptor).</summary>
public enum EngineError
{
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    ResourceExhausted,
    Aborted,

    /// <summary>The server is shutting down; the client may retry elsewhere or later.</summary>
    Unavailable,

    /// <summary>A fault of the server (its log has the details); the message says no more than that.</summary>
    Internal,
}

/// <summary>A request the engine refuses, with a message that says what to fix.</summary>
public sealed class EngineException(EngineError error, string message) : Exception(message)
{
    public EngineError Error { get; } = error;

    public static EngineException Invalid(string message) => new(EngineError.InvalidArgument, message);

    public static EngineException NotFound(string message) => new(EngineError.NotFound, message);

    /// <summary>What streams end with when the server stops.</summary>
    public static EngineException ShuttingDown() => new(EngineError.Unavailable, ShuttingDownMessage);

    public const string ShuttingDownMessage = "the server is shutting down";
}
