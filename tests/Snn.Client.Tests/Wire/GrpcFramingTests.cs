using System.Buffers;
using System.IO.Pipelines;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Snn.Grpc;

namespace Snn.Client.Tests.Wire;

public sealed class GrpcFramingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static byte[] Frames(params IMessage<StringValue>[] messages)
    {
        var writer = new ArrayBufferWriter<byte>();
        foreach (var message in messages)
        {
            GrpcFraming.WriteMessage(writer, (StringValue)message, GrpcFraming.DefaultMaxMessageSize);
        }

        return writer.WrittenSpan.ToArray();
    }

    [Fact]
    public void WriteMessage_WritesFlagLengthAndMessage()
    {
        var bytes = Frames(new StringValue { Value = "ab" });
        Assert.Equal(new byte[] { 0, 0, 0, 0, 4, 0x0A, 2, (byte)'a', (byte)'b' }, bytes);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0 }, Frames(new StringValue()));
    }

    [Fact]
    public void TryReadFrame_TakesWholeFramesOnly()
    {
        var bytes = Frames(new StringValue { Value = "one" }, new StringValue { Value = "two" });
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(GrpcFraming.TryReadFrame(ref buffer, 100, out var compressed, out var first));
        Assert.False(compressed);
        Assert.Equal("one", StringValue.Parser.ParseFrom(first).Value);
        Assert.True(GrpcFraming.TryReadFrame(ref buffer, 100, out _, out var second));
        Assert.Equal("two", StringValue.Parser.ParseFrom(second).Value);
        Assert.True(buffer.IsEmpty);

        var partial = new ReadOnlySequence<byte>(bytes, 0, 7);
        Assert.False(GrpcFraming.TryReadFrame(ref partial, 100, out _, out _));
        Assert.Equal(7, partial.Length);
    }

    [Fact]
    public async Task ReadMessageAsync_FramesSplitAcrossWrites_AreReassembled()
    {
        var pipe = new Pipe();
        var bytes = Frames(new StringValue { Value = new string('x', 300) }, new StringValue { Value = "tail" });
        var reading = Task.Run(async () =>
        {
            var first = await GrpcFraming.ReadMessageAsync(pipe.Reader, StringValue.Parser, 1000, null, default);
            var second = await GrpcFraming.ReadMessageAsync(pipe.Reader, StringValue.Parser, 1000, null, default);
            var end = await GrpcFraming.ReadMessageAsync(pipe.Reader, StringValue.Parser, 1000, null, default);
            return (first, second, end);
        });

        // One byte at a time: splits inside the header, inside the body and between frames.
        foreach (var b in bytes)
        {
            await pipe.Writer.WriteAsync(new[] { b });
        }

        await pipe.Writer.CompleteAsync();
        var (first, second, end) = await reading.WaitAsync(Timeout);
        Assert.Equal(new string('x', 300), first!.Value);
        Assert.Equal("tail", second!.Value);
        Assert.Null(end);
    }

    [Fact]
    public async Task ReadMessageAsync_Oversize_FailsAsSoonAsTheHeaderArrives()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 0, 0, 0, 4, 0 }); // announces 1024 bytes, none sent

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            GrpcFraming.ReadMessageAsync(pipe.Reader, StringValue.Parser, 1023, null, default).AsTask().WaitAsync(Timeout));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("1024 > 1023", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadMessageAsync_ExactlyTheLimit_IsAccepted()
    {
        var message = new BytesValue { Value = ByteString.CopyFrom(new byte[1000]) };
        var pipe = new Pipe();
        GrpcFraming.WriteMessage(pipe.Writer, message, 10_000);
        await pipe.Writer.CompleteAsync();
        var read = await GrpcFraming.ReadMessageAsync(pipe.Reader, BytesValue.Parser, message.CalculateSize(), null, default).AsTask().WaitAsync(Timeout);
        Assert.Equal(1000, read!.Value.Length);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 9, 1, 2 })]
    public async Task ReadMessageAsync_TruncatedFrame_IsInternal(byte[] bytes)
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(bytes);
        await pipe.Writer.CompleteAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            GrpcFraming.ReadMessageAsync(pipe.Reader, StringValue.Parser, 100, null, default).AsTask().WaitAsync(Timeout));
        Assert.Equal(StatusCode.Internal, error.StatusCode);
    }

    [Theory]
    [InlineData("gzip", StatusCode.Unimplemented)]
    [InlineData(null, StatusCode.Internal)]
    [InlineData("identity", StatusCode.Internal)]
    public async Task ReadMessageAsync_CompressedMessage_IsRefused(string? encoding, StatusCode expected)
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 1, 0, 0, 0, 1, 0 });
        await pipe.Writer.CompleteAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            GrpcFraming.ReadMessageAsync(pipe.Reader, StringValue.Parser, 100, encoding, default).AsTask().WaitAsync(Timeout));
        Assert.Equal(expected, error.StatusCode);
    }

    [Fact]
    public void InvalidFlag_IsInternal()
    {
        var buffer = new ReadOnlySequence<byte>(new byte[] { 2, 0, 0, 0, 0 });
        var error = Assert.Throws<RpcException>(() => GrpcFraming.TryReadFrame(ref buffer, 100, out _, out _));
        Assert.Equal(StatusCode.Internal, error.StatusCode);
    }

    [Fact]
    public async Task ReadMessageAsync_InvalidProtobuf_SurfacesAsInvalidProtocolBufferException()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 0, 0, 0, 0, 3, 0x0A, 0xFF, 0xFF });
        await pipe.Writer.CompleteAsync();
        await Assert.ThrowsAsync<InvalidProtocolBufferException>(() =>
            GrpcFraming.ReadMessageAsync(pipe.Reader, StringValue.Parser, 100, null, default).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public void WriteMessage_OverTheLimit_IsResourceExhausted()
    {
        var error = Assert.Throws<RpcException>(() =>
            GrpcFraming.WriteMessage(new ArrayBufferWriter<byte>(), new StringValue { Value = new string('x', 200) }, 100));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task LargeMessages_UseTheSegmentedWritePath_AndRoundTrip()
    {
        var message = new BytesValue { Value = ByteString.CopyFrom(Enumerable.Range(0, 1_000_000).Select(i => (byte)i).ToArray()) };
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        GrpcFraming.WriteMessage(pipe.Writer, message, GrpcFraming.DefaultMaxMessageSize);
        await pipe.Writer.CompleteAsync();
        var read = await GrpcFraming.ReadMessageAsync(pipe.Reader, BytesValue.Parser, GrpcFraming.DefaultMaxMessageSize, null, default).AsTask().WaitAsync(Timeout);
        Assert.Equal(message, read);
    }

    [Fact]
    public async Task StreamVariants_RoundTrip_AndEnforceTheLimit()
    {
        using var stream = new MemoryStream();
        await GrpcFraming.WriteMessageAsync(stream, new StringValue { Value = "s1" }, 100, default);
        await GrpcFraming.WriteMessageAsync(stream, new StringValue { Value = "s2" }, 100, default);
        stream.Position = 0;
        Assert.Equal("s1", (await GrpcFraming.ReadMessageAsync(stream, StringValue.Parser, 100, null, default))!.Value);
        Assert.Equal("s2", (await GrpcFraming.ReadMessageAsync(stream, StringValue.Parser, 100, null, default))!.Value);
        Assert.Null(await GrpcFraming.ReadMessageAsync(stream, StringValue.Parser, 100, null, default));

        using var oversize = new MemoryStream([0, 0, 0, 1, 0]);
        var error = await Assert.ThrowsAsync<RpcException>(() => GrpcFraming.ReadMessageAsync(oversize, StringValue.Parser, 100, null, default).AsTask());
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);

        using var truncated = new MemoryStream([0, 0, 0, 0, 5, 1]);
        error = await Assert.ThrowsAsync<RpcException>(() => GrpcFraming.ReadMessageAsync(truncated, StringValue.Parser, 100, null, default).AsTask());
        Assert.Equal(StatusCode.Internal, error.StatusCode);
    }
}
