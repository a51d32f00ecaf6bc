using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Snn.Grpc;

/// <summary>Throw helpers, so that the framing fast paths stay small and inlinable.</summary>
internal static class GrpcThrow
{
    [DoesNotReturn]
    public static void ReceiveTooLarge(uint length, int max) =>
        throw new RpcException(new Status(StatusCode.ResourceExhausted, string.Create(CultureInfo.InvariantCulture, $"Received message exceeds the maximum configured message size ({length} > {max} bytes).")));

    [DoesNotReturn]
    public static void SendTooLarge(int length, int max) =>
        throw new RpcException(new Status(StatusCode.ResourceExhausted, string.Create(CultureInfo.InvariantCulture, $"Sending message exceeds the maximum configured message size ({length} > {max} bytes).")));

    [DoesNotReturn]
    public static void InvalidFlag(byte flag) =>
        throw new RpcException(new Status(StatusCode.Internal, string.Create(CultureInfo.InvariantCulture, $"Invalid message frame: compressed flag is {flag}, expected 0 or 1.")));

    [DoesNotReturn]
    public static void Incomplete() =>
        throw new RpcException(new Status(StatusCode.Internal, "Incomplete message: the stream ended inside a frame."));

    [DoesNotReturn]
    public static void Compressed(string? encoding) =>
        throw (string.IsNullOrEmpty(encoding) || encoding == "identity"
            ? new RpcException(new Status(StatusCode.Internal, "A message has the compressed flag set but the call has no grpc-encoding."))
            : new RpcException(new Status(StatusCode.Unimplemented, $"Unsupported grpc-encoding '{encoding}': only identity is supported.")));
}
