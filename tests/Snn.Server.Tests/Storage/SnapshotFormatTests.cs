using Snn.Server.Engine;
using Snn.Server.Storage;

namespace Snn.Server.Tests.Storage;

/// <summary>The snapshot format: an exact round trip, and damage refused with a reason.</summary>
public sealed class SnapshotFormatTests
{
    private static NetworkState State() => new(
        new StateLayout(2, [3, 3, 2]),
        new ClockPosition(41, 2),
        [
            new InstanceState(1, 17, [[1f, -0f, float.NaN], [0f, 1f, 0f], [0.5f, float.Epsilon]],
                [(18, new PendingInput(0, 0, [0, 2], [0.25f, 3f], null)), (20, new PendingInput(1, 0, null, null, [1f, 2f, 3f]))]),
        ]);

    [Theory]
    [InlineData(SnapshotCodec.None)]
    [InlineData(SnapshotCodec.Lz4)]
    public void A_state_round_trips_bit_for_bit(string compression)
    {
        var state = State();
        var stored = SnapshotCodec.Encode(SnapshotFormat.Write(state), compression);
        var back = SnapshotFormat.Read(SnapshotCodec.Decode(stored, compression));
        Assert.Null(back.Layout.Mismatch(state.Layout));
        Assert.Equal(state.Clock, back.Clock);
        var (a, b) = (state.Instances[0], back.Instances[0]);
        Assert.Equal((a.Index, a.Step), (b.Index, b.Step));
        for (int i = 0; i < a.Arrays.Length; i++)
        {
            Assert.Equal(a.Arrays[i].Select(BitConverter.SingleToInt32Bits), b.Arrays[i].Select(BitConverter.SingleToInt32Bits));
        }

        Assert.Equal(a.Queued.Select(q => (q.Step, q.Input.Population)), b.Queued.Select(q => (q.Step, q.Input.Population)));
        Assert.Equal(a.Queued[0].Input.Indices, b.Queued[0].Input.Indices);
        Assert.Equal(a.Queued[0].Input.Values, b.Queued[0].Input.Values);
        Assert.Null(b.Queued[0].Input.Current);
        Assert.Equal(a.Queued[1].Input.Current, b.Queued[1].Input.Current);
    }

    [Fact]
    public void Truncated_extended_or_foreign_bytes_are_refused()
    {
        var bytes = SnapshotFormat.Write(State());
        Assert.Contains("truncated", Assert.Throws<StoreCorruptException>(() => SnapshotFormat.Read(bytes.AsSpan(0, bytes.Length - 3))).Message, StringComparison.Ordinal);
        Assert.Contains("after its last instance", Assert.Throws<StoreCorruptException>(() => SnapshotFormat.Read([.. bytes, 0])).Message, StringComparison.Ordinal);
        var other = (byte[])bytes.Clone();
        other[8] = 9; // version
        Assert.Contains("format version 9", Assert.Throws<StoreCorruptException>(() => SnapshotFormat.Read(other)).Message, StringComparison.Ordinal);
        Assert.Contains("not a snapshot", Assert.Throws<StoreCorruptException>(() => SnapshotFormat.Read("hello world, not a snapshot"u8)).Message, StringComparison.Ordinal);
        Assert.Throws<StoreCorruptException>(() => SnapshotCodec.Decode([1, 2, 3], SnapshotCodec.Lz4));
    }
}
