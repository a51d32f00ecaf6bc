using Snn.Grpc;

namespace Snn.Client;

/// <summary>Per-call options: custom request metadata, a deadline and a cancellation token.</summary>
public readonly struct CallOptions
{
    /// <summary>Creates call options.</summary>
    /// <param name="headers">Custom metadata sent as request headers (keys ending in <c>-bin</c> are binary).</param>
    /// <param name="deadline">The deadline (UTC); sent as <c>grpc-timeout</c> and enforced locally. Null = none.</param>
    /// <param name="cancellationToken">Cancels the call (the server sees RST_STREAM CANCEL).</param>
    public CallOptions(Metadata? headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default)
    {
        Headers = headers;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>Custom request metadata, or null.</summary>
    public Metadata? Headers { get; }

    /// <summary>The deadline (UTC), or null for none.</summary>
    public DateTime? Deadline { get; }

    /// <summary>Cancels the call.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Options with a deadline <paramref name="timeout"/> from now.</summary>
    public static CallOptions WithTimeout(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        new(null, DateTime.UtcNow + timeout, cancellationToken);

    /// <summary>A copy with other headers.</summary>
    public CallOptions WithHeaders(Metadata? headers) => new(headers, Deadline, CancellationToken);

    /// <summary>A copy with another deadline.</summary>
    public CallOptions WithDeadline(DateTime? deadline) => new(Headers, deadline, CancellationToken);

    /// <summary>A copy with another cancellation token.</summary>
    public CallOptions WithCancellationToken(CancellationToken cancellationToken) => new(Headers, Deadline, cancellationToken);
}
