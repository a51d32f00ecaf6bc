using ILGPU;

namespace Snn.Server.Backends.Gpu;

/// <summary>
/// One neuron model's maths on one neuron, in float32 and in exactly the order of the CPU rule it
/// mirrors (Snn.Server/Models). <paramref name="p"/> holds the parameter lanes: p[lane, neuron].
/// </summary>
internal interface IDeviceRule
{
    void Step(DeviceLanes p, int n, ref float s0, ref float s1, ref float s2, ref float s3, float x, float rec, out float spike);
}

/// <summary>
/// A population's parameter lanes on the device, one after the other. A lane whose value is the same
/// for every neuron (a scalar parameter, the usual case; bit j of <paramref name="scalar"/> set for
/// lane j) is kept as that one value and every thread reads the same address, which the caches serve;
/// any other lane holds one value per neuron. So a step reads from memory, and the device stores,
/// only the lanes that vary per neuron.
/// </summary>
internal readonly struct DeviceLanes(ArrayView<float> values, int size, int scalar)
{
    /// <summary>Lane <paramref name="lane"/> of neuron <paramref name="n"/>: after <paramref name="lane"/> lanes of which the scalar ones hold one value.</summary>
    public float this[int lane, int n] =>
        values[lane * size - IntrinsicMath.PopCount(scalar & ((1 << lane) - 1)) * (size - 1) + (n & (((scalar >> lane) & 1) - 1))];
}

/// <summary>The geometry of a conv2d or sum pool projection (Engine/Window2d.cs), as a kernel argument.</summary>
internal struct DeviceWindow
{
    public int InChannels;
    public int Height;
    public int Width;
    public int OutChannels;
    public int OutHeight;
    public int OutWidth;
    public int KernelHeight;
    public int KernelWidth;
    public int StrideY;
    public int StrideX;
    public int PaddingY;
    public int PaddingX;

    /// <summary>Neurons of one instance of the target population: channels × rows × columns.</summary>
    public readonly int OutSize => OutChannels * OutHeight * OutWidth;

    /// <summary>Values of one instance's source row.</summary>
    public readonly long InSize => (long)InChannels * Height * Width;

    /// <summary>Thread <paramref name="i"/>'s output: due index, neuron within the instance, its channel, row and column.</summary>
    public readonly WindowOutput Output(int i)
    {
        int plane = OutHeight * OutWidth;
        var w = default(WindowOutput);
        w.Due = i / OutSize;
        w.Neuron = i - w.Due * OutSize;
        w.Channel = w.Neuron / plane;
        int rem = w.Neuron - w.Channel * plane;
        w.Y = rem / OutWidth;
        w.X = rem - w.Y * OutWidth;
        return w;
    }
}

/// <summary>Where a window kernel's thread writes (see <see cref="DeviceWindow.Output"/>).</summary>
internal struct WindowOutput
{
    public int Due;
    public int Neuron;
    public int Channel;
    public int Y;
    public int X;
}

/// <summary>
/// The backend's kernels. All are explicitly grouped and step every
/// due instance of a population in one launch (groups of up to <see cref="MaxGroupSize"/> threads): thread g is neuron g mod size of the instance
/// due[g / size]. Buffers are [instance][neuron] as on the host.
/// </summary>
internal static class DeviceKernels
{
    /// <summary>Threads per group on a GPU; ILGPU's CPU accelerator runs smaller groups (see <see cref="DeviceKernelSet.GroupSize"/>).</summary>
    public const int MaxGroupSize = 256;

    /// <summary>Elements one thread looks at when compacting: a group covers group size × this many neurons.</summary>
    public const int PerThread = 4;

    /// <summary>What the compaction kernels write into the output lists the host reads (besides the counts): nothing.</summary>
    public const int HostListsNone = 0;

    /// <summary>The spikes' indices alone (a population whose spikes are all 1).</summary>
    public const int HostListsIndices = 1;

    /// <summary>The spikes' indices and values.</summary>
    public const int HostListsValues = 2;

    /// <summary>
    /// The neuron step of a population larger than one chunk, fused with compaction's first pass:
    /// group (d, c) steps the neurons of chunk c of instance due[d] (thread t the neurons
    /// c × chunk + e × group size + t, so that consecutive threads touch consecutive neurons) and
    /// writes how many spiked into chunkCounts[group]. With <paramref name="zeroInput"/> it leaves the
    /// inputs it read zero for the next step. Launch dueCount × chunks groups. The maths is the rule's
    /// on one neuron, as <see cref="NeuronSmall{TRule}"/>.
    /// </summary>
    public static void NeuronCount<TRule>(TRule rule, ArrayView<float> s0, ArrayView<float> s1, ArrayView<float> s2, ArrayView<float> s3,
        ArrayView<float> x, ArrayView<float> rec, ArrayView<float> spikes, ArrayView<float> p, int scalar, ArrayView<int> due, int size, int chunks,
        int states, int recurrent, int zeroInput, ArrayView<float> oneWeights, ArrayView<float> oneSource, ArrayView<int> oneOffset, int oneToOne,
        ArrayView<int> chunkCounts)
        where TRule : struct, IDeviceRule
    {
        var shared = SharedMemory.Allocate<int>(MaxGroupSize);
        int grp = Grid.IdxX;
        int d = grp / chunks;
        int c = grp - d * chunks;
        long o = (long)due[d] * size;
        int dim = Group.DimX;
        int n = c * PerThread * dim + Group.IdxX;
        var lanes = new DeviceLanes(p, size, scalar);
        var one = new FusedOneToOne(oneWeights, oneSource, oneToOne != 0 ? oneOffset[d] : 0, oneToOne);

        // Every load of the thread's four neurons is issued before the first store (see Read).
        var v0 = Read(s0, s1, s2, s3, x, rec, o, n, size, states, recurrent, one);
        var v1 = Read(s0, s1, s2, s3, x, rec, o, n + dim, size, states, recurrent, one);
        var v2 = Read(s0, s1, s2, s3, x, rec, o, n + 2 * dim, size, states, recurrent, one);
        var v3 = Read(s0, s1, s2, s3, x, rec, o, n + 3 * dim, size, states, recurrent, one);
        int mine = Finish(rule, lanes, v0, s0, s1, s2, s3, x, rec, spikes, o, n, size, states, recurrent, zeroInput)
            + Finish(rule, lanes, v1, s0, s1, s2, s3, x, rec, spikes, o, n + dim, size, states, recurrent, zeroInput)
            + Finish(rule, lanes, v2, s0, s1, s2, s3, x, rec, spikes, o, n + 2 * dim, size, states, recurrent, zeroInput)
            + Finish(rule, lanes, v3, s0, s1, s2, s3, x, rec, spikes, o, n + 3 * dim, size, states, recurrent, zeroInput);

        int total = GroupSum(mine, shared);
        if (Group.IdxX == 0)
        {
            chunkCounts[grp] = total;
        }
    }

