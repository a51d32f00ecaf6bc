using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Snn.Grpc;
using Snn.Server.Rpc;

namespace Snn.FunctionalTests.Transport;

/// <summary>A tiny service over well-known message types that exercises every call shape and error path.</summary>
internal static class EchoTestService
{
    public const string Name = "transport.test.Echo";

    public static void Register(GrpcRouter router, TransportObservations observations)
    {
        router.AddUnary<StringValue, StringValue>(Name, "Echo", StringValue.Parser, static (request, _) => Task.FromResult(new StringValue { Value = request.Value }));
        router.AddUnary<StringValue, StringValue>(Name, "Fail", StringValue.Parser, static (request, _) =>
            throw new RpcException(new Status(StatusCode.FailedPrecondition, request.Value), [new Metadata.Entry("x-detail", "why")]));
        router.AddUnary<StringValue, StringValue>(Name, "Crash", StringValue.Parser, static (_, _) =>
            throw new InvalidOperationException("secret internals"));
        router.AddUnary<StringValue, StringValue>(Name, "SetStatus", StringValue.Parser, static (_, context) =>
        {
            context.Status = new Status(StatusCode.Aborted, "set by handler");
            return Task.FromResult(new StringValue { Value = "not sent" });
        });
        router.AddUnary<StringValue, StringValue>(Name, "EchoMetadata", StringValue.Parser, static async (request, context) =>
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
        });
        router.AddUnary<StringValue, StringValue>(Name, "Sleep", StringValue.Parser, async (_, context) =>
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
        });
        router.AddUnary<StringValue, StringValue>(Name, "SleepIgnoringToken", StringValue.Parser, async (_, _) =>
        {
            observations.Started();
            await observations.Released;
            return new StringValue { Value = "too late" };
        });
        router.AddUnary<Int32Value, BytesValue>(Name, "Big", Int32Value.Parser, static (request, _) =>
            Task.FromResult(new BytesValue { Value = ByteString.CopyFrom(new byte[request.Value]) }));
        router.AddUnary<BytesValue, Int32Value>(Name, "Length", BytesValue.Parser, static (request, _) =>
            Task.FromResult(new Int32Value { Value = request.Value.Length }));

        router.AddServerStreaming<Int32Value, StringValue>(Name, "Count", Int32Value.Parser, static async (request, writer, _) =>
        {
            for (var i = 0; i < request.Value; i++)
            {
                await writer.WriteAsync(new StringValue { Value = i.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            }
        });
        router.AddServerStreaming<Int32Value, StringValue>(Name, "CountThenFail", Int32Value.Parser, static async (request, writer, _) =>
        {
            for (var i = 0; i < request.Value; i++)
            {
                await writer.WriteAsync(new StringValue { Value = "x" });
            }

            throw new RpcException(new Status(StatusCode.Aborted, "stopped after " + request.Value));
        });

        router.AddClientStreaming<StringValue, StringValue>(Name, "Concat", StringValue.Parser, static async (requests, context) =>
        {
            var parts = new List<string>();
            while (await requests.MoveNext(context.CancellationToken))
            {
                parts.Add(requests.Current.Value);
            }

            return new StringValue { Value = string.Join(",", parts) };
        });

        router.AddDuplexStreaming<StringValue, StringValue>(Name, "PingPong", StringValue.Parser, static async (requests, writer, context) =>
        {
            while (await requests.MoveNext(context.CancellationToken))
            {
                await writer.WriteAsync(new StringValue { Value = "pong:" + requests.Current.Value });
            }
        });
        router.AddDuplexStreaming<StringValue, StringValue>(Name, "WaitForCancel", StringValue.Parser, async (_, writer, context) =>
        {
            await writer.WriteAsync(new StringValue { Value = "ready" });
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
        });
    }
}
