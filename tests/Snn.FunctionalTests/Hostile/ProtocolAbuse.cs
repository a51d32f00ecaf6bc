using System.Net;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Snn.Client;
using Snn.FunctionalTests.Api;
using Snn.Protos.V1;
using Xunit.Abstractions;
using static Snn.FunctionalTests.Api.Specs;

namespace Snn.FunctionalTests.Hostile;

/// <summary>
/// What a hostile client does below the messages: broken framing, wrong content types, HTTP/1.1 on the
/// h2c port, oversized headers, connections dropped at every stage of a call, streams that never read,
/// and networks of absurd size. Each case asserts the answer the server documents (or, where the
/// transport itself is cut, nothing: the test's closing checks show the server and other streams went on).
/// </summary>
internal sealed partial class ProtocolAbuse(Uri address, SnnClient client, ITestOutputHelper output)
{
    private const string GetServerInfo = "/snn.v1.Snn/GetServerInfo";
    private const string GetNetwork = "/snn.v1.Snn/GetNetwork";
    private const string Run = "/snn.v1.Snn/Run";
    private const string Watch = "/snn.v1.Snn/Watch";
    private const string Target = "fz";

    public async Task RunAllAsync(int repeats)
    {
        using var wire = new GrpcWire(address);
        await BrokenFramingAsync(wire);
        await WrongContentTypesAsync(wire);
        await MalformedTimeoutsAsync(wire);
        await Http11OnTheH2cPortAsync();
        await OversizedHeadersAsync();
        for (int i = 0; i < repeats; i++)
        {
            await DisconnectsAtEveryStageAsync();
        }

        await StreamsThatNeverReadAsync();
    }

    /// <summary>Truncated frames, a compressed flag with no grpc-encoding, unknown encodings, and an oversized message.</summary>
    private static async Task BrokenFramingAsync(GrpcWire wire)
    {
        byte[] name = new GetNetworkRequest { Name = Target }.ToByteArray();
        byte[] open = new RunRequest { Open = new RunOpen { Network = Target } }.ToByteArray();
        var cases = new (string What, string Path, byte[] Body, string[]? Headers, StatusCode[] Allowed)[]
        {
            ("a prefix of 3 bytes", GetNetwork, [0, 0, 0], null, [StatusCode.InvalidArgument]),
            ("a frame that promises 100 bytes and sends 4", GetNetwork, GrpcWire.Frame(name.AsSpan(0, 4), declaredLength: 100), null, [StatusCode.InvalidArgument]),
            ("a Run frame that promises more than it sends", Run, [.. GrpcWire.Frame(open), .. GrpcWire.Frame(name.AsSpan(0, 2), declaredLength: 1000)], null, [StatusCode.InvalidArgument]),
            ("a Watch frame that promises more than it sends", Watch, GrpcWire.Frame(name, declaredLength: 4096), null, [StatusCode.InvalidArgument]),
            ("a frame that declares 4 GiB", GetNetwork, GrpcWire.Frame(name, declaredLength: uint.MaxValue), null, [StatusCode.ResourceExhausted]),
            ("a message over Snn:MaxMessageBytes", GetNetwork, GrpcWire.Frame(new byte[(4 << 20) + 1]), null, [StatusCode.ResourceExhausted]),
            ("the compressed flag with no grpc-encoding", GetNetwork, GrpcWire.Frame(name, compressed: true), null, [StatusCode.InvalidArgument]),
            ("the compressed flag on a Run stream with no grpc-encoding", Run, GrpcWire.Frame(open, compressed: true), null, [StatusCode.InvalidArgument]),
            ("gzip declared, bytes not gzip", GetNetwork, GrpcWire.Frame(name, compressed: true), ["grpc-encoding", "gzip"], [StatusCode.InvalidArgument]),
            ("an encoding the server does not know", GetNetwork, GrpcWire.Frame(name, compressed: true), ["grpc-encoding", "zstd-9"], [StatusCode.Unimplemented]),
            ("an empty body to a unary method", GetNetwork, [], null, [StatusCode.InvalidArgument]),
            ("two messages to a unary method", GetNetwork, GrpcWire.Frames([name, name]), null, [StatusCode.InvalidArgument]),
            ("an unknown method", "/snn.v1.Snn/Nope", GrpcWire.Frame(name), null, [StatusCode.Unimplemented]),
            ("an unknown service", "/snn.v9.Other/GetNetwork", GrpcWire.Frame(name), null, [StatusCode.Unimplemented]),
        };
        foreach (var (what, path, body, headers, allowed) in cases)
        {
            var outcome = await wire.CallAsync(path, GrpcWire.Body(body), headers is null ? null : [new(headers[0], headers[1])]);
            Assert.True(outcome is { Transport: false, LeftOpen: false, Http: 200, Status: { } s } && allowed.Contains(s),
                $"{what}: {outcome} (allowed: {string.Join(", ", allowed)})");
        }
    }