    /// <summary>What one neuron's step reads: its state variables, input and recurrent input.</summary>
    private struct NeuronValues
    {
        public float A;
        public float B;
        public float C;
        public float E;
        public float X;
        public float R;
    }

    /// <summary>
    /// The loads of neuron <paramref name="n"/>'s step (zeros past <paramref name="size"/>). Kept apart from
    /// <see cref="Finish{TRule}"/> so that a thread issues the loads of all its neurons before the first
    /// store: the compiler may not move a load above a store to a buffer it cannot tell apart, so a loop
    /// of whole steps would wait for memory once per neuron instead of once per thread.
    /// </summary>
    private static NeuronValues Read(ArrayView<float> s0, ArrayView<float> s1, ArrayView<float> s2, ArrayView<float> s3,
        ArrayView<float> x, ArrayView<float> rec, long o, int n, int size, int states, int recurrent, FusedOneToOne one)
    {
        var v = default(NeuronValues);
        if (n < size)
        {
            long i = o + n;
            v.A = states > 0 ? s0[i] : 0f;
            v.B = states > 1 ? s1[i] : 0f;
            v.C = states > 2 ? s2[i] : 0f;
            v.E = states > 3 ? s3[i] : 0f;
            v.X = one.Add(x[i], n);
            v.R = recurrent != 0 ? rec[i] : 0f;
        }

        return v;
    }

    /// <summary>
    /// A one-to-one projection applied by its target's neuron kernel as it reads the input, instead of
    /// by <see cref="OneToOne"/> before it (when it is the last projection into the input): the same
    /// sum, input + w × source (or input + source), one launch and one pass over the input fewer.
    /// Mode 0: none, 1: without weights, 2: weighted. <paramref name="at"/> is the source row's offset.
    /// </summary>
    private readonly struct FusedOneToOne(ArrayView<float> weights, ArrayView<float> source, long at, int mode)
    {
        public float Add(float x, int n)
        {
            if (mode == 0)
            {
                return x;
            }

            float v = source[at + n];
            return mode == 2 ? x + weights[n] * v : x + v;
        }
    }

    /// <summary>
    /// Neuron <paramref name="n"/>'s step from what <see cref="Read"/> loaded: the rule, state and spike
    /// written, the recurrent input zeroed and, with <paramref name="zeroInput"/> (not for a constant input
    /// read in place), the input; returns 1 when it spiked (0 past the size).
    /// </summary>
    private static int Finish<TRule>(TRule rule, DeviceLanes lanes, NeuronValues v, ArrayView<float> s0, ArrayView<float> s1,
        ArrayView<float> s2, ArrayView<float> s3, ArrayView<float> x, ArrayView<float> rec, ArrayView<float> spikes, long o, int n, int size,
        int states, int recurrent, int zeroInput)
        where TRule : struct, IDeviceRule
    {
        if (n >= size)
        {
            return 0;
        }

        long i = o + n;
        rule.Step(lanes, n, ref v.A, ref v.B, ref v.C, ref v.E, v.X, v.R, out float z);
        if (states > 0)
        {
            s0[i] = v.A;
        }

        if (states > 1)
        {
            s1[i] = v.B;
        }

        if (states > 2)
        {
            s2[i] = v.C;
        }

        if (states > 3)
        {
            s3[i] = v.E;
        }

        spikes[i] = z;
        if (zeroInput != 0)
        {
            x[i] = 0f;
        }

        if (recurrent != 0)
        {
            rec[i] = 0f;
        }

        return z != 0f ? 1 : 0;
    }

