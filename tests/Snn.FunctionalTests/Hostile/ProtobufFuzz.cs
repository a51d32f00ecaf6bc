using System.Collections;
using CsCheck;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Snn.FunctionalTests.Hostile;

/// <summary>One fuzz input for one method: the whole HTTP/2 request body (framed or not) and how it was made.</summary>
internal sealed record FuzzCase(string Kind, byte[] Body)
{
    public override string ToString() =>
        $"{Kind}, {Body.Length} bytes: {Convert.ToHexString(Body.AsSpan(0, Math.Min(Body.Length, 96)))}{(Body.Length > 96 ? "…" : "")}";
}

/// <summary>
/// CsCheck generators of protobuf requests, driven by message descriptors only, so that a method added to
/// <c>snn.v1.Snn</c> later is fuzzed without a change here. Strings come mostly from a vocabulary the server
/// knows (network, population, model, parameter and variable names) so that requests get past the lookups
/// and reach the deeper checks; numbers favour small values and the edges (0, 2^31, 2^32−1, NaN, ±∞).
/// </summary>
internal static class ProtobufFuzz
{
    private static readonly Gen<uint> UInt32s = Gen.Frequency(
        (4, Gen.UInt[0, 8]), (2, Gen.UInt[0, 1024]), (1, Gen.OneOf<uint>(int.MaxValue, 1u << 31, uint.MaxValue, 1u << 24, 65536u)), (1, Gen.UInt));

    private static readonly Gen<ulong> UInt64s = Gen.Frequency(
        (4, Gen.ULong[0, 16]), (1, Gen.OneOf<ulong>(ulong.MaxValue, (ulong)long.MaxValue, 1UL << 32, 1UL << 53)), (1, Gen.ULong));

    private static readonly Gen<int> Int32s = Gen.Frequency((4, Gen.Int[-2, 8]), (1, Gen.OneOf<int>(int.MinValue, int.MaxValue)), (1, Gen.Int));

    private static readonly Gen<long> Int64s = Gen.Frequency((4, Gen.Long[-2, 16]), (1, Gen.OneOf<long>(long.MinValue, long.MaxValue)), (1, Gen.Long));

    private static readonly Gen<double> Doubles = Gen.Frequency(
        (4, Gen.Double[-2, 2]), (2, Gen.OneOf<double>(0, 1e-3, 1, 1e-300, 1e300, 3e6, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, -0.0)),
        (1, Gen.Double));

    private static readonly Gen<float> Floats = Gen.Frequency(
        (4, Gen.Float[-2, 2]), (2, Gen.OneOf<float>(0f, 1f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, float.Epsilon, -0f, 1e30f)),
        (1, Gen.Float));

    private static readonly Gen<string> RandomText = Gen.Char[' ', '~'].Array[0, 12].Select(c => new string(c));

    private static readonly Gen<int> Counts = Gen.Frequency((8, Gen.Int[0, 3]), (1, Gen.Int[0, 300]));

    private static readonly Gen<byte[]> RandomBytes = Gen.Frequency((3, Gen.Byte.Array[0, 32]), (1, Gen.Byte.Array[0, 1024]));

    /// <summary>Random messages of <paramref name="descriptor"/>'s type, fields chosen by the descriptor.</summary>
    public static Gen<IMessage> Messages(MessageDescriptor descriptor, IReadOnlyList<string> vocabulary, int depth = 3) =>
        new MessageGen(descriptor, Gen.Frequency((5, Gen.OneOf([.. vocabulary])), (1, RandomText), (1, Gen.Const(""))), depth);

