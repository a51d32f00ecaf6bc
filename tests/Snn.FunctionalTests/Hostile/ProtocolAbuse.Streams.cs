using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Snn.FunctionalTests.Api;
using Snn.Protos.V1;
using static Snn.FunctionalTests.Api.Specs;

namespace Snn.FunctionalTests.Hostile;

/// <summary>Dropped connections, streams that never read, and networks of absurd size.</summary>
internal sealed partial class ProtocolAbuse
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    /// <summary>
    /// A raw HTTP/2 connection reset (TCP RST) at each stage of a call: inside the preface, after it, inside
    /// a HEADERS frame, with a header block never finished, after the headers, inside a gRPC frame, in a Run
    /// stream that has opened and is stepping, and in a Watch of that instance.
    /// </summary>
    private async Task DisconnectsAtEveryStageAsync()
    {
        byte[] settings = H2Frame(4, 0, 0, []);
        byte[] headers = HeaderBlock(GetNetwork);
        byte[] request = GrpcWire.Frame(new GetNetworkRequest { Name = Target }.ToByteArray());
        byte[] run = GrpcWire.Frame(new RunRequest { Open = new RunOpen { Network = Target, Instance = 1, SpikesFrom = { "n" } }, Advance = 100_000 }.ToByteArray());
        byte[] watch = GrpcWire.Frame(new WatchRequest { Network = Target, Instance = 1, SpikesFrom = { "n" } }.ToByteArray());
        byte[] headersFrame = H2Frame(1, 4, 1, headers);
        var stages = new (string What, byte[] Bytes)[]
        {
            ("inside the preface", Preface[..10]),
            ("after the preface", [.. Preface, .. settings]),
            ("inside a HEADERS frame", [.. Preface, .. settings, .. headersFrame[..(9 + (headers.Length / 2))]]),
            ("header block never ended (no END_HEADERS, no CONTINUATION)", [.. Preface, .. settings, .. H2Frame(1, 0, 1, headers)]),
            ("after the headers, before any message", [.. Preface, .. settings, .. headersFrame]),
            ("inside a gRPC frame", [.. Preface, .. settings, .. headersFrame, .. H2Frame(0, 0, 1, request[..7])]),
            ("a whole request, before the answer is read", [.. Preface, .. settings, .. headersFrame, .. H2Frame(0, 1, 1, request)]),
            ("in a Run stream that opened and steps, and a Watch of its instance",
                [.. Preface, .. settings, .. H2Frame(1, 4, 1, HeaderBlock(Run)), .. H2Frame(0, 0, 1, run),
                 .. H2Frame(1, 4, 3, HeaderBlock(Watch)), .. H2Frame(0, 1, 3, watch)]),
        };
        foreach (var (_, bytes) in stages)
        {
            using var socket = await ConnectAsync();
            await socket.SendAsync(bytes);
            // Let the server take it in (and a stream answer) before the reset.
            await ReadForAsync(socket, TimeSpan.FromMilliseconds(100));
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }

        // The same over HttpClient: a Run whose connection drops after the first answer.
        using var wire = new GrpcWire(address);
        var held = new HeldContent(run);
        var call = wire.CallAsync(Run, held);
        await held.Written.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(100);
        wire.Abort();
        var outcome = await call.WaitAsync(GrpcWire.CallTimeout);
        Assert.True(outcome.Transport || outcome.LeftOpen || outcome.Status is StatusCode.AlreadyExists, $"Run dropped after opening: {outcome}");
    }

    /// <summary>
    /// A Watch recording every neuron of a fast network, and a Run asking for a million steps, whose client
    /// never reads; meanwhile another driver steps the network. The watcher is cut off with
    /// RESOURCE_EXHAUSTED (documented for slow watchers); the unread Run stalls only its own instance; the
    /// reading driver keeps stepping. Closing the unread streams frees what they held.
    /// </summary>
    private async Task StreamsThatNeverReadAsync()
    {
        const string fast = "fast";
        var info = await client.GetServerInfoAsync().Within();
        string variable = info.Models.Single(m => m.Name == "snntorch.Leaky").StateVariables[0];
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Feed(fast, "snntorch.Leaky", 4096, instances: 2, ("beta", Num(0.9))) }).Within();
        var record = new RecordSpec { Population = "n", Variables = { variable } };

        using var wire = new GrpcWire(address);
        using var watcher = await wire.OpenAsync(Watch, GrpcWire.Body(GrpcWire.Frame(new WatchRequest { Network = fast, Instance = 0, Record = { record } }.ToByteArray())));
        var unread = new HeldContent(GrpcWire.Frame(new RunRequest { Open = new RunOpen { Network = fast, Instance = 1, Record = { record } }, Advance = 1_000_000 }.ToByteArray()));
        using var unreadRun = await wire.OpenAsync(Run, unread);

        int steps = 0;
        await using (var driver = await client.OpenRunAsync(new RunOpen { Network = fast, Instance = 0, Record = { record } }).Within())
        {
            await driver.AdvanceAsync(1_000_000).Within();
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(3);
            while (DateTime.UtcNow < until)
            {
                var response = await driver.ReadAsync().Within();
                Assert.NotNull(response);
                steps += response.Steps.Count;
            }
        }

        Assert.True(steps > 100, $"the reading driver made only {steps} steps beside the streams that never read");
        var watched = await GrpcWire.FinishAsync(watcher);
        Assert.True(watched is { Status: StatusCode.ResourceExhausted }, $"the watcher that never read: {watched}");

        var network = await client.GetNetworkAsync(new GetNetworkRequest { Name = fast }).Within();
        Assert.True(network.Instances[1].Step < 1_000_000, "the unread Run's instance ran on although nothing read it");
        output.WriteLine($"never-reading streams: the reader made {steps} steps; the unread Run's instance stopped at step {network.Instances[1].Step}; the watcher ended {watched}");
        wire.Abort();
        await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = fast }).Within();
    }

    /// <summary>
    /// CreateNetwork asking for 2^31 neurons, 10^9 synapses, a conv2d output of terabytes and the like: each
    /// refused with a status and a message naming the field or the limit, before anything is allocated (the
    /// server's working set does not move by more than a few MiB).
    /// </summary>
    public async Task AbsurdSizesAsync(int pid)
    {
        var cases = new (string What, NetworkSpec Spec)[]
        {
            ("2^31 neurons", Feed("absurd", "sinabs.IAF", 1u << 31)),
            ("2^32-1 neurons in each of 2^32-1 instances", Feed("absurd", "sinabs.IAF", uint.MaxValue, uint.MaxValue)),
            ("a shape of 65536^3", Shaped(new PopulationSpec { Name = "in", Model = "input", Shape = { 65536, 65536, 65536 } }, 65536)),
            ("10^9 synapses of a dense projection (no weights sent)", new NetworkSpec
            {
                Name = "absurd",
                Populations = { Population("in", "input", 31623), Population("n", "sinabs.IAF", 31623) },
                Projections = { new ProjectionSpec { Name = "d", Source = "in", Target = "n", Dense = new DenseProjection() } },
            }),
            ("1.6·10^10 synapses of a 31×31 conv2d over 2^24 neurons", Conv(4096, 31, 15, 4096)),
            ("a conv2d whose output would be [1, 2^31, 2^31] (padding 2^30)", Conv(1, 1, 1u << 30, 1)),
            // 153 × 2000111376 × 2109804217 = 16 modulo 2^64: a shape of 6.4·10^20 neurons that a 64-bit product calls 16.
            ("a shape whose product wraps 2^64 to its size, into a conv2d of 10^21 outputs", WrappedShapeConv()),
            ("a conv2d with kernel and padding of 2^32-1", Conv(1, uint.MaxValue, uint.MaxValue, 1)),
            ("a delay of 2^32-1 steps", WithDelay(uint.MaxValue)),
            ("10^9 neurons in 1000 populations", new NetworkSpec
            {
                Name = "absurd",
                Populations = { Enumerable.Range(0, 1000).Select(i => Population($"p{i}", "sinabs.IAF", 1_000_000)) },
            }),
        };
        long before = HostileInputTests.Rss(pid);
        foreach (var (what, spec) in cases)
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within());
            Assert.True(e.StatusCode is StatusCode.InvalidArgument or StatusCode.ResourceExhausted, $"{what}: {e.StatusCode}: {e.Status.Detail}");
            Assert.True(e.Status.Detail.Contains("spec.", StringComparison.Ordinal) || e.Status.Detail.Contains("Snn:Limits", StringComparison.Ordinal),
                $"{what}: the message names neither a field nor a limit: {e.Status.Detail}");
            output.WriteLine($"{what}: {e.StatusCode}: {e.Status.Detail}");
        }

        long grown = HostileInputTests.Rss(pid) - before;
        Assert.True(grown < 64L << 20, $"refusing absurd sizes grew the working set by {grown >> 20} MiB");
    }

    private static NetworkSpec Shaped(PopulationSpec input, uint size) =>
        new() { Name = "absurd", Populations = { input, Population("n", "sinabs.IAF", size) }, Projections = { OneToOne("ff", "in", "n") } };

    /// <summary>in [1,side,side] → conv2d (kernel k, padding p) → n [1,outSide,outSide].</summary>
    private static NetworkSpec Conv(uint side, uint kernel, uint padding, uint outSide) => new()
    {
        Name = "absurd",
        Populations =
        {
            new PopulationSpec { Name = "in", Model = "input", Size = side * side, Shape = { 1, side, side } },
            new PopulationSpec { Name = "n", Model = "sinabs.IAF", Size = outSide * outSide, Shape = { 1, outSide, outSide } },
        },
        Projections =
        {
            new ProjectionSpec
            {
                Name = "c", Source = "in", Target = "n",
                Conv2D = new Conv2dProjection { Weights = { new float[Math.Min(kernel, 31) * Math.Min(kernel, 31)] }, KernelSize = { kernel, kernel }, Padding = { padding, padding } },
            },
        },
    };

    private static NetworkSpec WrappedShapeConv() => new()
    {
        Name = "absurd",
        Populations =
        {
            new PopulationSpec { Name = "in", Model = "input", Size = 16, Shape = { 153, 2000111376, 2109804217 } },
            new PopulationSpec { Name = "n", Model = "sinabs.IAF", Size = 16, Shape = { 153, 2000111376, 2109804217 } },
        },
        Projections =
        {
            new ProjectionSpec { Name = "c", Source = "in", Target = "n", Conv2D = new Conv2dProjection { Weights = { new float[153 * 153] }, KernelSize = { 1, 1 } } },
        },
    };

    private static NetworkSpec WithDelay(uint delay)
    {
        var spec = Feed("absurd", "sinabs.IAF", 4);
        spec.Projections[0].DelaySteps = delay;
        return spec;
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(address.Host, address.Port);
        return socket;
    }

    /// <summary>Reads whatever arrives for <paramref name="time"/>, or until the peer closes.</summary>
    private static async Task<int> ReadForAsync(Socket socket, TimeSpan time)
    {
        using var stop = new CancellationTokenSource(time);
        var buffer = new byte[65536];
        int total = 0;
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, stop.Token)) > 0)
            {
                total += n;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
        }

        return total;
    }

    /// <summary>Reads until the server closes the connection; fails if it has not within <paramref name="timeout"/>.</summary>
    private static async Task<string> ReadUntilClosedAsync(Socket socket, TimeSpan timeout)
    {
        using var stop = new CancellationTokenSource(timeout);
        var buffer = new byte[65536];
        var text = new StringBuilder();
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, stop.Token)) > 0)
            {
                text.Append(Encoding.Latin1.GetString(buffer, 0, n));
            }
        }
        catch (SocketException)
        {
            // Reset by the server: closed too.
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the server kept the connection open {timeout.TotalSeconds:0} s after HTTP/1.x on its HTTP/2 port; it sent: {text}");
        }

        return text.ToString();
    }

    /// <summary>An HTTP/2 frame: 24-bit length, type, flags, stream id.</summary>
    private static byte[] H2Frame(byte type, byte flags, int stream, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), stream);
        payload.CopyTo(frame, 9);
        return frame;
    }

    /// <summary>A gRPC request's header block in HPACK, every field a literal without indexing (short names and values).</summary>
    private byte[] HeaderBlock(string path)
    {
        var block = new List<byte>();
        foreach (var (name, value) in new[] { (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", address.Authority), ("content-type", "application/grpc"), ("te", "trailers") })
        {
            block.Add(0);
            block.Add((byte)name.Length);
            block.AddRange(Encoding.ASCII.GetBytes(name));
            block.Add((byte)value.Length);
            block.AddRange(Encoding.ASCII.GetBytes(value));
        }

        return [.. block];
    }
}