    /// <summary>
    /// snntorch's inhibition (SnnTorchKernel.Inhibit), group d for instance due[d], after the rule left
    /// each neuron's delayed-reset signal in <paramref name="spikes"/>: the winner is the first neuron
    /// furthest above its threshold (mem - threshold, strictly greater wins, from neuron 0, as the CPU's
    /// scan: thread t scans its own block, then blocks combine lower first), only it may fire (spike 1),
    /// then the immediate reset (reset 0 subtract, 1 zero) and the spk state when there is one.
    /// </summary>
    public static void Inhibit(ArrayView<float> mem, ArrayView<float> spkState, int hasSpk, ArrayView<float> spikes, ArrayView<float> thr,
        ArrayView<float> graded, ArrayView<int> due, int size, int reset, int immediate)
    {
        var bestValue = SharedMemory.Allocate<float>(MaxGroupSize);
        var bestIndex = SharedMemory.Allocate<int>(MaxGroupSize);
        int t = Group.IdxX;
        int dim = Group.DimX;
        long o = (long)due[Grid.IdxX] * size;
        int per = (size + dim - 1) / dim;
        int first = t * per;
        int last = first + per < size ? first + per : size;
        float best = float.NegativeInfinity;
        int index = -1;
        for (int n = first; n < last; n++)
        {
            float d = mem[o + n] - thr[n];
            if (d > best)
            {
                best = d;
                index = n;
            }
        }

        bestValue[t] = best;
        bestIndex[t] = index;
        Group.Barrier();
        for (int stride = 1; stride < dim; stride <<= 1)
        {
            if (t % (2 * stride) == 0 && t + stride < dim && bestValue[t + stride] > bestValue[t])
            {
                bestValue[t] = bestValue[t + stride];
                bestIndex[t] = bestIndex[t + stride];
            }

            Group.Barrier();
        }

        // The CPU starts from neuron 0: it stays the winner when nothing is strictly above it (also when its own difference is NaN).
        float d0 = mem[o] - thr[0];
        int winner = bestIndex[0] < 0 || float.IsNaN(d0) ? 0 : bestIndex[0];
        for (int n = first; n < last; n++)
        {
            float r = spikes[o + n];
            float m = mem[o + n];
            float spk = n == winner && m - thr[n] > 0f ? 1f : 0f;
            if (immediate != 0)
            {
                mem[o + n] = LeakyDeviceRule.Reset(m, spk / graded[n] - r, thr[n], reset);
            }

            spikes[o + n] = spk;
            if (hasSpk != 0)
            {
                spkState[o + n] = spk;
            }
        }
    }

    /// <summary>
    /// External input as an event list: group d writes instance due[d]'s pairs (neuron, value bits) into
    /// its input row, whose other entries are zero at this point of the step. The values are the
    /// host's sums of the step's events, so repeats write the same value. <paramref name="events"/>
    /// holds the counts per due instance, then each one's pairs from dueCount + 2 × capacity × d.
    /// </summary>
    public static void ScatterEvents(ArrayView<float> x, ArrayView<int> events, ArrayView<int> due, int dueCount, int size, int capacity) =>
        Scatter(x, events, Grid.IdxX, (long)due[Grid.IdxX] * size, dueCount, capacity);

    /// <summary>The group's part of <see cref="ScatterEvents"/>: due instance <paramref name="d"/>'s pairs into its row at <paramref name="o"/>.</summary>
    private static void Scatter(ArrayView<float> x, ArrayView<int> events, int d, long o, int dueCount, int capacity)
    {
        int count = events[d];
        long pairs = dueCount + 2L * capacity * d;
        for (int k = Group.IdxX; k < count; k += Group.DimX)
        {
            x[o + events[pairs + 2 * k]] = Interop.IntAsFloat((uint)events[pairs + 2 * k + 1]);
        }
    }

    /// <summary>
    /// Dense projection from a compacted source (ascending indices): per target,
    /// acc = ((0 + v0*w0) + v1*w1) + ..., then + bias, then target + acc, as DenseProjection does;
    /// nothing is added when there is neither a spike nor a bias (-0 stays -0).
    /// </summary>
    public static void DenseFromEvents(ArrayView<float> target, ArrayView<float> weights, ArrayView<float> bias,
        ArrayView<int> srcIndex, ArrayView<float> srcValue, ArrayView<int> srcCount, int srcSize,
        ArrayView<int> due, ArrayView<int> biasOn, int dueCount, int size)
    {
        int g = Grid.GlobalIndex.X;
        if (g >= dueCount * size)
        {
            return;
        }

        int d = g / size;
        int t = g - d * size;
        int inst = due[d];
        int count = srcCount[inst];
        long sb = (long)inst * srcSize;
        float acc = 0f;

        // Eight sources at a time: their weights are loaded before any is added, so a thread waits for memory once per
        // eight rather than once per source (with one thread per target, a wide source's sum is a chain of dependent
        // iterations: 1,024 active sources of 1,024 took ~200 us on an H200 one by one). The additions stay in order.
        int k = 0;
        for (; k + 8 <= count; k += 8)
        {
            long e = sb + k;
            float w0 = weights[(long)srcIndex[e] * size + t], w1 = weights[(long)srcIndex[e + 1] * size + t];
            float w2 = weights[(long)srcIndex[e + 2] * size + t], w3 = weights[(long)srcIndex[e + 3] * size + t];
            float w4 = weights[(long)srcIndex[e + 4] * size + t], w5 = weights[(long)srcIndex[e + 5] * size + t];
            float w6 = weights[(long)srcIndex[e + 6] * size + t], w7 = weights[(long)srcIndex[e + 7] * size + t];
            acc = acc + srcValue[e] * w0;
            acc = acc + srcValue[e + 1] * w1;
            acc = acc + srcValue[e + 2] * w2;
            acc = acc + srcValue[e + 3] * w3;
            acc = acc + srcValue[e + 4] * w4;
            acc = acc + srcValue[e + 5] * w5;
            acc = acc + srcValue[e + 6] * w6;
            acc = acc + srcValue[e + 7] * w7;
        }

        for (; k < count; k++)
        {
            int s = srcIndex[sb + k];
            acc = acc + srcValue[sb + k] * weights[(long)s * size + t];
        }

        AddDense(target, bias, biasOn[d], inst, size, t, acc, count > 0);
    }

    /// <summary>Targets a group of <see cref="DenseTiled"/> sums (fewer on a CPU accelerator's smaller groups).</summary>
    public const int TileWidth = 32;

    /// <summary>Products one thread of <see cref="DenseTiled"/> forms per tile (written out there: change both together).</summary>
    public const int TileDepth = 8;

