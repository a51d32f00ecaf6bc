using ILGPU;
using ILGPU.Runtime;
using Snn.Server.Engine;
using Snn.Server.Models;

namespace Snn.Server.Backends.Gpu;

internal sealed partial class DeviceNetwork
{
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

        /// <summary>The weights (source-major for dense, by target for sparse) and the bias, from the host.</summary>
        public void UploadWeights()
        {
            var weights = Projection switch
            {
                // Source-major as the CPU keeps them, so that a spike reads one contiguous row: uploaded as they are
                // (spec order and back again cost 1.2 s of the loop for 104.9M weights here).
                DenseProjection dense => dense.WeightsBySource,
                SparseProjection sparse => ByTarget(sparse),
                _ => Projection.CopyWeights(),
            };
            Weighted = weights.Length > 0;
            Replace(Weights, weights, b => Weights = b);
            var bias = Projection.CopyBias();
            HasBias = bias is { Length: > 0 };
            Replace(Bias, HasBias ? bias! : [0f], b => Bias = b);
        }

        /// <summary>The delay line and its rows' spike counts, from the host (state, as the populations').</summary>
        public void UploadLine()
        {
            var s = net._stream;
            if (Line is { } line && Projection.DelayLine.Length > 0)
            {
                line.View.CopyFromCPU(s, Projection.DelayLine.AsSpan());
                int size = Projection.Source.Size;
                var counts = new int[LineCounts!.Length];
                for (int row = 0; size > 0 && (row + 1) * size <= Projection.DelayLine.Length; row++)
                {
                    counts[row] = size - Projection.DelayLine.AsSpan(row * size, size).Count(0f); // non-zero entries, as compaction counts
                }

                LineCounts.View.CopyFromCPU(s, counts);
            }
        }

        /// <summary>
        /// The CSR synapses regrouped by target, each target's in the order the CPU's scatter adds them
        /// (source ascending, then CSR position): a counting sort that keeps that order.
        /// </summary>
        private float[] ByTarget(SparseProjection sparse)
        {
            var rowStart = sparse.RowStart;
            var post = sparse.Post;
            var csr = sparse.CsrWeights;
            int targets = Projection.Target.Size;
            var start = new int[targets + 1];
            foreach (int t in post)
            {
                start[t + 1]++;
            }

            for (int t = 0; t < targets; t++)
            {
                start[t + 1] += start[t];
            }

            var next = (int[])start.Clone();
            var sources = new int[Math.Max(1, post.Length)];
            var weights = new float[Math.Max(1, post.Length)];
            for (int src = 0; src + 1 < rowStart.Length; src++)
            {
                for (int k = rowStart[src]; k < rowStart[src + 1]; k++)
                {
                    int at = next[post[k]]++;
                    sources[at] = src;
                    weights[at] = csr[k];
                }
            }

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