    /// <summary>
    /// Cases for one method: valid messages, valid messages mutated (bit flips, truncation, corrupted field
    /// numbers and wire types, huge lengths, unbalanced groups, deep nesting), random payloads, bodies that
    /// are not gRPC framing at all, and the wrong number of messages. <paramref name="clientStreaming"/>
    /// methods get one to four messages per call.
    /// </summary>
    public static Gen<FuzzCase> Cases(Gen<IMessage> valid, bool clientStreaming)
    {
        var validBytes = valid.Select(m => m.ToByteArray());
        var mutated = new MutationGen(validBytes);
        var one = Gen.Frequency((3, validBytes), (5, mutated), (2, RandomBytes));
        var bodies = clientStreaming
            ? Gen.Frequency(
                (3, validBytes.Select(b => new FuzzCase("valid", GrpcWire.Frame(b)))),
                (6, Gen.Select(validBytes, one.Array[0, 3]).Select((first, more) => new FuzzCase("mutated stream", GrpcWire.Frames([first, .. more])))),
                (2, RandomBytes.Select(b => new FuzzCase("random payload", GrpcWire.Frame(b)))),
                (1, RandomBytes.Select(b => new FuzzCase("unframed", b))))
            : Gen.Frequency(
                (3, validBytes.Select(b => new FuzzCase("valid", GrpcWire.Frame(b)))),
                (5, mutated.Select(b => new FuzzCase("mutated", GrpcWire.Frame(b)))),
                (2, RandomBytes.Select(b => new FuzzCase("random payload", GrpcWire.Frame(b)))),
                (1, RandomBytes.Select(b => new FuzzCase("unframed", b))),
                (1, validBytes.Array[0, 2].Where(a => a.Length != 1).Select(a => new FuzzCase($"{a.Length} messages", GrpcWire.Frames(a)))));
        return bodies;
    }

    /// <summary>Builds a message field by field through the descriptor's accessors.</summary>
    private sealed class MessageGen(MessageDescriptor descriptor, Gen<string> strings, int depth) : Gen<IMessage>
    {
        public override IMessage Generate(PCG pcg, Size? min, out Size size)
        {
            size = new Size(0);
            var message = (IMessage)Activator.CreateInstance(descriptor.ClrType)!;
            foreach (var field in descriptor.Fields.InDeclarationOrder())
            {
                if (pcg.Next(3) == 0)
                {
                    continue;
                }

                if (field.IsMap)
                {
                    var map = (IDictionary)field.Accessor.GetValue(message);
                    var key = field.MessageType.FindFieldByNumber(1);
                    var value = field.MessageType.FindFieldByNumber(2);
                    for (int n = Draw(Counts, pcg); n > 0; n--)
                    {
                        map[Value(key, pcg)] = Value(value, pcg);
                    }
                }
                else if (field.IsRepeated)
                {
                    var list = (IList)field.Accessor.GetValue(message);
                    for (int n = Draw(Counts, pcg); n > 0; n--)
                    {
                        list.Add(Value(field, pcg));
                    }
                }
                else
                {
                    field.Accessor.SetValue(message, Value(field, pcg));
                }
            }

            return message;
        }

        private static T Draw<T>(Gen<T> gen, PCG pcg) => gen.Generate(pcg, null!, out _);

        private object Value(FieldDescriptor field, PCG pcg) => field.FieldType switch
        {
            FieldType.String => Draw(strings, pcg),
            FieldType.Bytes => ByteString.CopyFrom(Draw(RandomBytes, pcg)),
            FieldType.Bool => pcg.Next(2) == 1,
            FieldType.Double => Draw(Doubles, pcg),
            FieldType.Float => Draw(Floats, pcg),
            FieldType.UInt32 or FieldType.Fixed32 => Draw(UInt32s, pcg),
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => Draw(Int32s, pcg),
            FieldType.UInt64 or FieldType.Fixed64 => Draw(UInt64s, pcg),
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => Draw(Int64s, pcg),
            FieldType.Enum => Enum.ToObject(field.EnumType.ClrType, pcg.Next(4) == 0
                ? Draw(Int32s, pcg)
                : field.EnumType.Values[(int)pcg.Next((uint)field.EnumType.Values.Count)].Number),
            FieldType.Message => depth > 0
                ? new MessageGen(field.MessageType, strings, depth - 1).Generate(pcg, null, out _)
                : (IMessage)Activator.CreateInstance(field.MessageType.ClrType)!,
            _ => throw new NotSupportedException($"{field.FullName}: field type {field.FieldType} is not generated; add it here"),
        };
    }