    /// <summary>
    /// <see cref="DenseFromEvents"/> for a projection with few targets to a launch (a thread per target leaves the device
    /// idle while each thread waits for its weights one source after another). A group covers <see cref="TileWidth"/>
    /// targets of one due instance; its threads form the products of a tile of sources (group size / width ×
    /// <see cref="TileDepth"/> of them, each product rounded as on the CPU) into shared memory, reading the weights
    /// coalesced, and one thread per target then adds its column in source order. The same operations in the same order
    /// as <see cref="DenseFromEvents"/>, so the same bits. Launch dueCount × ⌈size / width⌉ groups.
    /// </summary>
    public static void DenseTiled(ArrayView<float> target, ArrayView<float> weights, ArrayView<float> bias,
        ArrayView<int> srcIndex, ArrayView<float> srcValue, ArrayView<int> srcCount, int srcSize,
        ArrayView<int> due, ArrayView<int> biasOn, int dueCount, int size)
    {
        var tile = SharedMemory.Allocate<float>(MaxGroupSize * TileDepth);
        int width = Math.Min(TileWidth, Group.DimX);
        int column = Group.IdxX % width, part = Group.IdxX / width;
        int depth = Group.DimX / width * TileDepth;
        int perInstance = (size + width - 1) / width;
        int d = Grid.IdxX / perInstance; // the same for the whole group: barriers below are reached by all of its threads
        int t = (Grid.IdxX - d * perInstance) * width + column;
        if (d >= dueCount)
        {
            return;
        }

        int inst = due[d];
        int count = srcCount[inst];
        long sb = (long)inst * srcSize;
        bool mine = t < size;
        float acc = 0f;
        for (int k0 = 0; k0 < count; k0 += depth)
        {
            // This thread's products: sources first .. first + TileDepth - 1 of the tile, its target. Written out, every
            // load issued before the first product (a loop here compiled to a branch per product, each waiting for its
            // index and then its weight). Past the last source or target the loads are clamped into the buffers and
            // their products never added: the sums below stop at the last source, and only in-range targets sum.
            int first = k0 + part * TileDepth;
            int row = part * TileDepth * width + column;
            int last = count - 1;
            long w = Math.Min(t, size - 1);
            long e0 = sb + Math.Min(first, last), e1 = sb + Math.Min(first + 1, last), e2 = sb + Math.Min(first + 2, last);
            long e3 = sb + Math.Min(first + 3, last), e4 = sb + Math.Min(first + 4, last), e5 = sb + Math.Min(first + 5, last);
            long e6 = sb + Math.Min(first + 6, last), e7 = sb + Math.Min(first + 7, last);
            int i0 = srcIndex[e0], i1 = srcIndex[e1], i2 = srcIndex[e2], i3 = srcIndex[e3];
            int i4 = srcIndex[e4], i5 = srcIndex[e5], i6 = srcIndex[e6], i7 = srcIndex[e7];
            float v0 = srcValue[e0], v1 = srcValue[e1], v2 = srcValue[e2], v3 = srcValue[e3];
            float v4 = srcValue[e4], v5 = srcValue[e5], v6 = srcValue[e6], v7 = srcValue[e7];
            float w0 = weights[i0 * (long)size + w], w1 = weights[i1 * (long)size + w], w2 = weights[i2 * (long)size + w];
            float w3 = weights[i3 * (long)size + w], w4 = weights[i4 * (long)size + w], w5 = weights[i5 * (long)size + w];
            float w6 = weights[i6 * (long)size + w], w7 = weights[i7 * (long)size + w];
            tile[row] = v0 * w0;
            tile[row + width] = v1 * w1;
            tile[row + 2 * width] = v2 * w2;
            tile[row + 3 * width] = v3 * w3;
            tile[row + 4 * width] = v4 * w4;
            tile[row + 5 * width] = v5 * w5;
            tile[row + 6 * width] = v6 * w6;
            tile[row + 7 * width] = v7 * w7;

            Group.Barrier();
            if (part == 0 && mine)
            {
                int n = Math.Min(depth, count - k0);
                for (int j = 0; j < n; j++)
                {
                    acc = acc + tile[j * width + column];
                }
            }

            Group.Barrier();
        }

        if (part != 0 || !mine)
        {
            return;
        }

        AddDense(target, bias, biasOn[d], inst, size, t, acc, count > 0);
    }

    /// <summary>The same from a dense source row (a delay line slot): zero values are skipped as on the CPU.</summary>
    public static void DenseFromRow(ArrayView<float> target, ArrayView<float> weights, ArrayView<float> bias,
        ArrayView<float> src, ArrayView<int> srcOffset, int srcSize,
        ArrayView<int> due, ArrayView<int> biasOn, int dueCount, int size)
    {
        int g = Grid.GlobalIndex.X;
        if (g >= dueCount * size)
        {
            return;
        }

        int d = g / size;
        int t = g - d * size;
        int inst = due[d];
        long sb = srcOffset[d];
        float acc = 0f;
        bool any = false;

        // Eight sources at a time, their weights loaded (where the source is not zero) before any is added (see DenseFromEvents).
        int s = 0;
        for (; s + 8 <= srcSize; s += 8)
        {
            long e = sb + s, r = (long)s * size + t;
            float v0 = src[e], v1 = src[e + 1], v2 = src[e + 2], v3 = src[e + 3], v4 = src[e + 4], v5 = src[e + 5], v6 = src[e + 6], v7 = src[e + 7];
            float w0 = v0 != 0f ? weights[r] : 0f, w1 = v1 != 0f ? weights[r + size] : 0f;
            float w2 = v2 != 0f ? weights[r + 2L * size] : 0f, w3 = v3 != 0f ? weights[r + 3L * size] : 0f;
            float w4 = v4 != 0f ? weights[r + 4L * size] : 0f, w5 = v5 != 0f ? weights[r + 5L * size] : 0f;
            float w6 = v6 != 0f ? weights[r + 6L * size] : 0f, w7 = v7 != 0f ? weights[r + 7L * size] : 0f;
            if (v0 != 0f) { acc = acc + v0 * w0; any = true; }
            if (v1 != 0f) { acc = acc + v1 * w1; any = true; }
            if (v2 != 0f) { acc = acc + v2 * w2; any = true; }
            if (v3 != 0f) { acc = acc + v3 * w3; any = true; }
            if (v4 != 0f) { acc = acc + v4 * w4; any = true; }
            if (v5 != 0f) { acc = acc + v5 * w5; any = true; }
            if (v6 != 0f) { acc = acc + v6 * w6; any = true; }
            if (v7 != 0f) { acc = acc + v7 * w7; any = true; }
        }

        for (; s < srcSize; s++)
        {
            float v = src[sb + s];
            if (v != 0f)
            {
                acc = acc + v * weights[(long)s * size + t];
                any = true;
            }
        }

        AddDense(target, bias, biasOn[d], inst, size, t, acc, any);
    }

