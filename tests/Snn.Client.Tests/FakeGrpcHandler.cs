using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Snn.Grpc;

namespace Snn.Client.Tests;

/// <summary>An in-memory HTTP handler that plays a gRPC server's part, recording the requests.</summary>
internal sealed class FakeGrpcHandler(Func<HttpRequestMessage, byte[], Task<HttpResponseMessage>> respond) : HttpMessageHandler
{
    public List<(HttpRequestMessage Request, byte[] Body)> Requests { get; } = [];

    /// <summary>For streaming requests: the body is copied in the background; this completes with it.</summary>
    public Task<byte[]>? StreamingBody { get; private set; }

    public bool StreamRequestBody { get; init; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        byte[] body = [];
        if (StreamRequestBody)
        {
            StreamingBody = Task.Run(async () =>
            {
                using var buffer = new MemoryStream();
                await request.Content!.CopyToAsync(buffer, cancellationToken);
                return buffer.ToArray();
            }, cancellationToken);
        }
        else if (request.Content is not null)
        {
            body = await request.Content.ReadAsByteArrayAsync(cancellationToken);
        }

        Requests.Add((request, body));
        return await respond(request, body);
    }

    public static byte[] Frame(IMessage message)
    {
        var payload = message.ToByteArray();
        var frame = new byte[5 + payload.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>A 200 response with <paramref name="body"/> and the status in the trailers (or in the headers when <paramref name="trailersOnly"/>).</summary>
    public static HttpResponseMessage Response(byte[] body, StatusCode status = StatusCode.OK, string? message = null, bool trailersOnly = false, string contentType = GrpcProtocol.ContentType, HttpStatusCode httpStatus = HttpStatusCode.OK)
    {
        var response = new HttpResponseMessage(httpStatus)
        {
            Version = HttpVersion.Version20,
            Content = new ByteArrayContent(body),
        };
        response.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        HttpHeaders target = trailersOnly ? response.Headers : response.TrailingHeaders;
        target.TryAddWithoutValidation(GrpcProtocol.StatusHeader, ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (message is not null)
        {
            target.TryAddWithoutValidation(GrpcProtocol.MessageHeader, PercentEncoding.Encode(message));
        }

        return response;
    }
}
