using System.Buffers.Binary;
using System.Collections.Concurrent;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Grpc.Core;
using Snn.Server.Rpc;

namespace Snn.Cli.Bench;

/// <summary>
/// The raw-transport baseline: Grpc.AspNetCore on the server's Kestrel setup (h2c) with one duplex method
/// that answers every request with a message of the size the request asks for, and no engine
/// behind it. The request is a <see cref="BytesValue"/> whose first 4 bytes (little-endian) are the
/// encoded size of the wanted response; the rest is padding up to the size being mimicked.
/// </summary>
internal static class EchoServer
{
    public const string Path = "/snn.bench.Echo/Echo";

    private static readonly ConcurrentDictionary<int, BytesValue> Responses = new();

    /// <summary>Serves until <paramref name="cancellationToken"/> fires (Ctrl+C, SIGTERM).</summary>
    public static async Task RunAsync(int port, TextWriter output, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, $"http://127.0.0.1:{port}");
        builder.Configuration["Snn:HttpUrls"] = string.Empty;
        builder.ConfigureGrpcKestrel();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddGrpc();
        // grpc-dotnet answers UNKNOWN for a service with no health check: one that is always healthy.
        builder.Services.AddGrpcHealthChecks().AddCheck("echo", () => HealthCheckResult.Healthy());
        await using var app = builder.Build();
        app.MapGrpcService<EchoService>();
        app.MapGrpcHealthChecksService();
        await app.StartAsync(cancellationToken);
        await output.WriteLineAsync($"echo server listening on http://127.0.0.1:{port}{Path}");
        await output.FlushAsync(cancellationToken);
        // Stop on Ctrl+C / SIGTERM, whichever of System.CommandLine and the host's console lifetime sees it.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, app.Lifetime.ApplicationStopping);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
            // Stop.
        }

        await app.StopAsync(CancellationToken.None);
    }

    private sealed class EchoService : Echo.Echo.EchoBase
    {
        public override async Task Echo(IAsyncStreamReader<BytesValue> requestStream, IServerStreamWriter<BytesValue> responseStream, ServerCallContext context)
        {
            var token = context.CancellationToken;
            while (await requestStream.MoveNext(token))
            {
                var payload = requestStream.Current.Value.Span;
                int size = payload.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(payload) : 0;
                await responseStream.WriteAsync(Responses.GetOrAdd(Math.Clamp(size, 0, 1 << 20), static s => Payload(s, null)), token);
            }
        }
    }

    /// <summary>
    /// A BytesValue whose encoded size is <paramref name="encodedSize"/> (or the nearest possible:
    /// a non-empty BytesValue is at least 2 bytes), starting with <paramref name="header"/> when given.
    /// </summary>
    public static BytesValue Payload(int encodedSize, int? header)
    {
        int length = PayloadLength(encodedSize);
        if (header is not null)
        {
            length = Math.Max(length, 4);
        }

        var bytes = new byte[length];
        if (header is { } h)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes, h);
        }

        return new BytesValue { Value = UnsafeByteOperations.UnsafeWrap(bytes) };
    }

    /// <summary>The payload length L with 1 (tag) + varint(L) + L = <paramref name="encodedSize"/>, as close as it gets.</summary>
    internal static int PayloadLength(int encodedSize)
    {
        if (encodedSize <= 1)
        {
            return 0;
        }

        for (int length = encodedSize - 2; length >= 0; length--)
        {
            if (1 + CodedOutputStream.ComputeLengthSize(length) + length <= encodedSize)
            {
                return length;
            }
        }

        return 0;
    }
}
