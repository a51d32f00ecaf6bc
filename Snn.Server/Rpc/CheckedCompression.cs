using System.IO.Compression;
using Grpc.Core;
using Grpc.Net.Compression;

namespace Snn.Server.Rpc;

/// <summary>
/// The server's request encodings (gzip and deflate, as grpc-dotnet offers by default), each refusing a
/// message that does not decompress with INVALID_ARGUMENT: grpc-dotnet lets the decompressor's
/// <see cref="InvalidDataException"/> escape and answers UNKNOWN, with an error in the log, for what is
/// a client's malformed request.
/// </summary>
internal sealed class CheckedCompression(ICompressionProvider inner) : ICompressionProvider
{
    public static IList<ICompressionProvider> Providers() =>
    [
        new CheckedCompression(new GzipCompressionProvider(CompressionLevel.Fastest)),
        new CheckedCompression(new DeflateCompressionProvider(CompressionLevel.Fastest)),
    ];

    public string EncodingName => inner.EncodingName;

    public Stream CreateCompressionStream(Stream stream, CompressionLevel? compressionLevel) => inner.CreateCompressionStream(stream, compressionLevel);

    public Stream CreateDecompressionStream(Stream stream) => new Checked(inner.CreateDecompressionStream(stream), inner.EncodingName);

    /// <summary>
    /// A decompression stream whose corrupt-data exceptions become INVALID_ARGUMENT; everything else is the decompressor's
    /// own (it reads forward only, so it refuses seeking, lengths and writes itself).
    /// </summary>
    private sealed class Checked(Stream inner, string encoding) : Stream
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => inner.CanSeek;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => inner.Position = value;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            try
            {
                return inner.Read(buffer);
            }
            catch (InvalidDataException e)
            {
                throw Refuse(e);
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken);
            }
            catch (InvalidDataException e)
            {
                throw Refuse(e);
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() => inner.Flush();

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        public override void SetLength(long value) => inner.SetLength(value);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private RpcException Refuse(InvalidDataException e) => new(new Status(StatusCode.InvalidArgument,
            $"a request message marked compressed is not valid {encoding} data ({e.Message}); compress it with grpc-encoding's algorithm or send it uncompressed"));
    }
}
