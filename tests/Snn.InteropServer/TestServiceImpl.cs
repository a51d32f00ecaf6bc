using Google.Protobuf;
using Snn.Grpc;
using Snn.InteropServer.Testing;
using Snn.Server.Rpc;

namespace Snn.InteropServer;

/// <summary>
/// The server features of grpc/doc/interop-test-descriptions.md: EmptyCall, UnaryCall,
/// StreamingOutputCall, StreamingInputCall, FullDuplexCall, HalfDuplexCall, Echo Status,
/// Echo Metadata and ResponseParameters.interval_us. UnimplementedCall is deliberately not
/// registered, so the transport answers UNIMPLEMENTED.
/// </summary>
internal static class TestServiceImpl
{
    public const string ServiceName = "grpc.testing.TestService";
    private const string EchoInitialKey = "x-grpc-test-echo-initial";
    private const string EchoTrailingKey = "x-grpc-test-echo-trailing-bin";

    public static void Register(GrpcRouter router)
    {
        router.AddUnary<Empty, Empty>(ServiceName, "EmptyCall", Empty.Parser, static (_, _) => Task.FromResult(new Empty()));
        router.AddUnary<SimpleRequest, SimpleResponse>(ServiceName, "UnaryCall", SimpleRequest.Parser, UnaryCallAsync);
        router.AddServerStreaming<StreamingOutputCallRequest, StreamingOutputCallResponse>(ServiceName, "StreamingOutputCall", StreamingOutputCallRequest.Parser, StreamingOutputCallAsync);
        router.AddClientStreaming<StreamingInputCallRequest, StreamingInputCallResponse>(ServiceName, "StreamingInputCall", StreamingInputCallRequest.Parser, StreamingInputCallAsync);
        router.AddDuplexStreaming<StreamingOutputCallRequest, StreamingOutputCallResponse>(ServiceName, "FullDuplexCall", StreamingOutputCallRequest.Parser, FullDuplexCallAsync);
        router.AddDuplexStreaming<StreamingOutputCallRequest, StreamingOutputCallResponse>(ServiceName, "HalfDuplexCall", StreamingOutputCallRequest.Parser, HalfDuplexCallAsync);
    }

    private static async Task<SimpleResponse> UnaryCallAsync(SimpleRequest request, ServerCallContext context)
    {
        await EchoMetadataAsync(context).ConfigureAwait(false);
        ThrowIfEchoStatus(request.ResponseStatus);
        if (request.ExpectCompressed?.Value == true)
        {
            // A compressed request would have been refused by the transport: this one was not compressed.
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Expected a compressed request; compression is not supported."));
        }

        return new SimpleResponse { Payload = CreatePayload(request.ResponseSize) };
    }

    private static async Task StreamingOutputCallAsync(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> writer, ServerCallContext context)
    {
        await EchoMetadataAsync(context).ConfigureAwait(false);
        ThrowIfEchoStatus(request.ResponseStatus);
        await WriteResponsesAsync(request, writer, context).ConfigureAwait(false);
    }

    private static async Task<StreamingInputCallResponse> StreamingInputCallAsync(IAsyncStreamReader<StreamingInputCallRequest> requests, ServerCallContext context)
    {
        var total = 0;
        while (await requests.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            total += requests.Current.Payload?.Body.Length ?? 0;
        }

        return new StreamingInputCallResponse { AggregatedPayloadSize = total };
    }

    private static async Task FullDuplexCallAsync(IAsyncStreamReader<StreamingOutputCallRequest> requests, IServerStreamWriter<StreamingOutputCallResponse> writer, ServerCallContext context)
    {
        await EchoMetadataAsync(context).ConfigureAwait(false);
        while (await requests.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            ThrowIfEchoStatus(requests.Current.ResponseStatus);
            await WriteResponsesAsync(requests.Current, writer, context).ConfigureAwait(false);
        }
    }

    private static async Task HalfDuplexCallAsync(IAsyncStreamReader<StreamingOutputCallRequest> requests, IServerStreamWriter<StreamingOutputCallResponse> writer, ServerCallContext context)
    {
        await EchoMetadataAsync(context).ConfigureAwait(false);
        var buffered = new List<StreamingOutputCallRequest>();
        while (await requests.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            ThrowIfEchoStatus(requests.Current.ResponseStatus);
            buffered.Add(requests.Current);
        }

        foreach (var request in buffered)
        {
            await WriteResponsesAsync(request, writer, context).ConfigureAwait(false);
        }
    }

    private static async Task WriteResponsesAsync(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> writer, ServerCallContext context)
    {
        foreach (var parameters in request.ResponseParameters)
        {
            if (parameters.IntervalUs > 0)
            {
                await Task.Delay(TimeSpan.FromMicroseconds(parameters.IntervalUs), context.CancellationToken).ConfigureAwait(false);
            }

            await writer.WriteAsync(new StreamingOutputCallResponse { Payload = CreatePayload(parameters.Size) }, context.CancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task EchoMetadataAsync(ServerCallContext context)
    {
        var trailing = context.RequestHeaders.Get(EchoTrailingKey);
        if (trailing is not null)
        {
            context.ResponseTrailers.Add(trailing);
        }

        var initial = context.RequestHeaders.Get(EchoInitialKey);
        if (initial is not null)
        {
            await context.WriteResponseHeadersAsync([initial]).ConfigureAwait(false);
        }
    }

    private static void ThrowIfEchoStatus(EchoStatus? status)
    {
        if (status is { Code: not 0 })
        {
            throw new RpcException(new Status((StatusCode)status.Code, status.Message));
        }
    }

    private static Payload CreatePayload(int size) =>
        new() { Type = PayloadType.Compressable, Body = size > 0 ? ByteString.CopyFrom(new byte[size]) : ByteString.Empty };
}