    /// <summary>Content types that are not gRPC get HTTP 415 (the gRPC protocol's answer), never a handler.</summary>
    private static async Task WrongContentTypesAsync(GrpcWire wire)
    {
        byte[] body = GrpcWire.Frame(new GetServerInfoRequest().ToByteArray());
        foreach (var type in new[] { "application/json", "text/plain", "application/grpcx", "application/octet-stream", "", "multipart/form-data; boundary=x" })
        {
            var outcome = await wire.CallAsync(GetServerInfo, GrpcWire.Body(body, type));
            Assert.True(outcome is { Transport: false, Http: 415 } && outcome.Status is not StatusCode.OK,
                $"content type '{type}': {outcome}");
        }

        // A gRPC content type with a subtype or parameters is gRPC.
        foreach (var type in new[] { "application/grpc+proto", "application/grpc; charset=utf-8" })
        {
            var outcome = await wire.CallAsync(GetServerInfo, GrpcWire.Body(body, type));
            Assert.True(outcome is { Http: 200, Status: StatusCode.OK }, $"content type '{type}': {outcome}");
        }
    }

    /// <summary>A malformed grpc-timeout is ignored (README: the call has no deadline), never a fault.</summary>
    private static async Task MalformedTimeoutsAsync(GrpcWire wire)
    {
        byte[] body = GrpcWire.Frame(new GetServerInfoRequest().ToByteArray());
        foreach (var timeout in new[] { "abc", "-1S", "99999999999S", "1x", "", "0n", "100000000H" })
        {
            var outcome = await wire.CallAsync(GetServerInfo, GrpcWire.Body(body), [new("grpc-timeout", timeout)]);
            Assert.True(outcome is { Http: 200, Status: StatusCode.OK or StatusCode.DeadlineExceeded }, $"grpc-timeout '{timeout}': {outcome}");
        }
    }

    /// <summary>HTTP/1.1 (plain, and an h2c upgrade) on the HTTP/2-only port: refused, connection closed, nothing served.</summary>
    private async Task Http11OnTheH2cPortAsync()
    {
        string[] requests =
        [
            $"POST {GetServerInfo} HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Type: application/grpc\r\nTE: trailers\r\nContent-Length: 5\r\n\r\n\0\0\0\0\0",
            $"GET / HTTP/1.1\r\nHost: {address.Authority}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
            "GET / HTTP/1.0\r\n\r\n",
        ];
        foreach (var request in requests)
        {
            using var socket = await ConnectAsync();
            await socket.SendAsync(Encoding.ASCII.GetBytes(request));
            string answer = await ReadUntilClosedAsync(socket, TimeSpan.FromSeconds(15));
            Assert.DoesNotContain("200 OK", answer, StringComparison.Ordinal);
            output.WriteLine($"HTTP/1.x on the h2c port: {answer.Length} bytes back, then closed");
        }

        using var http11 = new HttpClient { BaseAddress = address };
        using var post = new HttpRequestMessage(HttpMethod.Post, GetServerInfo)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = GrpcWire.Body(GrpcWire.Frame([])),
        };
        using var refused = await http11.SendAsync(post).Within();
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.False(refused.Headers.Contains("grpc-status"), "a gRPC method answered HTTP/1.1");
    }

    /// <summary>Headers and metadata past Kestrel's limits: the stream or connection is refused; the server goes on.</summary>
    private async Task OversizedHeadersAsync()
    {
        byte[] body = GrpcWire.Frame(new GetServerInfoRequest().ToByteArray());
        var cases = new (string What, KeyValuePair<string, string>[] Headers)[]
        {
            ("one 64 KiB metadata value", [new("x-big", new string('a', 64 << 10))]),
            ("one 1 MiB metadata value", [new("x-big-bin", Convert.ToBase64String(new byte[768 << 10]))]),
            ("2,000 metadata entries", [.. Enumerable.Range(0, 2000).Select(i => new KeyValuePair<string, string>($"x-m{i}", "value"))]),
            ("a 64 KiB authorization header", [new("authorization", "Bearer " + new string('k', 64 << 10))]),
        };
        foreach (var (what, headers) in cases)
        {
            using var wire = new GrpcWire(address);
            var outcome = await wire.CallAsync(GetServerInfo, GrpcWire.Body(body), headers);
            Assert.True(outcome.Transport || outcome.Http == 431 || outcome.Status is StatusCode.ResourceExhausted or StatusCode.InvalidArgument,
                $"{what}: {outcome}");
        }
    }
}
