using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Grpc.Core;

namespace Snn.FunctionalTests.Hostile;

/// <summary>What one raw call ended with, as the client saw it.</summary>
/// <param name="Http">The HTTP status of the response, 0 when none arrived.</param>
/// <param name="Status">grpc-status from the trailers (or a trailers-only response); null when none came.</param>
/// <param name="Detail">grpc-message, or the transport error's text.</param>
/// <param name="Bytes">Response body bytes read.</param>
/// <param name="LeftOpen">A stream that was still answering when the client cancelled it (after its first bytes).</param>
/// <param name="Transport">The transport failed (reset stream, closed connection) before a status arrived.</param>
internal sealed record Outcome(int Http, StatusCode? Status, string Detail, long Bytes, bool LeftOpen, bool Transport)
{
    public override string ToString() => Transport ? $"transport error: {Detail}"
        : LeftOpen ? $"HTTP {Http}, stream open after {Bytes} bytes (cancelled by the client)"
        : $"HTTP {Http}, {Status?.ToString() ?? "no grpc-status"}: {Detail}";
}

/// <summary>
/// gRPC over HTTP/2 without a gRPC client: the request body is whatever bytes a test gives (framed or not),
/// so that bytes no client library would send reach the server's framing and marshallers. One instance
/// holds one HTTP/2 connection (prior knowledge, h2c) and multiplexes every call over it.
/// </summary>
internal sealed class GrpcWire : IDisposable
{
    /// <summary>How long a stream that has begun to answer is read before the client cancels it.</summary>
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(150);

    private readonly HttpClient _http;
    private readonly List<Socket> _sockets = [];
    private readonly Lock _lock = new();

    public GrpcWire(Uri address)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = false,
            ConnectCallback = async (context, cancel) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, cancel);
                lock (_lock)
                {
                    _sockets.Add(socket);
                }

                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        _http = new HttpClient(handler)
        {
            BaseAddress = address,
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>The longest a call may take before the test counts it as hung.</summary>
    public static TimeSpan CallTimeout { get; } = TimeSpan.FromSeconds(20);

    /// <summary>One gRPC message: the 5-byte prefix (compressed flag, big-endian length) and the payload.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload, bool compressed = false, uint? declaredLength = null)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(5));
        return frame;
    }

    public static byte[] Frames(IEnumerable<byte[]> payloads) => [.. payloads.SelectMany(p => Frame(p))];

    /// <summary>Closes this wire's connections at once, with a TCP reset (linger 0), as a crashing client would.</summary>
    public void Abort()
    {
        lock (_lock)
        {
            foreach (var socket in _sockets)
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }

            _sockets.Clear();
        }
    }

    /// <summary>
    /// POSTs <paramref name="body"/> to <paramref name="path"/> and reads the answer: to its end, or, once a
    /// stream has begun to answer, for <see cref="Linger"/> more and then cancels it (the stream stays open
    /// as far as the server knows until the reset arrives).
    /// </summary>
    public async Task<Outcome> CallAsync(string path, HttpContent body, IEnumerable<KeyValuePair<string, string>>? headers = null,
        CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = body, Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach (var (name, value) in headers ?? [])
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content.Headers.Remove(name);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        using var linger = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linger.Token);
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !timeout.IsCancellationRequested))
        {
            return new Outcome(0, null, Describe(e), 0, LeftOpen: false, Transport: true);
        }

        using (response)
        {
            if (Header(response.Headers, "grpc-status") is { } early)
            {
                return new Outcome((int)response.StatusCode, ParseStatus(early), Header(response.Headers, "grpc-message") ?? "", 0, false, false);
            }

            long bytes = 0;
            try
            {
                await using var stream = await response.Content.ReadAsStreamAsync(linger.Token);
                var buffer = new byte[16384];
                int n;
                while ((n = await stream.ReadAsync(buffer, linger.Token)) > 0)
                {
                    if (bytes == 0)
                    {
                        linger.CancelAfter(Linger);
                    }

                    bytes += n;
                }
            }
            catch (OperationCanceledException) when (!timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return new Outcome((int)response.StatusCode, null, "", bytes, LeftOpen: true, Transport: false);
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                return new Outcome((int)response.StatusCode, null, Describe(e), bytes, LeftOpen: false, Transport: true);
            }

            string? status = Header(response.TrailingHeaders, "grpc-status");
            return new Outcome((int)response.StatusCode, status is null ? null : ParseStatus(status),
                Header(response.TrailingHeaders, "grpc-message") ?? "", bytes, false, false);
        }
    }

    /// <summary>Starts a call and returns once the response headers are in; the body is left unread.</summary>
    public async Task<HttpResponseMessage> OpenAsync(string path, HttpContent body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = body, Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(CallTimeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response;
    }

    /// <summary>Reads an opened call's body to its end and returns its status.</summary>
    public static async Task<Outcome> FinishAsync(HttpResponseMessage response)
    {
        if (Header(response.Headers, "grpc-status") is { } early)
        {
            return new Outcome((int)response.StatusCode, ParseStatus(early), Header(response.Headers, "grpc-message") ?? "", 0, false, false);
        }

        using var timeout = new CancellationTokenSource(CallTimeout);
        await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
        long bytes = 0;
        var buffer = new byte[65536];
        int n;
        while ((n = await stream.ReadAsync(buffer, timeout.Token)) > 0)
        {
            bytes += n;
        }

        string? status = Header(response.TrailingHeaders, "grpc-status");
        return new Outcome((int)response.StatusCode, status is null ? null : ParseStatus(status),
            Header(response.TrailingHeaders, "grpc-message") ?? "", bytes, false, false);
    }

    /// <summary>A body of exactly these bytes with content type <paramref name="contentType"/> (any text, valid or not).</summary>
    public static HttpContent Body(byte[] bytes, string contentType = "application/grpc")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.TryAddWithoutValidation("content-type", contentType);
        return content;
    }

    public void Dispose() => _http.Dispose();

    private static StatusCode? ParseStatus(string text) =>
        int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out int code) ? (StatusCode)code : StatusCode.Unknown;

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? Uri.UnescapeDataString(values.First()) : null;

    private static string Describe(Exception e) => e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message;
}

/// <summary>
/// A request body written in parts: <see cref="Written"/> completes once the first part is on the wire; the
/// rest waits for <see cref="Release"/> (or never comes, when the test drops the connection instead).
/// </summary>
internal sealed class HeldContent : HttpContent
{
    private readonly byte[] _first;
    private readonly byte[]? _rest;
    private readonly TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public HeldContent(byte[] first, byte[]? rest = null)
    {
        _first = first;
        _rest = rest;
        Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
    }

    public Task Written => _written.Task;

    public void Release() => _release.TrySetResult();

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        await stream.WriteAsync(_first);
        await stream.FlushAsync();
        _written.TrySetResult();
        await _release.Task;
        if (_rest is not null)
        {
            await stream.WriteAsync(_rest);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
