using Google.Protobuf;
using Google.Protobuf.Reflection;
using Snn.Protos.V1;
using Snn.Server.Engine;

namespace Snn.Server.Services;

/// <summary>
/// A <c>snn.v1.RunResponse</c> on the wire, encoded straight from pooled step frames: the Run and
/// Watch writers send one batch per message, so step outputs go out without building protobuf
/// objects and without allocating. A batch either carries frames or, for the rare control messages
/// (<c>opened</c>, <c>status</c>), a prebuilt <see cref="RunResponse"/>. The bytes are exactly those
/// of the equivalent <see cref="RunResponse"/> (field order as the generated code writes them).
/// </summary>
internal sealed class FrameBatch : IMessage<FrameBatch>, IBufferMessage
{
    // RunResponse: 2 steps (message), 4 dropped_before. StepOutput: 1 step, 2 spikes, 3 states.
    // PopulationSpikes: 1 population, 2 indices (packed), 3 values (packed). StateTrace: 1 record, 2 variable, 3 values (packed).
    private const uint TagSteps = (2 << 3) | 2, TagDropped = 4 << 3;
    private const uint TagStep = 1 << 3, TagSpikes = (2 << 3) | 2, TagStates = (3 << 3) | 2;
    private const uint TagPopulation = 1 << 3, TagIndices = (2 << 3) | 2, TagValues = (3 << 3) | 2;
    private const uint TagRecord = 1 << 3, TagVariable = (2 << 3) | 2, TagTraceValues = (3 << 3) | 2;

    private readonly OutputPlan _plan;
    private readonly string[][] _names;
    private StepFrame[] _frames = new StepFrame[16];
    private int[] _stepSizes = new int[16];
    private int _count;
    private RunResponse? _control;
    private int _stepsSize; // encoded size of the steps field entries added so far

    public FrameBatch(OutputPlan plan)
    {
        _plan = plan;
        _names = plan.Records.Select(r => r.VariableNames).ToArray();
    }

    /// <summary>Frames in this batch (the writer hands them back after sending).</summary>
    public ReadOnlySpan<StepFrame> Frames => _frames.AsSpan(0, _count);

    public int Count => _count;

    /// <summary>Losses reported before the first frame of the batch.</summary>
    public ulong DroppedBefore { get; private set; }

    /// <summary>Encoded size so far (computed as frames are added).</summary>
    public int Size => CalculateSize();

    MessageDescriptor IMessage.Descriptor => RunResponse.Descriptor;

    /// <summary>Empties the batch for reuse.</summary>
    public void Clear()
    {
        Array.Clear(_frames, 0, _count);
        _count = 0;
        _control = null;
        DroppedBefore = 0;
        _stepsSize = 0;
    }

    /// <summary>Makes this batch carry a control message (opened, status) instead of frames.</summary>
    public FrameBatch Control(RunResponse response)
    {
        Clear();
        _control = response;
        return this;
    }

    public void Add(StepFrame frame)
    {
        if (_count == _frames.Length)
        {
            Array.Resize(ref _frames, _count * 2);
            Array.Resize(ref _stepSizes, _count * 2);
        }

        DroppedBefore += (ulong)frame.DroppedBefore;
        int size = StepSize(frame);
        _stepSizes[_count] = size;
        _frames[_count++] = frame;
        _stepsSize += 1 + CodedOutputStream.ComputeLengthSize(size) + size;
    }

    public int CalculateSize()
    {
        if (_control is not null)
        {
            return _control.CalculateSize();
        }

        return _stepsSize + (DroppedBefore == 0 ? 0 : 1 + CodedOutputStream.ComputeUInt64Size(DroppedBefore));
    }

    private int StepSize(StepFrame frame)
    {
        int size = 0;
        if (frame.Step != 0)
        {
            size += 1 + CodedOutputStream.ComputeUInt64Size((ulong)frame.Step);
        }

        for (int s = 0; s < frame.SpikeCounts.Length; s++)
        {
            if (frame.SpikeCounts[s] > 0)
            {
                int ps = SpikesSize(frame, s);
                size += 1 + CodedOutputStream.ComputeLengthSize(ps) + ps;
            }
        }

        for (int r = 0; r < frame.Recorded.Length; r++)
        {
            if (!frame.Recorded[r])
            {
                continue;
            }

            for (int v = 0; v < _names[r].Length; v++)
            {
                int ts = TraceSize(r, v);
                size += 1 + CodedOutputStream.ComputeLengthSize(ts) + ts;
            }
        }

        return size;
    }

