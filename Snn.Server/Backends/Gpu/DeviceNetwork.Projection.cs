using ILGPU;
using ILGPU.Runtime;
using Snn.Server.Engine;
using Snn.Server.Models;

namespace Snn.Server.Backends.Gpu;

internal sealed partial class DeviceNetwork
{
    /// <summary>Synapses from which a sparse projection's regrouping runs on several cores (it holds the step loop while it runs).</summary>
    internal const int ParallelSynapses = 1 << 20;

    /// <summary>How often (entries counted, rows written) a regrouping looks whether it was called off.</summary>
    private const int CancelEvery = 1 << 14;

    /// <summary>
    /// A CSR matrix (row r's entries at <paramref name="rowStart"/>[r] up to [r + 1], their columns and values)
    /// regrouped by column: each column's entries in row order, then CSR position. A stable counting sort, in
    /// <paramref name="parts"/> ranges of rows on as many cores: each range counts its entries per column, the
    /// counts become each range's offsets (column by column, range by range), and each range writes its entries at
    /// its own offsets, so the order is that of one pass. (One pass took 5.8 s for 100M synapses here.) Each range looks at
    /// <paramref name="cancel"/> every <see cref="CancelEvery"/> entries and stops; the call then throws.
    /// </summary>
    internal static (int[] Start, int[] Rows, float[] Values) ByColumn(int[] rowStart, int[] column, float[] values, int columns, int parts,
        CancellationToken cancel = default)
    {
        int rows = rowStart.Length - 1;
        long entries = column.Length;
        // At most as many counters as entries (a few synapses into a large population keep one range).
        parts = (int)Math.Clamp(Math.Min(parts, entries / Math.Max(1, columns)), 1, Math.Max(1, rows));

        // Range p holds rows [first[p], first[p + 1]), cut where the entries reach p / parts of them.
        var first = new int[parts + 1];
        for (int p = 1; p < parts; p++)
        {
            int at = Array.BinarySearch(rowStart, 0, rows + 1, (int)(entries * p / parts));
            first[p] = Math.Max(first[p - 1], at < 0 ? ~at : at);
        }

        first[parts] = rows;
        var next = new int[(long)parts * columns]; // [range][column]
        Parallel.For(0, parts, p =>
        {
            var counts = next.AsSpan(p * columns, columns);
            for (int k = rowStart[first[p]]; k < rowStart[first[p + 1]]; k++)
            {
                if (k % CancelEvery == 0 && cancel.IsCancellationRequested)
                {
                    return;
                }

                counts[column[k]]++;
            }
        });
        cancel.ThrowIfCancellationRequested();

        var start = new int[columns + 1];
        int running = 0;
        for (int c = 0; c < columns; c++)
        {
            start[c] = running;
            for (int p = 0; p < parts; p++)
            {
                int count = next[p * columns + c];
                next[p * columns + c] = running;
                running += count;
            }
        }

        start[columns] = running;
        var sourceRows = new int[Math.Max(1, entries)];
        var regrouped = new float[Math.Max(1, entries)];
        Parallel.For(0, parts, p =>
        {
            var offsets = next.AsSpan(p * columns, columns);
            for (int r = first[p]; r < first[p + 1]; r++)
            {
                if (r % CancelEvery == 0 && cancel.IsCancellationRequested)
                {
                    return;
                }

                for (int k = rowStart[r]; k < rowStart[r + 1]; k++)
                {
                    int at = offsets[column[k]]++;
                    sourceRows[at] = r;
                    regrouped[at] = values[k];
                }
            }
        });
        cancel.ThrowIfCancellationRequested();

        return (start, sourceRows, regrouped);
    }

    /// <summary>A projection's weights (dense: [source][target]), bias and delay line on the device.</summary>
    private sealed class DeviceProjection(DeviceNetwork net, Projection projection) : IDisposable
    {
        public Projection Projection { get; } = projection;

        public MemoryBuffer1D<float, Stride1D.Dense> Weights { get; private set; } = net.Allocate<float>(1);

        public MemoryBuffer1D<float, Stride1D.Dense> Bias { get; private set; } = net.Allocate<float>(1);

        public MemoryBuffer1D<float, Stride1D.Dense>? Line { get; } =
            projection.Delayed ? net.Allocate<float>(Math.Max(1, projection.DelayLine.Length)) : null;

        /// <summary>Spikes in each delay line row ([instance × slots + slot]), for the projections that skip a row without any.</summary>
        public MemoryBuffer1D<int, Stride1D.Dense>? LineCounts { get; } =
            projection.Delayed ? net.Allocate<int>(Math.Max(1, (long)net._instances * projection.DelaySlots)) : null;

        /// <summary>Whether it has weights (what a one-to-one projection's kernels ask: without, the source passes as it is).</summary>
        public bool Weighted { get; private set; }

        /// <summary>Whether the target's neuron kernel can apply it (see DeviceKernels.FusedOneToOne) when it is the last projection into the target: one-to-one into the input.</summary>
        public bool FusesIntoTarget => Projection is OneToOneProjection && !Projection.IntoRecurrentInput;

        private (float[] Host, ArrayView<float> View)? _lineStaging;

