namespace Snn.Grpc;

/// <summary>Header names and values of the gRPC HTTP/2 protocol.</summary>
public static class GrpcProtocol
{
    /// <summary>The content type sent by this implementation.</summary>
    public const string ContentType = "application/grpc";

    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";

    /// <summary>The only message encoding supported: no compression.</summary>
    public const string IdentityEncoding = "identity";

    /// <summary>True for <c>application/grpc</c> and <c>application/grpc+proto</c> (parameters after ';' ignored).</summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var rest = contentType.AsSpan(ContentType.Length);
        var semicolon = rest.IndexOf(';');
        if (semicolon >= 0)
        {
            rest = rest[..semicolon];
        }

        rest = rest.Trim();
        return rest.Length == 0 || rest.Equals("+proto", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>True for a reserved header that is not custom metadata (pseudo-headers, transport and grpc- headers).</summary>
    public static bool IsReservedHeader(string name) =>
        name.Length == 0
        || name[0] == ':'
        || name.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase)
        || name.Equals("content-type", StringComparison.OrdinalIgnoreCase)
        || name.Equals("te", StringComparison.OrdinalIgnoreCase)
        || name.Equals("host", StringComparison.OrdinalIgnoreCase)
        || name.Equals("content-length", StringComparison.OrdinalIgnoreCase)
        || name.Equals("connection", StringComparison.OrdinalIgnoreCase)
        || name.Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase)
        || name.Equals("date", StringComparison.OrdinalIgnoreCase)
        || name.Equals("server", StringComparison.OrdinalIgnoreCase);

    /// <summary>Base64 without padding, as the spec asks senders to emit for <c>-bin</c> values.</summary>
    public static string EncodeBinaryValue(ReadOnlySpan<byte> value) => Convert.ToBase64String(value).TrimEnd('=');

    /// <summary>
    /// Adds one received header value to <paramref name="metadata"/>: text as is, "-bin" values
    /// base64-decoded (several may arrive joined by commas). A value that is not valid gRPC metadata
    /// (odd key, bad base64) is not passed on.
    /// </summary>
    public static void AddReceivedValue(Metadata metadata, string key, string value)
    {
        try
        {
            if (!Metadata.IsBinaryKey(key))
            {
                metadata.Add(key, value);
                return;
            }

            foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                metadata.Add(key, DecodeBinaryValue(part));
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
        }
    }

    /// <summary>Decodes a <c>-bin</c> header value, padded or not.</summary>
    public static byte[] DecodeBinaryValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var trimmed = value.Trim();
        var padding = (4 - (trimmed.Length % 4)) % 4;
        if (padding == 3)
        {
            throw new FormatException("Invalid base64 length in a -bin metadata value.");
        }

        return Convert.FromBase64String(padding == 0 ? trimmed : trimmed + new string('=', padding));
    }
}
