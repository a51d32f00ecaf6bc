using System.Runtime.CompilerServices;
using Grpc.Core;
using Snn.Protos.V1;

namespace Snn.Client;

/// <summary>
/// One <c>Run</c> stream driving an instance. Sends and reads can proceed concurrently (one
/// send and one read at a time). Dispose to cancel the stream; call <see cref="CompleteAsync"/>
/// first to end it cleanly.
/// </summary>
public sealed class RunSession : IAsyncDisposable
{
    internal RunSession(AsyncDuplexStreamingCall<RunRequest, RunResponse> call)
    {
        Call = call;
    }

    /// <summary>The underlying gRPC call (request and response streams, headers, trailers).</summary>
    public AsyncDuplexStreamingCall<RunRequest, RunResponse> Call { get; }

    /// <summary>The server's answer to the open request, once <see cref="OpenAsync"/> has completed.</summary>
    public RunOpened? Opened { get; private set; }

    /// <summary>The final status, once the stream has ended (read to its end, failed or disposed); null before.</summary>
    public Status? Status
    {
        get
        {
            try
            {
                return Call.GetStatus();
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }
    }

    /// <summary>Sends the first request (<c>open</c>) and waits for the server's <c>opened</c> answer.</summary>
    /// <exception cref="RpcException">The server refused the stream (e.g. NOT_FOUND, ALREADY_EXISTS).</exception>
    public async Task<RunOpened> OpenAsync(RunOpen open, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(open);
        if (Opened is not null)
        {
            throw new InvalidOperationException("The session is already open.");
        }

        await Call.RequestStream.WriteAsync(new RunRequest { Open = open }, cancellationToken).ConfigureAwait(false);
        if (!await Call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            throw new RpcException(new Status(StatusCode.Internal, "The Run stream ended before the server answered the open request."));
        }

        Opened = Call.ResponseStream.Current.Opened
            ?? throw new RpcException(new Status(StatusCode.Internal, "The first Run response does not carry 'opened'."));
        return Opened;
    }

    /// <summary>Sends inputs and/or an <c>advance</c> count.</summary>
    public Task SendAsync(RunRequest request, CancellationToken cancellationToken = default) =>
        Call.RequestStream.WriteAsync(request, cancellationToken);

    /// <summary>Sends <paramref name="inputs"/> (may be null) and asks for <paramref name="steps"/> steps.</summary>
    public Task AdvanceAsync(uint steps, IEnumerable<Input>? inputs = null, CancellationToken cancellationToken = default)
    {
        var request = new RunRequest { Advance = steps };
        if (inputs is not null)
        {
            request.Inputs.Add(inputs);
        }

        return Call.RequestStream.WriteAsync(request, cancellationToken);
    }

    /// <summary>Reads the next response; null when the stream has ended with status OK.</summary>
    /// <exception cref="RpcException">The stream ended with another status.</exception>
    public async Task<RunResponse?> ReadAsync(CancellationToken cancellationToken = default) =>
        await Call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false) ? Call.ResponseStream.Current : null;

    /// <summary>Reads step outputs until the stream ends.</summary>
    public async IAsyncEnumerable<StepOutput> ReadStepsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await Call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            foreach (var step in Call.ResponseStream.Current.Steps)
            {
                yield return step;
            }
        }
    }

    /// <summary>Ends the request side (half-close); the server finishes the pending steps and ends the stream.</summary>
    public Task CompleteAsync() => Call.RequestStream.CompleteAsync();

    /// <summary>The response headers (initial metadata) of the stream.</summary>
    public Task<Metadata> ResponseHeadersAsync() => Call.ResponseHeadersAsync;

    /// <summary>Cancels the stream if it has not ended, and releases it.</summary>
    public ValueTask DisposeAsync()
    {
        Call.Dispose();
        return ValueTask.CompletedTask;
    }
}