        /// <summary>A pinned copy of the delay line, made at the first <see cref="RefreshHost"/>.</summary>
        public (float[] Host, ArrayView<float> View) LineStaging() => _lineStaging ??= net.Staging<float>(Line!.Length);

        /// <summary>conv2d and sum pool geometry.</summary>
        public DeviceWindow Window { get; } = projection switch
        {
            Conv2dProjection c => ToWindow(c.Geometry),
            SumPool2dProjection p => ToWindow(p.Geometry),
            _ => default,
        };

        /// <summary>sparse: synapses grouped by target (CSC), start of each target's [target + 1].</summary>
        public MemoryBuffer1D<int, Stride1D.Dense>? ColumnStart { get; private set; }

        /// <summary>sparse: the source of each synapse, CSC order (weights are in <see cref="Weights"/>, same order).</summary>
        public MemoryBuffer1D<int, Stride1D.Dense>? ColumnSource { get; private set; }

        private static DeviceWindow ToWindow(Window2d g) => new()
        {
            InChannels = g.InChannels,
            Height = g.Height,
            Width = g.Width,
            OutChannels = g.OutChannels,
            OutHeight = g.OutHeight,
            OutWidth = g.OutWidth,
            KernelHeight = g.KernelHeight,
            KernelWidth = g.KernelWidth,
            StrideY = g.StrideY,
            StrideX = g.StrideX,
            PaddingY = g.PaddingY,
            PaddingX = g.PaddingX,
        };

        public bool HasBias { get; private set; }

        /// <summary>
        /// The weights (source-major for dense, by target for sparse) and the bias, from the host. A sparse projection's
        /// regrouping stops where <paramref name="cancel"/> calls it off (a placement off the loop), and throws.
        /// </summary>
        public void UploadWeights(CancellationToken cancel = default)
        {
            var weights = Projection switch
            {
                // Source-major as the CPU keeps them, so that a spike reads one contiguous row: uploaded as they are
                // (spec order and back again cost 1.2 s of the loop for 104.9M weights here).
                DenseProjection dense => dense.WeightsBySource,
                SparseProjection sparse => ByTarget(sparse, cancel),
                _ => Projection.CopyWeights(),
            };
            Weighted = weights.Length > 0;
            Replace(Weights, weights, b => Weights = b);
            var bias = Projection.CopyBias();
            HasBias = bias is { Length: > 0 };
            Replace(Bias, HasBias ? bias! : [0f], b => Bias = b);
        }

        /// <summary>The delay line and its rows' spike counts, from the host (state, as the populations').</summary>
        public void UploadLine() => UploadLine(0, net._instances);

        /// <summary>The delay lines of <paramref name="count"/> instances from <paramref name="first"/> (each its slots' rows), and their rows' spike counts.</summary>
        public void UploadLine(int first, int count)
        {
            if (Line is not { } line || Projection.DelayLine.Length == 0)
            {
                return;
            }

            var s = net._stream;
            int size = Projection.Source.Size;
            int slots = Projection.DelaySlots;
            long values = (long)count * slots * size;
            long at = (long)first * slots * size;
            var host = Projection.DelayLine.AsSpan((int)at, (int)values);
            line.View.SubView(at, values).CopyFromCPU(s, host);
            var counts = new int[count * slots];
            for (int row = 0; size > 0 && row < counts.Length; row++)
            {
                counts[row] = size - host.Slice(row * size, size).Count(0f); // non-zero entries, as compaction counts
            }

            LineCounts!.View.SubView((long)first * slots, counts.Length).CopyFromCPU(s, counts);
        }

        /// <summary>
        /// The CSR synapses regrouped by target, each target's in the order the CPU's scatter adds them
        /// (source ascending, then CSR position): see <see cref="ByColumn"/>.
        /// </summary>
        private float[] ByTarget(SparseProjection sparse, CancellationToken cancel)
        {
            int synapses = sparse.Post.Length;
            int parts = synapses < ParallelSynapses ? 1 : Math.Clamp(Environment.ProcessorCount, 1, 16);
            var (start, sources, weights) = ByColumn(sparse.RowStart, sparse.Post, sparse.CsrWeights, Projection.Target.Size, parts, cancel);
            ColumnStart?.Dispose();
            ColumnSource?.Dispose();
            ColumnStart = net.Allocate<int>(start.Length);
            ColumnStart.View.CopyFromCPU(net._stream, start);
            ColumnSource = net.Allocate<int>(sources.Length);
            ColumnSource.View.CopyFromCPU(net._stream, sources);
            return weights;
        }
        private void Replace(MemoryBuffer1D<float, Stride1D.Dense> old, float[] values, Action<MemoryBuffer1D<float, Stride1D.Dense>> set)
        {
            if (values.Length == 0)
            {
                values = [0f];
            }

            var buffer = old;
            if (old.Length != values.Length)
            {
                old.Dispose();
                buffer = net.Allocate<float>(values.Length);
                set(buffer);
            }

            buffer.View.CopyFromCPU(net._stream, values);
        }

        public void Dispose()
        {
            Weights.Dispose();
            Bias.Dispose();
            Line?.Dispose();
            LineCounts?.Dispose();
            ColumnStart?.Dispose();
            ColumnSource?.Dispose();
        }
    }
}