    /// <summary>
    /// The end of a dense projection's sum <paramref name="acc"/> for target <paramref name="t"/> of instance
    /// <paramref name="inst"/>: the bias first where the step adds it, then into the target, as DenseProjection does;
    /// nothing is added when there was neither a spike (<paramref name="any"/>) nor a bias (-0 stays -0).
    /// </summary>
    private static void AddDense(ArrayView<float> target, ArrayView<float> bias, int biasOn, int inst, int size, int t, float acc, bool any)
    {
        if (biasOn != 0)
        {
            acc = bias[t] + acc;
            any = true;
        }

        if (any)
        {
            long o = (long)inst * size + t;
            target[o] = acc + target[o];
        }
    }

    /// <summary>One-to-one: target + w*source (or target + source without weights), as OneToOneProjection.</summary>
    public static void OneToOne(ArrayView<float> target, ArrayView<float> weights, int weighted,
        ArrayView<float> src, ArrayView<int> srcOffset, ArrayView<int> due, int dueCount, int size)
    {
        int g = Grid.GlobalIndex.X;
        if (g >= dueCount * size)
        {
            return;
        }

        int d = g / size;
        int n = g - d * size;
        long o = (long)due[d] * size + n;
        float v = src[srcOffset[d] + n];
        target[o] = weighted != 0 ? target[o] + weights[n] * v : target[o] + v;
    }

    /// <summary>
    /// conv2d as Conv2dProjection delivers it: per output, the products of the non-zero sources in
    /// ascending source order (channel, row, column), then the bias; added when the source row has a
    /// spike or the bias applies. Weights in the spec's [out][in][kh][kw] layout.
    /// </summary>
    public static void Conv2d(ArrayView<float> target, ArrayView<float> weights, ArrayView<float> bias, ArrayView<float> src,
        ArrayView<int> srcOffset, ArrayView<int> srcCount, ArrayView<int> due, ArrayView<int> biasOn, DeviceWindow g, int dueCount)
    {
        int size = g.OutSize;
        int i = Grid.GlobalIndex.X;
        if (i >= dueCount * size)
        {
            return;
        }

        var w = g.Output(i);
        int o = w.Channel;
        long sb = srcOffset[w.Due];
        float acc = 0f;
        for (int c = 0; c < g.InChannels; c++)
        {
            for (int ky = 0; ky < g.KernelHeight; ky++)
            {
                int y = w.Y * g.StrideY - g.PaddingY + ky;
                if (y < 0 || y >= g.Height)
                {
                    continue;
                }

                for (int kx = 0; kx < g.KernelWidth; kx++)
                {
                    int x = w.X * g.StrideX - g.PaddingX + kx;
                    if (x < 0 || x >= g.Width)
                    {
                        continue;
                    }

                    float v = src[sb + (c * g.Height + y) * g.Width + x];
                    if (v != 0f)
                    {
                        acc = acc + v * weights[((o * g.InChannels + c) * g.KernelHeight + ky) * g.KernelWidth + kx];
                    }
                }
            }
        }

        bool any = SourceHasSpikes(srcOffset, srcCount, w.Due, g);
        if (biasOn[w.Due] != 0)
        {
            acc = acc + bias[o];
            any = true;
        }

        if (any)
        {
            long at = (long)due[w.Due] * size + w.Neuron;
            target[at] = target[at] + acc;
        }
    }

    /// <summary>Whether due instance <paramref name="d"/>'s source row (or its delay line slot) has spikes, from its spike count.</summary>
    private static bool SourceHasSpikes(ArrayView<int> srcOffset, ArrayView<int> srcCount, int d, DeviceWindow g) =>
        srcCount[(int)(srcOffset[d] / g.InSize)] > 0;

    /// <summary>Sum pooling as SumPool2dProjection: per output, its window's non-zero sources in ascending order.</summary>
    public static void SumPool2d(ArrayView<float> target, ArrayView<float> src, ArrayView<int> srcOffset, ArrayView<int> srcCount,
        ArrayView<int> due, DeviceWindow g, int dueCount)
    {
        int size = g.OutSize;
        int i = Grid.GlobalIndex.X;
        if (i >= dueCount * size)
        {
            return;
        }

        var w = g.Output(i);
        if (!SourceHasSpikes(srcOffset, srcCount, w.Due, g))
        {
            return;
        }

        long sb = srcOffset[w.Due];
        float acc = 0f;
        for (int ky = 0; ky < g.KernelHeight; ky++)
        {
            int y = w.Y * g.StrideY - g.PaddingY + ky;
            if (y < 0 || y >= g.Height)
            {
                continue;
            }

            for (int kx = 0; kx < g.KernelWidth; kx++)
            {
                int x = w.X * g.StrideX - g.PaddingX + kx;
                if (x >= 0 && x < g.Width)
                {
                    float v = src[sb + (w.Channel * g.Height + y) * g.Width + x];
                    if (v != 0f)
                    {
                        acc = acc + v;
                    }
                }
            }
        }

        long at = (long)due[w.Due] * size + w.Neuron;
        target[at] = target[at] + acc;
    }

