namespace Snn.Grpc;

/// <summary>The outcome of a call: a <see cref="StatusCode"/> and a human-readable detail.</summary>
public readonly struct Status : IEquatable<Status>
{
    /// <summary>OK with an empty detail.</summary>
    public static readonly Status DefaultSuccess = new(StatusCode.OK, string.Empty);

    /// <summary>CANCELLED with an empty detail.</summary>
    public static readonly Status DefaultCancelled = new(StatusCode.Cancelled, string.Empty);

    /// <summary>Creates a status.</summary>
    public Status(StatusCode statusCode, string detail)
        : this(statusCode, detail, null)
    {
    }

    /// <summary>Creates a status with the exception that caused it (never sent on the wire).</summary>
    public Status(StatusCode statusCode, string detail, Exception? debugException)
    {
        StatusCode = statusCode;
        _detail = detail ?? string.Empty;
        DebugException = debugException;
    }

    private readonly string? _detail;

    /// <summary>The status code.</summary>
    public StatusCode StatusCode { get; }

    /// <summary>The detail (sent as <c>grpc-message</c>); never null.</summary>
    public string Detail => _detail ?? string.Empty;

    /// <summary>The local exception behind this status, for diagnostics only.</summary>
    public Exception? DebugException { get; }

    public bool Equals(Status other) => StatusCode == other.StatusCode && string.Equals(Detail, other.Detail, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is Status other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(StatusCode, Detail);

    public static bool operator ==(Status left, Status right) => left.Equals(right);

    public static bool operator !=(Status left, Status right) => !left.Equals(right);

    public override string ToString() => DebugException is null
        ? $"Status(StatusCode=\"{StatusCode}\", Detail=\"{Detail}\")"
        : $"Status(StatusCode=\"{StatusCode}\", Detail=\"{Detail}\", DebugException=\"{DebugException.GetType()}: {DebugException.Message}\")";
}
