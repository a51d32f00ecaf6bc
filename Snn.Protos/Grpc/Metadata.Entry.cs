using System.Text;

namespace Snn.Grpc;

public sealed partial class Metadata
{
    /// <summary>One metadata entry: a lower-case key and either an ASCII or a binary value.</summary>
    public sealed class Entry
    {
        private readonly string? _value;
        private readonly byte[]? _valueBytes;

        /// <summary>Creates an ASCII-valued entry (printable ASCII, key not ending in <c>-bin</c>).</summary>
        public Entry(string key, string value)
        {
            Key = NormalizeKey(key);
            ArgumentNullException.ThrowIfNull(value);
            if (IsBinaryKey(Key))
            {
                throw new ArgumentException($"Key '{Key}' ends in '-bin' and needs a binary value.", nameof(key));
            }

            foreach (var c in value)
            {
                if (c < 0x20 || c > 0x7E)
                {
                    throw new ArgumentException($"The value of metadata key '{Key}' must be printable ASCII.", nameof(value));
                }
            }

            _value = value;
        }

        /// <summary>Creates a binary-valued entry (key ending in <c>-bin</c>).</summary>
        public Entry(string key, byte[] valueBytes)
        {
            Key = NormalizeKey(key);
            ArgumentNullException.ThrowIfNull(valueBytes);
            if (!IsBinaryKey(Key))
            {
                throw new ArgumentException($"Key '{Key}' carries a binary value and must end in '-bin'.", nameof(key));
            }

            _valueBytes = valueBytes;
        }

        /// <summary>The key, lower-case.</summary>
        public string Key { get; }

        /// <summary>True for a binary (<c>-bin</c>) entry.</summary>
        public bool IsBinary => _valueBytes is not null;

        /// <summary>The ASCII value. Throws for a binary entry.</summary>
        public string Value => _value ?? throw new InvalidOperationException($"Metadata entry '{Key}' is binary; use ValueBytes.");

        /// <summary>The binary value; for an ASCII entry, its bytes.</summary>
        public byte[] ValueBytes => _valueBytes ?? Encoding.ASCII.GetBytes(_value!);

        public override string ToString() => IsBinary
            ? $"[Entry: key={Key}, valueBytes={Convert.ToBase64String(_valueBytes!)}]"
            : $"[Entry: key={Key}, value={_value}]";

        private static string NormalizeKey(string key)
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            var lower = key.ToLowerInvariant();
            foreach (var c in lower)
            {
                if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_' or '.'))
                {
                    throw new ArgumentException($"Metadata key '{key}' contains an invalid character: only 0-9 a-z _ - . are allowed.", nameof(key));
                }
            }

            return lower;
        }
    }
}