    /// <summary>Applies one to three byte-level mutations to a valid encoding.</summary>
    private sealed class MutationGen(Gen<byte[]> source) : Gen<byte[]>
    {
        private static readonly ulong[] HugeLengths = [int.MaxValue, uint.MaxValue, 1UL << 35, ulong.MaxValue, 4 << 20, 1 << 16];

        public override byte[] Generate(PCG pcg, Size? min, out Size size)
        {
            var bytes = new List<byte>(source.Generate(pcg, null!, out size));
            for (int n = 1 + (int)pcg.Next(3); n > 0; n--)
            {
                Mutate(bytes, pcg);
            }

            return [.. bytes];
        }

        private static void Mutate(List<byte> bytes, PCG pcg)
        {
            int at = (int)pcg.Next((uint)bytes.Count + 1);
            switch (pcg.Next(8))
            {
                case 0 when bytes.Count > 0: // bit flips
                    for (int k = 1 + (int)pcg.Next(8); k > 0; k--)
                    {
                        bytes[(int)pcg.Next((uint)bytes.Count)] ^= (byte)(1 << (int)pcg.Next(8));
                    }

                    break;
                case 1: // truncation
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 2: // a field number or wire type that is corrupt (0, 19000-19999 reserved, the largest, wire types 6 and 7)
                    uint number = pcg.Next(4) switch { 0 => 0, 1 => 19000 + pcg.Next(1000), 2 => (1u << 29) - 1, _ => pcg.Next(32) };
                    bytes.InsertRange(at, Varint(((ulong)number << 3) | pcg.Next(8)));
                    if (pcg.Next(2) == 0 && at + 1 < bytes.Count)
                    {
                        bytes.RemoveAt(at + 1);
                    }

                    break;
                case 3: // a length-delimited field that promises far more than follows
                    bytes.InsertRange(at, [.. Varint(((ulong)(1 + pcg.Next(6)) << 3) | 2), .. Varint(HugeLengths[pcg.Next((uint)HugeLengths.Length)])]);
                    break;
                case 4: // random bytes spliced in
                    for (int k = 1 + (int)pcg.Next(16); k > 0; k--)
                    {
                        bytes.Insert(at, (byte)pcg.Next(256));
                    }

                    break;
                case 5: // a group that never ends, or an end without a start
                    bytes.InsertRange(at, Varint(((ulong)(1 + pcg.Next(8)) << 3) | (3 + pcg.Next(2))));
                    break;
                case 6: // nesting beyond the parser's recursion limit (field 1, or the first field of a nested message)
                    var nested = new List<byte>(bytes);
                    for (int level = 0; level < 120; level++)
                    {
                        nested.InsertRange(0, [0x0A, .. Varint((ulong)nested.Count)]);
                    }

                    bytes.Clear();
                    bytes.AddRange(nested);
                    break;
                default: // a slice repeated (repeated fields merge; oneofs and scalars overwrite)
                    int from = (int)pcg.Next((uint)bytes.Count + 1);
                    bytes.InsertRange(at, bytes.GetRange(from, (int)pcg.Next((uint)(bytes.Count - from) + 1)));
                    break;
            }
        }

        private static byte[] Varint(ulong value)
        {
            var bytes = new List<byte>(10);
            do
            {
                byte b = (byte)(value & 0x7F);
                value >>= 7;
                bytes.Add(value == 0 ? b : (byte)(b | 0x80));
            }
            while (value != 0);
            return [.. bytes];
        }
    }
}
