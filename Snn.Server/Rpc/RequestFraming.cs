using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Snn.Server.Rpc;

/// <summary>
/// Checks the gRPC message framing of every request body (each message's 5-byte prefix: a compressed flag
/// of 0 or 1, then the length) as the server reads it, and refuses a body that breaks it with
/// INVALID_ARGUMENT saying how. grpc-dotnet reads the framing before any interceptor runs and answers
/// such bodies INTERNAL ("Incomplete message.", "Additional data after the message received.") or, for a
/// compressed flag other than 0 or 1, or a length of 2^31 or more, UNKNOWN with an error in the log: a
/// client's malformed request is not a fault of the server. A message longer than <c>Snn:MaxMessageBytes</c>
/// is RESOURCE_EXHAUSTED naming the limit, as soon as its prefix arrives. An unknown grpc-encoding is left
/// to grpc-dotnet (UNIMPLEMENTED).
/// </summary>
internal static class RequestFraming
{
    public static IApplicationBuilder UseGrpcRequestFraming(this IApplicationBuilder app)
    {
        int maxMessageBytes = app.ApplicationServices.GetRequiredService<IOptions<GrpcServiceOptions>>().Value.MaxReceiveMessageSize ?? int.MaxValue;
        return app.Use((context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is { } grpc
                && context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true
                && context.Features.Get<IRequestBodyPipeFeature>() is { } body)
            {
                bool single = grpc.Method.Type is MethodType.Unary or MethodType.ServerStreaming;
                bool encoded = context.Request.Headers.TryGetValue("grpc-encoding", out var encoding)
                    && !string.Equals(encoding.ToString(), "identity", StringComparison.OrdinalIgnoreCase);
                context.Features.Set<IRequestBodyPipeFeature>(new Feature(new CheckingReader(body.Reader, single, encoded, maxMessageBytes)));
            }

            return next(context);
        });
    }

    private sealed class Feature(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader => reader;
    }

    /// <summary>
    /// Passes the body through unchanged, parsing each message prefix once as it arrives (positions are
    /// counted from the start of the body, since the reader's consumer advances past whole messages).
    /// </summary>
    private sealed class CheckingReader(PipeReader inner, bool single, bool encoded, int maxMessageBytes) : PipeReader
    {
        private ReadOnlySequence<byte> _buffer;
        private long _consumed;   // body bytes the consumer has consumed
        private long _next;       // body offset of the next message prefix not yet checked
        private long _length;     // the length the last checked prefix declared
        private int _messages;    // message prefixes checked

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            var result = await inner.ReadAsync(cancellationToken);
            Check(result);
            return result;
        }

        public override bool TryRead(out ReadResult result)
        {
            if (!inner.TryRead(out result))
            {
                return false;
            }

            Check(result);
            return true;
        }

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            _consumed += _buffer.Slice(_buffer.Start, consumed).Length;
            _buffer = default;
            inner.AdvanceTo(consumed, examined);
        }

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        private void Check(ReadResult result)
        {
            _buffer = result.Buffer;
            long end = _consumed + result.Buffer.Length;
            Span<byte> prefix = stackalloc byte[5];
            while (_next + 5 <= end)
            {
                result.Buffer.Slice(_next - _consumed, 5).CopyTo(prefix);
                _messages++;
                _length = BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
                if (prefix[0] > 1)
                {
                    throw Refuse($"request message {_messages} has the compressed-flag byte {prefix[0]}; the first byte of each message's 5-byte prefix must be 0 or 1");
                }

                if (prefix[0] == 1 && !encoded)
                {
                    throw Refuse($"request message {_messages} is marked compressed but the request has no grpc-encoding header; send it uncompressed (flag 0) or name its encoding");
                }

                if (single && _messages > 1)
                {
                    throw Refuse("this method takes exactly one request message; the request carries more");
                }

                if (_length > maxMessageBytes)
                {
                    throw new RpcException(new Status(StatusCode.ResourceExhausted,
                        $"request message {_messages} is {_length} bytes; the server takes messages of at most {maxMessageBytes} bytes (Snn:MaxMessageBytes)"));
                }

                _next += 5 + _length;
            }

            if (!result.IsCompleted || result.IsCanceled)
            {
                return;
            }

            if (_next < end)
            {
                throw Refuse($"the request ends inside the 5-byte prefix of message {_messages + 1} ({end - _next} of 5 bytes)");
            }

            if (_next > end)
            {
                throw Refuse($"the request ends inside message {_messages}: its prefix promises {_length} bytes, {_length - (_next - end)} came");
            }

            if (single && _messages == 0)
            {
                throw Refuse("this method takes exactly one request message; the request carries none");
            }
        }

        private static RpcException Refuse(string what) =>
            new(new Status(StatusCode.InvalidArgument, $"malformed gRPC framing: {what}"));
    }
}
