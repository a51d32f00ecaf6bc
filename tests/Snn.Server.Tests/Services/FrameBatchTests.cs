using Google.Protobuf;
using Snn.Protos.V1;
using Snn.Server.Engine;
using Snn.Server.Models;
using Snn.Server.Rpc;
using Snn.Server.Services;
using Network = Snn.Server.Engine.Network;
using static Snn.Server.Tests.Engine.NetworkBuilderTests;

namespace Snn.Server.Tests.Services;

/// <summary>Step outputs encoded straight from frames are exactly a RunResponse, and cost no allocation.</summary>
public sealed class FrameBatchTests
{
    private static (Network, OutputPlan) Setup()
    {
        var net = NetworkBuilder.Build(Net(
            [Pop("in", 300, "input"), Pop("lif", 300, "sinabs.LIF", new() { ["tau_mem"] = ParamValue.Number(10), ["tau_syn"] = ParamValue.Number(5) })],
            [OneToOne("j", "in", "lif")]), new EngineLimits());
        var plan = new OutputPlan([0, 1],
        [
            new RecordPlan(1, [0, 1], ["v_mem", "i_syn"], null, 10, 20, 1),
            new RecordPlan(1, [0], ["v_mem"], [299, 0, 150], 0, 0, 2),
        ]);
        return (net, plan);
    }

    private static StepFrame Frame(Network net, OutputPlan plan, long step, int seed)
    {
        var f = new StepFrame(net, plan) { Step = step, DroppedBefore = seed % 3 };
        var rng = new Random(seed);
        for (int s = 0; s < 2; s++)
        {
            int count = rng.Next(0, 200);
            var indices = Enumerable.Range(0, count).Select(k => k * 300 / Math.Max(count, 1)).ToArray();
            var values = Enumerable.Range(0, count).Select(_ => s == 0 ? 1f : rng.Next(1, 4)).ToArray();
            Assert.Equal(count, f.SetSpikes(s, indices, values, 300));
        }

        for (int r = 0; r < plan.Records.Length; r++)
        {
            f.Recorded[r] = plan.Records[r].IsDue(step);
            for (int k = 0; k < f.RecordValues[r].Length; k++)
            {
                f.RecordValues[r][k] = (float)(rng.NextDouble() - 0.5);
            }
        }

        return f;
    }

