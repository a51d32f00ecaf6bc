using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Snn.FunctionalTests.Transport.Protos;

namespace Snn.FunctionalTests.Transport;

/// <summary>A tiny service (echo_test.proto) that exercises every call shape and error path.</summary>
internal sealed class EchoTestService(TransportObservations observations) : Protos.Echo.EchoBase
{
    public const string Name = "transport.test.Echo";

    /// <summary>Size of each <c>Flood</c> message's payload.</summary>
    public const int FloodMessageBytes = 64 << 10;

    public override Task<StringValue> Echo(StringValue request, ServerCallContext context) =>
        Task.FromResult(new StringValue { Value = request.Value });

    public override Task<StringValue> Fail(StringValue request, ServerCallContext context) =>
        throw new RpcException(new Status(StatusCode.FailedPrecondition, request.Value), [new Metadata.Entry("x-detail", "why")]);

    public override Task<StringValue> Crash(StringValue request, ServerCallContext context) =>
        throw new InvalidOperationException("secret internals");

    public override Task<StringValue> SetStatus(StringValue request, ServerCallContext context)
    {
        context.Status = new Status(StatusCode.Aborted, "set by handler");
        return Task.FromResult(new StringValue { Value = "not for the client" });
    }

    public override async Task<StringValue> EchoMetadata(StringValue request, ServerCallContext context)
    {
        var headers = new Metadata();
        if (context.RequestHeaders.Get("x-echo") is { } echo)
        {
            headers.Add(echo);
        }

        await context.WriteResponseHeadersAsync(headers);
        if (context.RequestHeaders.Get("x-echo-bin") is { } binary)
        {
            context.ResponseTrailers.Add(binary);
        }

        return new StringValue { Value = context.Method + " " + context.Peer.StartsWith("ipv4:127.0.0.1:", StringComparison.Ordinal) };
    }

    public override async Task<StringValue> Sleep(StringValue request, ServerCallContext context)
    {
        observations.Started();
        try
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            observations.Cancelled();
            throw;
        }

        return new StringValue();
    }

    public override async Task<StringValue> SleepIgnoringToken(StringValue request, ServerCallContext context)
    {
        observations.Started();
        await observations.Released;
        return new StringValue { Value = "too late" };
    }

    public override Task<BytesValue> Big(Int32Value request, ServerCallContext context) =>
        Task.FromResult(new BytesValue { Value = ByteString.CopyFrom(new byte[request.Value]) });

    public override Task<Int32Value> Length(BytesValue request, ServerCallContext context) =>
        Task.FromResult(new Int32Value { Value = request.Value.Length });

    public override async Task Count(Int32Value request, IServerStreamWriter<StringValue> responseStream, ServerCallContext context)
    {
        for (var i = 0; i < request.Value; i++)
        {
            await responseStream.WriteAsync(new StringValue { Value = i.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }
    }

    public override async Task CountThenFail(Int32Value request, IServerStreamWriter<StringValue> responseStream, ServerCallContext context)
    {
        for (var i = 0; i < request.Value; i++)
        {
            await responseStream.WriteAsync(new StringValue { Value = "x" });
        }

        throw new RpcException(new Status(StatusCode.Aborted, "stopped after " + request.Value));
    }

    public override async Task Flood(Int32Value request, IServerStreamWriter<BytesValue> responseStream, ServerCallContext context)
    {
        var message = new BytesValue { Value = ByteString.CopyFrom(new byte[FloodMessageBytes]) };
        long written = 0;
        for (var i = 0; i < request.Value; i++)
        {
            var write = responseStream.WriteAsync(message, context.CancellationToken);
            if (!write.IsCompleted)
            {
                // The response pipe is full: the server waits for the client to read.
                observations.Blocked(written);
            }

            await write;
            written += FloodMessageBytes;
        }

        observations.Flooded();
    }

    public override async Task<StringValue> Concat(IAsyncStreamReader<StringValue> requestStream, ServerCallContext context)
    {
        var parts = new List<string>();
        await foreach (var part in requestStream.ReadAllAsync(context.CancellationToken))
        {
            parts.Add(part.Value);
        }

        return new StringValue { Value = string.Join(",", parts) };
    }

    public override async Task PingPong(IAsyncStreamReader<StringValue> requestStream, IServerStreamWriter<StringValue> responseStream, ServerCallContext context)
    {
        await foreach (var ping in requestStream.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(new StringValue { Value = "pong:" + ping.Value });
        }
    }

    public override async Task HeadersFirst(IAsyncStreamReader<StringValue> requestStream, IServerStreamWriter<StringValue> responseStream,
        ServerCallContext context)
    {
        await context.WriteResponseHeadersAsync([new Metadata.Entry("x-first", "headers")]);
        await PingPong(requestStream, responseStream, context);
    }

    public override async Task WaitForCancel(IAsyncStreamReader<StringValue> requestStream, IServerStreamWriter<StringValue> responseStream,
        ServerCallContext context)
    {
        await responseStream.WriteAsync(new StringValue { Value = "ready" });
        observations.Started();
        try
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            observations.Cancelled();
            throw;
        }
    }
}
