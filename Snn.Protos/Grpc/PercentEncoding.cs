using System.Buffers;
using System.Text;

namespace Snn.Grpc;

/// <summary>
/// The percent-encoding of <c>grpc-message</c> (PROTOCOL-HTTP2.md): the UTF-8 bytes of the
/// message, where every byte outside printable ASCII 0x20-0x7E, and '%' itself, is written as
/// <c>%XX</c> (upper-case hex). Decoding is lenient: an invalid escape is kept as it is.
/// </summary>
public static class PercentEncoding
{
    /// <summary>Encodes a status message for the <c>grpc-message</c> header.</summary>
    public static string Encode(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var plain = true;
        foreach (var c in message)
        {
            if (c < 0x20 || c > 0x7E || c == '%')
            {
                plain = false;
                break;
            }
        }

        if (plain)
        {
            return message;
        }

        var maxBytes = Encoding.UTF8.GetMaxByteCount(message.Length);
        var rented = ArrayPool<byte>.Shared.Rent(maxBytes);
        try
        {
            var count = Encoding.UTF8.GetBytes(message, rented);
            var builder = new StringBuilder(count * 3);
            for (var i = 0; i < count; i++)
            {
                var b = rented[i];
                if (b < 0x20 || b > 0x7E || b == (byte)'%')
                {
                    builder.Append('%').Append(HexUpper(b >> 4)).Append(HexUpper(b & 0xF));
                }
                else
                {
                    builder.Append((char)b);
                }
            }

            return builder.ToString();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Decodes a <c>grpc-message</c> value; invalid UTF-8 becomes U+FFFD.</summary>
    public static string Decode(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!value.Contains('%', StringComparison.Ordinal))
        {
            return value;
        }

        var bytes = new byte[value.Length];
        var count = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '%' && i + 2 < value.Length && TryHex(value[i + 1], out var hi) && TryHex(value[i + 2], out var lo))
            {
                bytes[count++] = (byte)((hi << 4) | lo);
                i += 2;
            }
            else if (c <= 0x7F)
            {
                bytes[count++] = (byte)c;
            }
            else
            {
                // Not valid on the wire (headers are ASCII); keep it by re-encoding as UTF-8.
                var extra = Encoding.UTF8.GetBytes(c.ToString());
                if (count + extra.Length > bytes.Length)
                {
                    Array.Resize(ref bytes, bytes.Length + extra.Length + 8);
                }

                extra.CopyTo(bytes, count);
                count += extra.Length;
            }
        }

        return Encoding.UTF8.GetString(bytes, 0, count);
    }

    private static char HexUpper(int nibble) => (char)(nibble < 10 ? '0' + nibble : 'A' + nibble - 10);

    private static bool TryHex(char c, out int value)
    {
        value = c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'A' and <= 'F' => c - 'A' + 10,
            >= 'a' and <= 'f' => c - 'a' + 10,
            _ => -1,
        };
        return value >= 0;
    }
}