    private static int SpikesSize(StepFrame frame, int s)
    {
        int size = s != 0 ? 1 + CodedOutputStream.ComputeUInt32Size((uint)s) : 0;
        int packed = IndicesSize(frame, s);
        size += 1 + CodedOutputStream.ComputeLengthSize(packed) + packed;
        if (!frame.AllOnes[s])
        {
            int values = 4 * frame.SpikeCounts[s];
            size += 1 + CodedOutputStream.ComputeLengthSize(values) + values;
        }

        return size;
    }

    private static int IndicesSize(StepFrame frame, int s)
    {
        int packed = 0;
        var indices = frame.SpikeIndices[s];
        for (int k = 0; k < frame.SpikeCounts[s]; k++)
        {
            packed += CodedOutputStream.ComputeUInt32Size((uint)indices[k]);
        }

        return packed;
    }

    private int TraceSize(int r, int v)
    {
        int size = r != 0 ? 1 + CodedOutputStream.ComputeUInt32Size((uint)r) : 0;
        size += 1 + CodedOutputStream.ComputeStringSize(_names[r][v]);
        int values = 4 * _plan.Records[r].NeuronCount;
        if (values > 0)
        {
            size += 1 + CodedOutputStream.ComputeLengthSize(values) + values;
        }

        return size;
    }

    public void WriteTo(CodedOutputStream output) => output.WriteRawMessage(this);

    void IBufferMessage.InternalWriteTo(ref WriteContext ctx)
    {
        if (_control is not null)
        {
            ((IBufferMessage)_control).InternalWriteTo(ref ctx);
            return;
        }

        for (int i = 0; i < _count; i++)
        {
            var frame = _frames[i];
            ctx.WriteTag(TagSteps);
            ctx.WriteLength(_stepSizes[i]);
            if (frame.Step != 0)
            {
                ctx.WriteTag(TagStep);
                ctx.WriteUInt64((ulong)frame.Step);
            }

            for (int s = 0; s < frame.SpikeCounts.Length; s++)
            {
                int count = frame.SpikeCounts[s];
                if (count == 0)
                {
                    continue;
                }

                ctx.WriteTag(TagSpikes);
                ctx.WriteLength(SpikesSize(frame, s));
                if (s != 0)
                {
                    ctx.WriteTag(TagPopulation);
                    ctx.WriteUInt32((uint)s);
                }

                ctx.WriteTag(TagIndices);
                ctx.WriteLength(IndicesSize(frame, s));
                var indices = frame.SpikeIndices[s];
                for (int k = 0; k < count; k++)
                {
                    ctx.WriteUInt32((uint)indices[k]);
                }

                if (!frame.AllOnes[s])
                {
                    ctx.WriteTag(TagValues);
                    ctx.WriteLength(4 * count);
                    var values = frame.SpikeValues[s];
                    for (int k = 0; k < count; k++)
                    {
                        ctx.WriteFloat(values[k]);
                    }
                }
            }

            for (int r = 0; r < frame.Recorded.Length; r++)
            {
                if (!frame.Recorded[r])
                {
                    continue;
                }

                int n = _plan.Records[r].NeuronCount;
                var values = frame.RecordValues[r];
                for (int v = 0; v < _names[r].Length; v++)
                {
                    ctx.WriteTag(TagStates);
                    ctx.WriteLength(TraceSize(r, v));
                    if (r != 0)
                    {
                        ctx.WriteTag(TagRecord);
                        ctx.WriteUInt32((uint)r);
                    }

                    ctx.WriteTag(TagVariable);
                    ctx.WriteString(_names[r][v]);
                    if (n > 0)
                    {
                        ctx.WriteTag(TagTraceValues);
                        ctx.WriteLength(4 * n);
                        for (int k = v * n; k < (v + 1) * n; k++)
                        {
                            ctx.WriteFloat(values[k]);
                        }
                    }
                }
            }
        }

        if (DroppedBefore != 0)
        {
            ctx.WriteTag(TagDropped);
            ctx.WriteUInt64(DroppedBefore);
        }
    }

    // The rest of IMessage: a batch is written, never read or copied.
    public void MergeFrom(FrameBatch message) => throw new InvalidOperationException("a FrameBatch is only ever written");

    public void MergeFrom(CodedInputStream input) => throw new InvalidOperationException("a FrameBatch is only ever written; parse a RunResponse");

    void IBufferMessage.InternalMergeFrom(ref ParseContext ctx) => throw new InvalidOperationException("a FrameBatch is only ever written; parse a RunResponse");

    public FrameBatch Clone() => throw new InvalidOperationException("a FrameBatch is not copied");

    public bool Equals(FrameBatch? other) => ReferenceEquals(this, other);

    public override bool Equals(object? obj) => ReferenceEquals(this, obj);

    public override int GetHashCode() => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(this);
}
