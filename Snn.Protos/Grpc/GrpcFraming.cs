using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Google.Protobuf;

namespace Snn.Grpc;

/// <summary>
/// The gRPC length-prefixed message framing: a 1-byte compressed flag, a 4-byte big-endian
/// length, then the message. Readers enforce a maximum message size before buffering the
/// message (RESOURCE_EXHAUSTED); writers enforce the sending limit the same way.
/// </summary>
public static class GrpcFraming
{
    /// <summary>Size of the frame header: flag + length.</summary>
    public const int HeaderSize = 5;

    /// <summary>The default message size limit in both directions: 4 MiB.</summary>
    public const int DefaultMaxMessageSize = 4 * 1024 * 1024;

    // Messages up to this size are serialized straight into one span of the writer.
    private const int ContiguousWriteLimit = 64 * 1024;

    /// <summary>
    /// Takes one whole frame off the front of <paramref name="buffer"/>. Returns false (and leaves
    /// the buffer as it is) when the frame is not complete yet. Throws <see cref="RpcException"/>
    /// RESOURCE_EXHAUSTED as soon as the header announces a message over
    /// <paramref name="maxMessageSize"/>, and INTERNAL for an invalid flag byte.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxMessageSize, out bool compressed, out ReadOnlySequence<byte> message)
    {
        compressed = false;
        message = default;
        if (buffer.Length < HeaderSize)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        var flag = header[0];
        if (flag > 1)
        {
            GrpcThrow.InvalidFlag(flag);
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > (uint)maxMessageSize)
        {
            GrpcThrow.ReceiveTooLarge(length, maxMessageSize);
        }

        if (buffer.Length - HeaderSize < length)
        {
            return false;
        }

        compressed = flag == 1;
        message = buffer.Slice(HeaderSize, length);
        buffer = buffer.Slice(message.End);
        return true;
    }

    /// <summary>
    /// Reads and parses the next message; returns null at the end of the stream. A truncated frame
    /// at the end is INTERNAL; a compressed message is UNIMPLEMENTED (only identity is supported),
    /// or INTERNAL when <paramref name="messageEncoding"/> (the grpc-encoding header) does not
    /// announce one. Invalid protobuf surfaces as <see cref="InvalidProtocolBufferException"/>
    /// so that each side can map it to its own status.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<T?> ReadMessageAsync<T>(PipeReader reader, MessageParser<T> parser, int maxMessageSize, string? messageEncoding, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(parser);
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            bool complete;
            bool compressed;
            ReadOnlySequence<byte> payload;
            try
            {
                if (result.IsCanceled)
                {
                    throw new OperationCanceledException("The read was cancelled.");
                }

                complete = TryReadFrame(ref buffer, maxMessageSize, out compressed, out payload);
            }
            catch
            {
                reader.AdvanceTo(result.Buffer.Start);
                throw;
            }

            if (complete)
            {
                try
                {
                    if (compressed)
                    {
                        GrpcThrow.Compressed(messageEncoding);
                    }

                    return parser.ParseFrom(payload);
                }
                finally
                {
                    reader.AdvanceTo(buffer.Start);
                }
            }

            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                if (buffer.Length == 0)
                {
                    return null;
                }

                GrpcThrow.Incomplete();
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>The <see cref="Stream"/> counterpart of <see cref="ReadMessageAsync{T}(PipeReader, MessageParser{T}, int, string?, CancellationToken)"/>.</summary>
    public static async ValueTask<T?> ReadMessageAsync<T>(Stream stream, MessageParser<T> parser, int maxMessageSize, string? messageEncoding, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(parser);
        var header = ArrayPool<byte>.Shared.Rent(HeaderSize);
        try
        {
            var read = await stream.ReadAtLeastAsync(header.AsMemory(0, HeaderSize), HeaderSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return null;
            }

            if (read < HeaderSize)
            {
                GrpcThrow.Incomplete();
            }

            var sequence = new ReadOnlySequence<byte>(header, 0, HeaderSize);
            var flag = header[0];
            if (flag > 1)
            {
                GrpcThrow.InvalidFlag(flag);
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1, 4));
            if (length > (uint)maxMessageSize)
            {
                GrpcThrow.ReceiveTooLarge(length, maxMessageSize);
            }

            var body = ArrayPool<byte>.Shared.Rent((int)length);
            try
            {
                read = await stream.ReadAtLeastAsync(body.AsMemory(0, (int)length), (int)length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (read < length)
                {
                    GrpcThrow.Incomplete();
                }

                if (flag == 1)
                {
                    GrpcThrow.Compressed(messageEncoding);
                }

                return parser.ParseFrom(body.AsSpan(0, (int)length));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(body);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(header);
        }
    }

    /// <summary>
    /// Writes one uncompressed frame into <paramref name="writer"/> without flushing. Throws
    /// <see cref="RpcException"/> RESOURCE_EXHAUSTED for a message over <paramref name="maxMessageSize"/>.
    /// </summary>
    public static void WriteMessage<T>(IBufferWriter<byte> writer, T message, int maxMessageSize)
        where T : IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(message);
        var size = message.CalculateSize();
        if (size > maxMessageSize)
        {
            GrpcThrow.SendTooLarge(size, maxMessageSize);
        }

        if (size <= ContiguousWriteLimit)
        {
            var span = writer.GetSpan(HeaderSize + size);
            WriteHeader(span, size);
            if (size > 0)
            {
                message.WriteTo(span.Slice(HeaderSize, size));
            }

            writer.Advance(HeaderSize + size);
            return;
        }

        WriteHeader(writer.GetSpan(HeaderSize), size);
        writer.Advance(HeaderSize);
        message.WriteTo(writer);
    }

    /// <summary>Writes one frame and flushes the pipe. Returns the flush result.</summary>
    public static ValueTask<FlushResult> WriteMessageAsync<T>(PipeWriter writer, T message, int maxMessageSize, CancellationToken cancellationToken)
        where T : IMessage<T>
    {
        WriteMessage(writer, message, maxMessageSize);
        return writer.FlushAsync(cancellationToken);
    }

    /// <summary>Writes one frame to <paramref name="stream"/> (a pooled buffer, one write call) without flushing.</summary>
    public static async ValueTask WriteMessageAsync<T>(Stream stream, T message, int maxMessageSize, CancellationToken cancellationToken)
        where T : IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(message);
        var size = message.CalculateSize();
        if (size > maxMessageSize)
        {
            GrpcThrow.SendTooLarge(size, maxMessageSize);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(HeaderSize + size);
        try
        {
            WriteHeader(buffer, size);
            if (size > 0)
            {
                message.WriteTo(buffer.AsSpan(HeaderSize, size));
            }

            await stream.WriteAsync(buffer.AsMemory(0, HeaderSize + size), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void WriteHeader(Span<byte> destination, int size)
    {
        destination[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)size);
    }
}