    /// <summary>
    /// sparse as SparseProjection: per target, its synapses ordered by (source, CSR position), i.e. the
    /// order in which the CPU's scatter adds them; then the bias.
    /// </summary>
    public static void Sparse(ArrayView<float> target, ArrayView<int> colStart, ArrayView<int> colSource, ArrayView<float> colWeight,
        ArrayView<float> bias, ArrayView<float> src, ArrayView<int> srcOffset, ArrayView<int> srcCount, ArrayView<int> due,
        ArrayView<int> biasOn, int dueCount, int size, int srcSize)
    {
        int i = Grid.GlobalIndex.X;
        if (i >= dueCount * size)
        {
            return;
        }

        int d = i / size;
        int t = i - d * size;
        int inst = due[d];
        long sb = srcOffset[d];
        float acc = 0f;
        int end = colStart[t + 1];
        for (int k = colStart[t]; k < end; k++)
        {
            float v = src[sb + colSource[k]];
            if (v != 0f)
            {
                acc = acc + v * colWeight[k];
            }
        }

        bool any = srcCount[(int)(sb / srcSize)] > 0; // this instance's row, or its delay line slot
        if (biasOn[d] != 0)
        {
            acc = acc + bias[t];
            any = true;
        }

        if (any)
        {
            long at = (long)inst * size + t;
            target[at] = target[at] + acc;
        }
    }

    /// <summary>
    /// Copies a population's spikes of this step into a delay line slot, and its spike count into the
    /// slot's count (conv2d, sum pool and sparse skip a row without spikes, as on the CPU).
    /// </summary>
    public static void RecordDelay(ArrayView<float> spikes, ArrayView<float> line, ArrayView<int> lineOffset,
        ArrayView<int> due, int dueCount, int size, ArrayView<int> counts, ArrayView<int> lineCounts)
    {
        int g = Grid.GlobalIndex.X;
        if (g >= dueCount * size)
        {
            return;
        }

        int d = g / size;
        int n = g - d * size;
        line[lineOffset[d] + n] = spikes[(long)due[d] * size + n];
        if (n == 0)
        {
            lineCounts[lineOffset[d] / size] = counts[due[d]];
        }
    }

    /// <summary>
    /// A population of at most one chunk (group size × <see cref="PerThread"/> neurons) stepped and
    /// compacted in one launch: group d first writes instance due[d]'s external events into its input
    /// row when <paramref name="capacity"/> is not 0 (a population nothing else feeds: the row holds only
    /// them; <paramref name="events"/> laid out as for <see cref="ScatterEvents"/>), steps its neurons
    /// (thread t the <see cref="PerThread"/> from t × PerThread), zeroes the inputs it read for the next
    /// step, then counts, scans and writes the spikes and their count into both lists (see
    /// <see cref="WriteGroup"/>). The same maths as <see cref="NeuronCount{TRule}"/>, neuron for neuron.
    /// </summary>
    public static void NeuronSmall<TRule>(TRule rule, ArrayView<float> s0, ArrayView<float> s1, ArrayView<float> s2, ArrayView<float> s3,
        ArrayView<float> x, ArrayView<float> rec, ArrayView<float> spikes, ArrayView<float> p, int scalar, ArrayView<int> due, int size,
        int states, int recurrent, int zeroInput, ArrayView<int> events, int dueCount, int capacity, ArrayView<float> oneWeights,
        ArrayView<float> oneSource, ArrayView<int> oneOffset, int oneToOne, ArrayView<int> counts, ArrayView<int> index,
        ArrayView<float> value, ArrayView<int> outCounts, ArrayView<int> outIndex, ArrayView<float> outValue, int hostLists)
        where TRule : struct, IDeviceRule
    {
        var shared = SharedMemory.Allocate<int>(MaxGroupSize);
        var stagedIndex = SharedMemory.Allocate<int>(MaxGroupSize * PerThread);
        var stagedValue = SharedMemory.Allocate<float>(MaxGroupSize * PerThread);
        int inst = due[Grid.IdxX];
        long o = (long)inst * size;
        if (capacity > 0)
        {
            // This step's external events, written into the input row as ScatterEvents does, then read by the whole group.
            Scatter(x, events, Grid.IdxX, o, dueCount, capacity);
        }

        // Outside the branch (one barrier more a launch where there are no events): a barrier under a condition makes the
        // block after it a region entry with PHI nodes, the likely cause of the assertion in PoCL's work-item loop pass
        // ("Cannot add context restore for a PHI node at the region entry") at a one-chunk population's first step on the
        // H200 machine's PoCL. The only conditional barrier of these kernels; not yet run on PoCL.
        Group.Barrier();

        int first = Group.IdxX * PerThread;
        var lanes = new DeviceLanes(p, size, scalar);
        var one = new FusedOneToOne(oneWeights, oneSource, oneToOne != 0 ? oneOffset[Grid.IdxX] : 0, oneToOne);
        var v0 = Read(s0, s1, s2, s3, x, rec, o, first, size, states, recurrent, one);
        var v1 = Read(s0, s1, s2, s3, x, rec, o, first + 1, size, states, recurrent, one);
        var v2 = Read(s0, s1, s2, s3, x, rec, o, first + 2, size, states, recurrent, one);
        var v3 = Read(s0, s1, s2, s3, x, rec, o, first + 3, size, states, recurrent, one);
        int mine = Finish(rule, lanes, v0, s0, s1, s2, s3, x, rec, spikes, o, first, size, states, recurrent, zeroInput)
            + Finish(rule, lanes, v1, s0, s1, s2, s3, x, rec, spikes, o, first + 1, size, states, recurrent, zeroInput)
            + Finish(rule, lanes, v2, s0, s1, s2, s3, x, rec, spikes, o, first + 2, size, states, recurrent, zeroInput)
            + Finish(rule, lanes, v3, s0, s1, s2, s3, x, rec, spikes, o, first + 3, size, states, recurrent, zeroInput);

        CompactGroup(spikes, inst, o, first, size, mine, shared, stagedIndex, stagedValue, counts, index, value, outCounts, outIndex, outValue, hostLists);
    }