    [Fact]
    public void A_dense_row_gives_every_non_zero_entry_in_order_and_passes_negative_zero_over()
    {
        var (net, plan) = Setup();
        var f = new StepFrame(net, plan);
        var rng = new Random(3);
        foreach (int density in new[] { 0, 1, 30, 300 })
        {
            var row = new float[300];
            for (int n = 0; n < row.Length; n++)
            {
                row[n] = rng.Next(300) < density ? (rng.Next(3) == 0 ? 0.5f : 1f) : (rng.Next(4) == 0 ? -0f : 0f);
            }

            row[299] = density > 0 ? float.NaN : row[299]; // not zero: a spike value, as the element-wise scan took it
            var expected = Enumerable.Range(0, row.Length).Where(n => row[n] != 0f).ToArray();
            int count = f.SetSpikes(1, row);
            Assert.Equal(expected.Length, count);
            Assert.Equal(expected, f.SpikeIndices[1].AsSpan(0, count).ToArray());
            Assert.Equal(expected.Select(n => BitConverter.SingleToInt32Bits(row[n])), f.SpikeValues[1].AsSpan(0, count).ToArray().Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(expected.All(n => row[n] == 1f), f.AllOnes[1]);
        }
    }

    [Fact]
    public void Encodes_exactly_what_the_generated_RunResponse_would()
    {
        var (net, plan) = Setup();
        var batch = new FrameBatch(plan);
        var frames = Enumerable.Range(0, 7).Select(i => Frame(net, plan, i == 0 ? 0 : 1000 + i, i)).ToArray();
        foreach (var f in frames)
        {
            batch.Add(f);
        }

        byte[] bytes = batch.ToByteArray();
        Assert.Equal(batch.CalculateSize(), bytes.Length);
        var parsed = RunResponse.Parser.ParseFrom(bytes);
        Assert.Equal(bytes, parsed.ToByteArray()); // canonical: the generated code writes the same bytes

        Assert.Equal((ulong)frames.Sum(f => f.DroppedBefore), parsed.DroppedBefore);
        Assert.Equal(frames.Length, parsed.Steps.Count);
        for (int i = 0; i < frames.Length; i++)
        {
            var f = frames[i];
            var step = parsed.Steps[i];
            Assert.Equal((ulong)f.Step, step.Step);
            foreach (var ps in step.Spikes)
            {
                int s = (int)ps.Population;
                Assert.Equal(f.SpikeIndices[s][..f.SpikeCounts[s]].Select(n => (uint)n), ps.Indices);
                Assert.Equal(f.AllOnes[s] ? [] : f.SpikeValues[s][..f.SpikeCounts[s]], ps.Values);
            }

            Assert.Equal(Enumerable.Range(0, 2).Count(s => f.SpikeCounts[s] > 0), step.Spikes.Count);
            var expectedTraces = Enumerable.Range(0, plan.Records.Length).Where(r => f.Recorded[r])
                .SelectMany(r => plan.Records[r].VariableNames.Select((v, k) => (r, v, k))).ToList();
            Assert.Equal(expectedTraces.Count, step.States.Count);
            for (int t = 0; t < expectedTraces.Count; t++)
            {
                var (r, v, k) = expectedTraces[t];
                int n = plan.Records[r].NeuronCount;
                Assert.Equal((uint)r, step.States[t].Record);
                Assert.Equal(v, step.States[t].Variable);
                Assert.Equal(f.RecordValues[r].AsSpan(k * n, n).ToArray(), step.States[t].Values);
            }
        }

        var control = new RunResponse { Status = new RunStatus { Step = 5, LateInputs = 2 } };
        Assert.Equal(control.ToByteArray(), batch.Control(control).ToByteArray());
    }

    [Fact]
    public void Encoding_allocates_nothing()
    {
        var (net, plan) = Setup();
        var batch = new FrameBatch(plan);
        var frames = Enumerable.Range(0, 32).Select(i => Frame(net, plan, 1 + i, i)).ToArray();
        var buffer = new byte[1 << 20];
        long Encode()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            foreach (var f in frames)
            {
                batch.Add(f);
            }

            int size = batch.CalculateSize();
            batch.WriteTo(buffer.AsSpan(0, size));
            batch.Clear();
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Encode();
        Assert.Equal(0, Encode());
    }

    [Fact]
    public void The_served_Run_marshaller_writes_RunResponse_bytes_into_the_response_buffer_and_allocates_nothing()
    {
        var (net, plan) = Setup();
        var batch = new FrameBatch(plan);
        var frames = Enumerable.Range(0, 32).Select(i => Frame(net, plan, 1 + i, i)).ToArray();
        var context = new BufferContext();
        var serialize = SnnMethods.Run.ResponseMarshaller.ContextualSerializer;
        long Write()
        {
            context.Reset();
            long before = GC.GetAllocatedBytesForCurrentThread();
            foreach (var f in frames)
            {
                batch.Add(f);
            }

            serialize(batch, context);
            batch.Clear();
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Write();
        Assert.Equal(0, Write());

        // What went into the buffer is the RunResponse the generated code would write.
        var parsed = RunResponse.Parser.ParseFrom(context.Written.WrittenSpan);
        Assert.Equal(32, parsed.Steps.Count);
        Assert.Equal(context.Written.WrittenCount, context.PayloadLength);
        foreach (var f in frames)
        {
            batch.Add(f);
        }

        Assert.Equal(batch.ToByteArray(), context.Written.WrittenSpan.ToArray());
    }

    [Fact]
    public void The_served_request_marshallers_refuse_bytes_that_are_not_protobuf_with_INVALID_ARGUMENT()
    {
        var deserialize = SnnMethods.Run.RequestMarshaller.ContextualDeserializer;
        var e = Assert.Throws<Grpc.Core.RpcException>(() => deserialize(new PayloadContext([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])));
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("not a valid RunRequest", e.Status.Detail, StringComparison.Ordinal);
        var ok = deserialize(new PayloadContext(new RunRequest { Advance = 3 }.ToByteArray()));
        Assert.Equal(3u, ok.Advance);
    }

    /// <summary>A serialization context over one reusable buffer, as grpc-dotnet's is per call.</summary>
    private sealed class BufferContext : Grpc.Core.SerializationContext
    {
        public System.Buffers.ArrayBufferWriter<byte> Written { get; } = new(1 << 20);

        public int PayloadLength { get; private set; }

        public void Reset() => Written.ResetWrittenCount();

        public override void SetPayloadLength(int payloadLength) => PayloadLength = payloadLength;

        public override System.Buffers.IBufferWriter<byte> GetBufferWriter() => Written;

        public override void Complete()
        {
        }

        public override void Complete(byte[] payload) => throw new InvalidOperationException("the marshaller must write into the buffer writer");
    }

    private sealed class PayloadContext(byte[] payload) : Grpc.Core.DeserializationContext
    {
        public override int PayloadLength => payload.Length;

        public override byte[] PayloadAsNewBuffer() => (byte[])payload.Clone();

        public override System.Buffers.ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(payload);
    }
}
