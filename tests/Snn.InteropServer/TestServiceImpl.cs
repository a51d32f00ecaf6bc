using Google.Protobuf;
using Grpc.Core;
using Snn.InteropServer.Testing;

namespace Snn.InteropServer;

/// <summary>
/// The server features of grpc/doc/interop-test-descriptions.md: EmptyCall, UnaryCall,
/// StreamingOutputCall, StreamingInputCall, FullDuplexCall, HalfDuplexCall, Echo Status,
/// Echo Metadata and ResponseParameters.interval_us. UnimplementedCall is deliberately not
/// overridden, so the generated base answers UNIMPLEMENTED; UnimplementedService is not mapped.
/// </summary>
internal sealed class TestServiceImpl : TestService.TestServiceBase
{
    public const string ServiceName = "grpc.testing.TestService";
    private const string EchoInitialKey = "x-grpc-test-echo-initial";
    private const string EchoTrailingKey = "x-grpc-test-echo-trailing-bin";

    public override Task<Empty> EmptyCall(Empty request, ServerCallContext context) => Task.FromResult(new Empty());

    public override async Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context)
    {
        await EchoMetadataAsync(context).ConfigureAwait(false);
        ThrowIfEchoStatus(request.ResponseStatus);
        if (request.ExpectCompressed?.Value == true)
        {
            // The interop client sends no compressed requests; none of its cases asks for this.
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Expected a compressed request; compression is not supported."));
        }

        return new SimpleResponse { Payload = CreatePayload(request.ResponseSize) };
    }

    public override async Task StreamingOutputCall(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> responseStream,
        ServerCallContext context)
    {
        await EchoMetadataAsync(context).ConfigureAwait(false);
        ThrowIfEchoStatus(request.ResponseStatus);
        await WriteResponsesAsync(request, responseStream, context).ConfigureAwait(false);
    }

    public override async Task<StreamingInputCallResponse> StreamingInputCall(IAsyncStreamReader<StreamingInputCallRequest> requestStream,
        ServerCallContext context)
    {
        var total = 0;
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            total += request.Payload?.Body.Length ?? 0;
        }

        return new StreamingInputCallResponse { AggregatedPayloadSize = total };
    }

    public override async Task FullDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requestStream,
        IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context)
    {
        await EchoMetadataAsync(context).ConfigureAwait(false);
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            ThrowIfEchoStatus(request.ResponseStatus);
            await WriteResponsesAsync(request, responseStream, context).ConfigureAwait(false);
        }
    }

    public override async Task HalfDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requestStream,
        IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context)
    {
        await EchoMetadataAsync(context).ConfigureAwait(false);
        var buffered = new List<StreamingOutputCallRequest>();
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            ThrowIfEchoStatus(request.ResponseStatus);
            buffered.Add(request);
        }

        foreach (var request in buffered)
        {
            await WriteResponsesAsync(request, responseStream, context).ConfigureAwait(false);
        }
    }

    private static async Task WriteResponsesAsync(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> writer,
        ServerCallContext context)
    {
        foreach (var parameters in request.ResponseParameters)
        {
            if (parameters.IntervalUs > 0)
            {
                await Task.Delay(TimeSpan.FromMicroseconds(parameters.IntervalUs), context.CancellationToken).ConfigureAwait(false);
            }

            await writer.WriteAsync(new StreamingOutputCallResponse { Payload = CreatePayload(parameters.Size) }, context.CancellationToken)
                .ConfigureAwait(false);
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