    /// <summary>
    /// Compaction, pass 1 (after an upload or the inhibition pass; a step counts as it steps, see
    /// <see cref="NeuronCount{TRule}"/>): group (d, c) counts the non-zero spikes of chunk c of
    /// instance due[d]. Launch dueCount*chunks groups.
    /// </summary>
    public static void CountChunks(ArrayView<float> spikes, ArrayView<int> due, int size, int chunks, ArrayView<int> chunkCounts)
    {
        var shared = SharedMemory.Allocate<int>(MaxGroupSize);
        int grp = Grid.IdxX;
        int d = grp / chunks;
        int c = grp - d * chunks;
        int first = (c * Group.DimX + Group.IdxX) * PerThread;
        long o = (long)due[d] * size;
        int total = GroupSum(CountOwn(spikes, o, first, size), shared);
        if (Group.IdxX == 0)
        {
            chunkCounts[grp] = total;
        }
    }

    /// <summary>
    /// Compaction, pass 2: the chunk counts scanned by tiles of one group's size, all tiles at once
    /// (a population of 16M neurons has 16,384 chunks: scanned by one group they would take one
    /// round of memory latency per 256). Group (d, t) writes the exclusive prefix sum within tile t
    /// of instance due[d]'s chunk counts into chunkOffsets and the tile's total into tileTotals; with
    /// one tile that total is the instance's spike count, written to both count lists. Launch
    /// dueCount × tiles groups.
    /// </summary>
    public static void ScanTiles(ArrayView<int> chunkCounts, ArrayView<int> chunkOffsets, ArrayView<int> tileTotals, ArrayView<int> counts,
        ArrayView<int> outCounts, ArrayView<int> due, int chunks, int tiles)
    {
        var shared = SharedMemory.Allocate<int>(MaxGroupSize);
        int grp = Grid.IdxX;
        int d = grp / tiles;
        int c = (grp - d * tiles) * Group.DimX + Group.IdxX;
        long at = (long)d * chunks + c;
        int v = c < chunks ? chunkCounts[at] : 0;
        int inclusive = InclusiveScan(v, shared);
        int total = shared[Group.DimX - 1];
        if (c < chunks)
        {
            chunkOffsets[at] = inclusive - v;
        }

        if (Group.IdxX == 0)
        {
            tileTotals[grp] = total;
            if (tiles == 1)
            {
                counts[due[d]] = total;
                outCounts[due[d]] = total;
            }
        }
    }

    /// <summary>
    /// Compaction, pass 2 of more than one tile: group d turns the tile totals of instance due[d] into
    /// offsets (exclusive prefix sum) and writes its spike count to both count lists. Launch dueCount groups.
    /// </summary>
    public static void ScanTileTotals(ArrayView<int> tileTotals, ArrayView<int> tileOffsets, ArrayView<int> counts,
        ArrayView<int> outCounts, ArrayView<int> due, int tiles)
    {
        var shared = SharedMemory.Allocate<int>(MaxGroupSize);
        int d = Grid.IdxX;
        int carry = 0;
        for (int b = 0; b < tiles; b += Group.DimX)
        {
            int i = b + Group.IdxX;
            int v = i < tiles ? tileTotals[d * tiles + i] : 0;
            int inclusive = InclusiveScan(v, shared);
            if (i < tiles)
            {
                tileOffsets[d * tiles + i] = carry + inclusive - v;
            }

            int tileTotal = shared[Group.DimX - 1];
            Group.Barrier();
            carry += tileTotal;
        }

        if (Group.IdxX == 0)
        {
            counts[due[d]] = carry;
            outCounts[due[d]] = carry;
        }
    }

    /// <summary>
    /// Compaction, pass 3: group (d, c) writes the indices and values of its chunk's spikes, in
    /// ascending index order, into instance due[d]'s segment of both lists, from its chunk's offset
    /// within its tile plus (with more than one tile) the tile's offset. A chunk without spikes (its count
    /// from the first pass is 0) returns at once, the whole group alike, without reading its spikes again.
    /// </summary>
    public static void WriteChunks(ArrayView<float> spikes, ArrayView<int> due, int size, int chunks, ArrayView<int> chunkCounts,
        ArrayView<int> chunkOffsets, ArrayView<int> tileOffsets, int tiles, ArrayView<int> index, ArrayView<float> value, ArrayView<int> outIndex,
        ArrayView<float> outValue, int hostLists)
    {
        var shared = SharedMemory.Allocate<int>(MaxGroupSize);
        var stagedIndex = SharedMemory.Allocate<int>(MaxGroupSize * PerThread);
        var stagedValue = SharedMemory.Allocate<float>(MaxGroupSize * PerThread);
        int grp = Grid.IdxX;
        if (chunkCounts[grp] == 0)
        {
            return;
        }

        int d = grp / chunks;
        int c = grp - d * chunks;
        int first = (c * Group.DimX + Group.IdxX) * PerThread;
        long o = (long)due[d] * size;
        long at = o + chunkOffsets[grp] + (tiles > 1 ? tileOffsets[d * tiles + c / Group.DimX] : 0);
        int mine = CountOwn(spikes, o, first, size);

        int inclusive = InclusiveScan(mine, shared);
        int total = shared[Group.DimX - 1];
        WriteGroup(spikes, o, first, size, inclusive - mine, total, at, stagedIndex, stagedValue, index, value, outIndex, outValue,
            hostLists);
    }

