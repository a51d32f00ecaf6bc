using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Snn.Server.Models;

/// <summary>Parameter values of one vector of neurons, one <see cref="Vector{T}"/> per parameter.</summary>
[InlineArray(MaxCount)]
internal struct ParamLanes
{
    public const int MaxCount = 10;

    private Vector<float> _first;
}

/// <summary>
/// The maths of one neuron model on one vector of neurons. Implementations are readonly structs
/// so that <see cref="VectorKernel{TRule}"/> is specialised per model by the JIT (no virtual call
/// per vector). Every operation is element-wise, so the vector result has the same bits as the
/// scalar one; operations are written in the library's order, never fused or reordered.
/// </summary>
internal interface IVectorRule
{
    /// <summary>Number of state arrays the rule reads and writes (0..4).</summary>
    int StateCount { get; }

    /// <summary>Whether the rule reads the recurrent input.</summary>
    bool UsesRecurrent { get; }

    void Step(in ParamLanes p, ref Vector<float> s0, ref Vector<float> s1, ref Vector<float> s2, ref Vector<float> s3,
        Vector<float> x, Vector<float> rec, out Vector<float> spikes);
}

/// <summary>
/// A kernel whose step is a <typeparamref name="TRule"/> applied vector by vector. With only
/// scalar parameters, a whole block of instances is one contiguous run; otherwise each instance's
/// neuron range is a run with the parameters loaded per neuron. The last partial vector is
/// computed on zero-padded copies, so the maths exists once and the tail has the same bits.
/// </summary>
internal abstract class VectorKernel<TRule> : NeuronKernel
    where TRule : struct, IVectorRule
{
    private readonly TRule _rule;
    private readonly int _paramCount;
    private readonly float[][]? _perNeuron;
    private readonly ParamLanes _broadcast;

    /// <param name="parameters">Compiled float32 constants, in the lane order the rule reads.</param>
    protected VectorKernel(int size, TRule rule, params NeuronValues[] parameters)
        : base(size)
    {
        if (parameters.Length > ParamLanes.MaxCount)
        {
            throw new ArgumentException("too many parameters for one rule", nameof(parameters));
        }

        _rule = rule;
        _paramCount = parameters.Length;
        if (parameters.All(p => p.IsScalar))
        {
            for (int j = 0; j < parameters.Length; j++)
            {
                _broadcast[j] = new Vector<float>(parameters[j].Scalar);
            }
        }
        else
        {
            _perNeuron = new float[parameters.Length][];
            for (int j = 0; j < parameters.Length; j++)
            {
                var values = new float[size];
                for (int i = 0; i < size; i++)
                {
                    values[i] = parameters[j].At(i);
                }

                _perNeuron[j] = values;
            }
        }
    }

    /// <summary>The rule, for a device backend that runs the same maths (its flags).</summary>
    internal TRule Rule => _rule;

    /// <summary>Number of parameter lanes the rule reads.</summary>
    internal int LaneCount => _paramCount;

    /// <summary>The float32 constant of <paramref name="lane"/> for <paramref name="neuron"/>, as the rule sees it.</summary>
    internal float Lane(int lane, int neuron) => _perNeuron is null ? _broadcast[lane][0] : _perNeuron[lane][neuron];

    /// <summary>Whether every parameter is one scalar for the population.</summary>
    public bool AllScalar => _perNeuron is null;

    public override void Step(float[][] state, float[] x, float[] rec, float[] spikes,
        int firstInstance, int instanceCount, int neuronStart, int neuronEnd)
    {
        if (_perNeuron is null && neuronStart == 0 && neuronEnd == Size)
        {
            Run(state, x, rec, spikes, firstInstance * Size, instanceCount * Size, 0);
            return;
        }

        for (int inst = firstInstance; inst < firstInstance + instanceCount; inst++)
        {
            Run(state, x, rec, spikes, inst * Size + neuronStart, neuronEnd - neuronStart, neuronStart);
        }
    }

    private void Run(float[][] state, float[] x, float[] rec, float[] spikes, int start, int length, int neuron)
    {
        // Copies of the rule (its flags become locals) and of the broadcast parameters for the loop.
        var rule = _rule;
        int states = rule.StateCount;
        bool usesRec = rule.UsesRecurrent;
        int w = Vector<float>.Count;
        int vectors = length / w;

        // One range check per run instead of one per load and store.
        int end = start + length;
        if (start < 0 || length < 0 || x.Length < end || spikes.Length < end || (usesRec && rec.Length < end)
            || state.Length < states || (_perNeuron is not null && _perNeuron[0].Length < neuron + length))
        {
            ThrowRange();
        }

        ref float s0 = ref Unsafe.NullRef<float>(), s1 = ref Unsafe.NullRef<float>();
        ref float s2 = ref Unsafe.NullRef<float>(), s3 = ref Unsafe.NullRef<float>();
        if (states > 0) s0 = ref At(state[0], start, end);
        if (states > 1) s1 = ref At(state[1], start, end);
        if (states > 2) s2 = ref At(state[2], start, end);
        if (states > 3) s3 = ref At(state[3], start, end);
        ref float xr = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(x), start);
        ref float rr = ref usesRec ? ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(rec), start) : ref Unsafe.NullRef<float>();
        ref float spk = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(spikes), start);

        var p = _broadcast;
        Vector<float> v0 = default, v1 = default, v2 = default, v3 = default, r = default;
        if (_perNeuron is null)
        {
            for (nuint o = 0, last = (nuint)(vectors * w); o < last; o += (nuint)w)
            {
                if (states > 0) v0 = Vector.LoadUnsafe(ref s0, o);
                if (states > 1) v1 = Vector.LoadUnsafe(ref s1, o);
                if (states > 2) v2 = Vector.LoadUnsafe(ref s2, o);
                if (states > 3) v3 = Vector.LoadUnsafe(ref s3, o);
                if (usesRec) r = Vector.LoadUnsafe(ref rr, o);

                rule.Step(in p, ref v0, ref v1, ref v2, ref v3, Vector.LoadUnsafe(ref xr, o), r, out var z);

                if (states > 0) v0.StoreUnsafe(ref s0, o);
                if (states > 1) v1.StoreUnsafe(ref s1, o);
                if (states > 2) v2.StoreUnsafe(ref s2, o);
                if (states > 3) v3.StoreUnsafe(ref s3, o);
                z.StoreUnsafe(ref spk, o);
            }
        }
        else
        {
            var perNeuron = _perNeuron;
            int paramCount = _paramCount;
            for (int k = 0; k < vectors * w; k += w)
            {
                for (int j = 0; j < paramCount; j++)
                {
                    p[j] = Vector.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(perNeuron[j]), (nuint)(neuron + k));
                }

                nuint o = (nuint)k;
                if (states > 0) v0 = Vector.LoadUnsafe(ref s0, o);
                if (states > 1) v1 = Vector.LoadUnsafe(ref s1, o);
                if (states > 2) v2 = Vector.LoadUnsafe(ref s2, o);
                if (states > 3) v3 = Vector.LoadUnsafe(ref s3, o);
                if (usesRec) r = Vector.LoadUnsafe(ref rr, o);

                rule.Step(in p, ref v0, ref v1, ref v2, ref v3, Vector.LoadUnsafe(ref xr, o), r, out var z);

                if (states > 0) v0.StoreUnsafe(ref s0, o);
                if (states > 1) v1.StoreUnsafe(ref s1, o);
                if (states > 2) v2.StoreUnsafe(ref s2, o);
                if (states > 3) v3.StoreUnsafe(ref s3, o);
                z.StoreUnsafe(ref spk, o);
            }
        }

        int done = vectors * w;
        if (done < length)
        {
            RunTail(state, x, rec, spikes, start + done, length - done, neuron + done);
        }
    }

    /// <summary>Reference to <paramref name="array"/>[start], checked to hold [start, end).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float At(float[] array, int start, int end)
    {
        if (array.Length < end)
        {
            ThrowRange();
        }

        return ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(array), start);
    }

    [DoesNotReturn]
    private static void ThrowRange() =>
        throw new ArgumentOutOfRangeException("start", "the neuron range lies outside the population's buffers");

    private void RunTail(float[][] state, float[] x, float[] rec, float[] spikes, int start, int n, int neuron)
    {
        int w = Vector<float>.Count;
        int states = _rule.StateCount;
        Span<float> scratch = stackalloc float[w];
        var p = _broadcast;
        if (_perNeuron is not null)
        {
            for (int j = 0; j < _paramCount; j++)
            {
                p[j] = Load(_perNeuron[j].AsSpan(neuron, n), scratch);
            }
        }

        Vector<float> s0 = default, s1 = default, s2 = default, s3 = default, r = default;
        if (states > 0) s0 = Load(state[0].AsSpan(start, n), scratch);
        if (states > 1) s1 = Load(state[1].AsSpan(start, n), scratch);
        if (states > 2) s2 = Load(state[2].AsSpan(start, n), scratch);
        if (states > 3) s3 = Load(state[3].AsSpan(start, n), scratch);
        if (_rule.UsesRecurrent) r = Load(rec.AsSpan(start, n), scratch);

        _rule.Step(in p, ref s0, ref s1, ref s2, ref s3, Load(x.AsSpan(start, n), scratch), r, out var spk);

        if (states > 0) Store(s0, state[0].AsSpan(start, n), scratch);
        if (states > 1) Store(s1, state[1].AsSpan(start, n), scratch);
        if (states > 2) Store(s2, state[2].AsSpan(start, n), scratch);
        if (states > 3) Store(s3, state[3].AsSpan(start, n), scratch);
        Store(spk, spikes.AsSpan(start, n), scratch);
    }

    private static Vector<float> Load(ReadOnlySpan<float> source, Span<float> scratch)
    {
        scratch.Clear();
        source.CopyTo(scratch);
        return new Vector<float>(scratch);
    }

    private static void Store(Vector<float> value, Span<float> destination, Span<float> scratch)
    {
        value.CopyTo(scratch);
        scratch[..destination.Length].CopyTo(destination);
    }
}
