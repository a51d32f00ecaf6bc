using System.IO.Compression;
using System.Text;
using Grpc.Core;
using Snn.Server.Rpc;

namespace Snn.Server.Tests.Rpc;

/// <summary>The request decompressors: valid data reads through; corrupt data is INVALID_ARGUMENT; the rest is the decompressor's.</summary>
public sealed class CheckedCompressionTests
{
    private static byte[] Gzip(string text)
    {
        using var packed = new MemoryStream();
        using (var gzip = new GZipStream(packed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return packed.ToArray();
    }

    private static Stream Decompressor(byte[] data) =>
        CheckedCompression.Providers().Single(p => p.EncodingName == "gzip").CreateDecompressionStream(new MemoryStream(data));

    [Fact]
    public void Valid_data_reads_through_and_corrupt_data_is_invalid_argument()
    {
        using (var reader = new StreamReader(Decompressor(Gzip("spikes"))))
        {
            Assert.Equal("spikes", reader.ReadToEnd());
        }

        var corrupt = Gzip("spikes");
        corrupt[12] ^= 0xFF;
        using var stream = Decompressor(corrupt);
        var e = Assert.Throws<RpcException>(() => stream.ReadExactly(new byte[6]));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("not valid gzip data", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void It_refuses_what_the_decompressor_refuses_as_the_decompressor_does()
    {
        using var stream = Decompressor(Gzip("spikes"));
        using var bare = new GZipStream(new MemoryStream(Gzip("spikes")), CompressionMode.Decompress);
        Assert.True(stream.CanRead);
        Assert.False(stream.CanSeek);
        Assert.False(stream.CanWrite);
        foreach (var call in new Func<Stream, object>[] { s => s.Length, s => s.Position, s => s.Seek(0, SeekOrigin.Begin), s => { s.Write(new byte[1], 0, 1); return 0; } })
        {
            Assert.Equal(Record.Exception(() => call(bare))?.GetType(), Record.Exception(() => call(stream))?.GetType());
            Assert.NotNull(Record.Exception(() => call(stream)));
        }
    }
}