    /// <summary>
    /// Compaction of a population of at most one chunk (group size × <see cref="PerThread"/>
    /// neurons) in one launch: group d counts, scans and writes instance due[d]'s spikes and count
    /// into both lists. (After an upload; a step of such a population uses <see cref="NeuronSmall{TRule}"/>.)
    /// </summary>
    public static void CompactSmall(ArrayView<float> spikes, ArrayView<int> due, int size, ArrayView<int> counts,
        ArrayView<int> index, ArrayView<float> value, ArrayView<int> outCounts, ArrayView<int> outIndex, ArrayView<float> outValue, int hostLists)
    {
        var shared = SharedMemory.Allocate<int>(MaxGroupSize);
        var stagedIndex = SharedMemory.Allocate<int>(MaxGroupSize * PerThread);
        var stagedValue = SharedMemory.Allocate<float>(MaxGroupSize * PerThread);
        int inst = due[Grid.IdxX];
        int first = Group.IdxX * PerThread;
        long o = (long)inst * size;
        int mine = CountOwn(spikes, o, first, size);

        CompactGroup(spikes, inst, o, first, size, mine, shared, stagedIndex, stagedValue, counts, index, value, outCounts, outIndex, outValue, hostLists);
    }

    /// <summary>
    /// The end of a one-chunk population's compaction, group d for instance <paramref name="inst"/>: the
    /// threads' counts (<paramref name="mine"/>) scanned, the group's list written, its count set.
    /// </summary>
    private static void CompactGroup(ArrayView<float> spikes, int inst, long o, int first, int size, int mine, ArrayView<int> shared,
        ArrayView<int> stagedIndex, ArrayView<float> stagedValue, ArrayView<int> counts, ArrayView<int> index, ArrayView<float> value,
        ArrayView<int> outCounts, ArrayView<int> outIndex, ArrayView<float> outValue, int hostLists)
    {
        int inclusive = InclusiveScan(mine, shared);
        int total = shared[Group.DimX - 1];
        WriteGroup(spikes, o, first, size, inclusive - mine, total, o, stagedIndex, stagedValue, index, value, outIndex, outValue, hostLists);
        if (Group.IdxX == 0)
        {
            counts[inst] = total;
            outCounts[inst] = total;
        }
    }

    /// <summary>The non-zero spikes among this thread's <see cref="PerThread"/> neurons from <paramref name="first"/> (instance offset <paramref name="o"/>).</summary>
    private static int CountOwn(ArrayView<float> spikes, long o, int first, int size)
    {
        int mine = 0;
        for (int e = 0; e < PerThread; e++)
        {
            int n = first + e;
            if (n < size && spikes[o + n] != 0f)
            {
                mine++;
            }
        }

        return mine;
    }

    /// <summary>
    /// Writes a group's spikes (index and value, ascending) from list position <paramref name="at"/>:
    /// each thread puts its own at their group-local positions (from <paramref name="local"/>) in shared
    /// memory, then the group copies the <paramref name="total"/> entries out with consecutive threads on
    /// consecutive entries, so the stores coalesce. They go to the device's lists (read by the next
    /// projections) and to the output lists the host reads (page-locked host memory the device writes
    /// over the bus where it can, see DeviceOutputs), as <paramref name="hostLists"/> says: nothing
    /// (<see cref="HostListsNone"/>: nobody reads this population's spikes on the host), the indices alone
    /// (<see cref="HostListsIndices"/>: its spikes are all 1, their values are kept at 1 on the host), or both
    /// (<see cref="HostListsValues"/>).
    /// </summary>
    private static void WriteGroup(ArrayView<float> spikes, long o, int first, int size, int local, int total, long at,
        ArrayView<int> stagedIndex, ArrayView<float> stagedValue, ArrayView<int> index, ArrayView<float> value,
        ArrayView<int> outIndex, ArrayView<float> outValue, int hostLists)
    {
        for (int e = 0; e < PerThread; e++)
        {
            int n = first + e;
            if (n < size)
            {
                float v = spikes[o + n];
                if (v != 0f)
                {
                    stagedIndex[local] = n;
                    stagedValue[local] = v;
                    local++;
                }
            }
        }

        Group.Barrier();
        for (int k = Group.IdxX; k < total; k += Group.DimX)
        {
            int n = stagedIndex[k];
            float v = stagedValue[k];
            index[at + k] = n;
            value[at + k] = v;
            if (hostLists != HostListsNone)
            {
                outIndex[at + k] = n;
            }

            if (hostLists == HostListsValues)
            {
                outValue[at + k] = v;
            }
        }
    }

    /// <summary>The sum of <paramref name="value"/> over the group (a tree in shared memory), in every thread.</summary>
    private static int GroupSum(int value, ArrayView<int> shared)
    {
        int t = Group.IdxX;
        shared[t] = value;
        Group.Barrier();
        for (int half = Group.DimX >> 1; half > 0; half >>= 1)
        {
            if (t < half)
            {
                shared[t] += shared[t + half];
            }

            Group.Barrier();
        }

        return shared[0];
    }

    /// <summary>Inclusive prefix sum over the group (Hillis-Steele in shared memory); shared[Group.DimX-1] holds the total after.</summary>
    private static int InclusiveScan(int value, ArrayView<int> shared)
    {
        int t = Group.IdxX;
        shared[t] = value;
        Group.Barrier();
        for (int offset = 1; offset < Group.DimX; offset <<= 1)
        {
            int add = t >= offset ? shared[t - offset] : 0;
            Group.Barrier();
            shared[t] += add;
            Group.Barrier();
        }

        return shared[t];
    }
}
