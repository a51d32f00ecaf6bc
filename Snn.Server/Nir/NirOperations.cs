using Snn.Protos.V1;

namespace Snn.Server.Nir;

/// <summary>
/// NIR's linear nodes as projections: Affine and Linear are dense, Scale one-to-one, Conv2d and
/// SumPool2d the native window projections where they fit (no groups, no dilation, symmetric padding,
/// [C, H, W] populations on both sides). Everything else a window operation can be (Conv1d, groups,
/// dilation, "same" padding of an even kernel, AvgPool2d, a flattened source or target) is written out
/// as a sparse projection with one synapse per (output, input) pair the window joins, which computes the
/// same sums.
/// </summary>
internal static class NirOperations
{
    public static ProjectionSpec Projection(NirNode op, int[] opInput, int[] source, int[] target, NirFlavorBase flavor, List<NirConversion> report,
        long maxSynapses)
    {
        switch (op)
        {
            case NirAffine a:
                report.Add(NirReport.Note(a.Name, $"projection {a.Name} (dense + bias)", $"weight {a.Weight.ShapeText}, bias {a.Bias.ShapeText}"));
                Float64(a.Name, "weight", a.Weight, report);
                Float64(a.Name, "bias", a.Bias, report);
                return new ProjectionSpec { Dense = new DenseProjection { Weights = { a.Weight.Values }, Bias = { a.Bias.Values } } };
            case NirLinear l:
                report.Add(NirReport.Note(l.Name, $"projection {l.Name} (dense)", $"weight {l.Weight.ShapeText}"));
                Float64(l.Name, "weight", l.Weight, report);
                return new ProjectionSpec { Dense = new DenseProjection { Weights = { l.Weight.Values } } };
            case NirScale s:
                report.Add(NirReport.Note(s.Name, $"projection {s.Name} (one-to-one)", $"scale {NirReport.Values(s.Scale.Values)}"));
                Float64(s.Name, "scale", s.Scale, report);
                return new ProjectionSpec { OneToOne = new OneToOneProjection { Weights = { s.Scale.Values } } };
            case NirConv c:
                Float64(c.Name, "weight", c.Weight, report);
                Float64(c.Name, "bias", c.Bias, report);
                return Conv(c, opInput, source, target, report, maxSynapses);
            case NirPool2d p:
                return Pool(flavor.Pool(p, report), opInput, source, target, report, maxSynapses);
            default:
                throw new NirFormatException(op.Name, "type", $"'{op.Type}' is not a linear operation");
        }
    }

    private static void Float64(string node, string field, NirTensor tensor, List<NirConversion> report)
    {
        if (tensor.WasFloat64)
            report.Add(NirReport.Note(node, field, "float64 in the file, rounded to float32 (the libraries run float32 modules)", lossy: true));
    }

    /// <summary>The convolution's input as [C_in, spatial...], from the source's shape or the node's input_shape.</summary>
    public static int[] SpatialInput(NirConv conv, int[] input)
    {
        int inChannels = conv.Weight.Shape[1] * conv.Groups;
        if (input.Length == conv.SpatialDims + 1)
        {
            if (input[0] != inChannels)
                throw new NirFormatException(conv.Name, "weight", $"expects {inChannels} input channels (weight {conv.Weight.ShapeText}, groups {conv.Groups}); its input has shape {NirShapes.Format(input)}");
            return input;
        }

        long size = 1;
        foreach (var d in input)
            size *= d;
        if (conv.InputShape is { } spatial && spatial.Length == conv.SpatialDims && (long)inChannels * spatial.Aggregate(1L, (a, b) => a * b) == size)
            return [inChannels, .. spatial];
        throw new NirFormatException(conv.Name, "input_shape",
            $"its input has shape {NirShapes.Format(input)}, not [C, {(conv.SpatialDims == 1 ? "L" : "H, W")}]; state input_shape (the spatial size) in the file");
    }

    public static int[] ChannelsHeightWidth(string node, int[] input) =>
        input.Length == 3 ? input : throw new NirFormatException(node, "edges", $"pooling needs a [C, H, W] input; its input has shape {NirShapes.Format(input)}");

    /// <summary>The padding before and after each spatial dimension, from numbers or "same"/"valid".</summary>
    private static (int Before, int After)[] Padding(NirConv c, int[] spatialIn)
    {
        var pads = new (int, int)[c.SpatialDims];
        for (int d = 0; d < c.SpatialDims; d++)
        {
            int k = c.Weight.Shape[2 + d];
            if (c.PaddingMode == "same")
            {
                if (c.Stride[d] != 1)
                    throw new NirFormatException(c.Name, "padding", "'same' padding needs stride 1 (as in torch)");
                int total = c.Dilation[d] * (k - 1);
                pads[d] = (total / 2, total - total / 2);
            }
            else
            {
                pads[d] = (c.Padding[d], c.Padding[d]);
            }
        }

        return pads;
    }

    public static int[] ConvOutput(NirConv c, int[] input)
    {
        var pads = Padding(c, input[1..]);
        var output = new int[c.SpatialDims + 1];
        output[0] = c.Weight.Shape[0];
        for (int d = 0; d < c.SpatialDims; d++)
        {
            int k = c.Weight.Shape[2 + d];
            int span = input[1 + d] + pads[d].Before + pads[d].After - c.Dilation[d] * (k - 1) - 1;
            if (span < 0)
                throw new NirFormatException(c.Name, "weight", $"the kernel {NirShapes.Format(c.Weight.Shape[2..])} is larger than the padded input {NirShapes.Format(input[1..])}");
            output[1 + d] = span / c.Stride[d] + 1;
        }

        return output;
    }

    public static int[] PoolOutput(NirPool2d p, int[] input)
    {
        var output = new int[3];
        output[0] = input[0];
        for (int d = 0; d < 2; d++)
        {
            int span = input[1 + d] + 2 * p.Padding[d] - p.KernelSize[d];
            if (span < 0)
                throw new NirFormatException(p.Name, "kernel_size", $"the window {NirShapes.Format(p.KernelSize)} is larger than the padded input {NirShapes.Format(input[1..])}");
            output[1 + d] = span / p.Stride[d] + 1;
        }

        return output;
    }

    private static ProjectionSpec Conv(NirConv c, int[] opInput, int[] source, int[] target, List<NirConversion> report, long maxSynapses)
    {
        var input = SpatialInput(c, opInput);
        var output = ConvOutput(c, input);
        var pads = Padding(c, input[1..]);
        bool native = c.SpatialDims == 2 && c.Groups == 1 && c.Dilation.All(d => d == 1) && pads.All(p => p.Before == p.After)
            && source.SequenceEqual(input) && target.SequenceEqual(output);
        if (native)
        {
            report.Add(NirReport.Note(c.Name, $"projection {c.Name} (conv2d)",
                $"weight {c.Weight.ShapeText}, stride {NirShapes.Format(c.Stride)}, padding {NirShapes.Format([pads[0].Before, pads[1].Before])}"));
            return new ProjectionSpec
            {
                Conv2D = new Conv2dProjection
                {
                    Weights = { c.Weight.Values },
                    KernelSize = { (uint)c.Weight.Shape[2], (uint)c.Weight.Shape[3] },
                    Stride = { (uint)c.Stride[0], (uint)c.Stride[1] },
                    Padding = { (uint)pads[0].Before, (uint)pads[1].Before },
                    Bias = { c.Bias.Values },
                },
            };
        }

        // Written out: 1-d as 2-d with a height of 1.
        int dims = c.SpatialDims;
        int inH = dims == 2 ? input[1] : 1, inW = input[dims];
        int outH = dims == 2 ? output[1] : 1, outW = output[dims];
        int kh = dims == 2 ? c.Weight.Shape[2] : 1, kw = c.Weight.Shape[1 + dims];
        int sh = dims == 2 ? c.Stride[0] : 1, sw = c.Stride[dims - 1];
        int dh = dims == 2 ? c.Dilation[0] : 1, dw = c.Dilation[dims - 1];
        int ph = dims == 2 ? pads[0].Before : 0, pw = pads[dims - 1].Before;
        int outC = output[0], groupIn = c.Weight.Shape[1], groupOut = outC / c.Groups;
        WithinBound(c.Name, (long)outC * outH * outW * groupIn * kh * kw, maxSynapses);

        // A sparse projection's bias is per target neuron: the channel's bias at each of its positions.
        var sparse = new SparseProjection();
        for (int o = 0; o < output[0]; o++)
            sparse.Bias.Add(Enumerable.Repeat(c.Bias.Values[o], outH * outW));
        var w = c.Weight.Values;
        for (int o = 0; o < outC; o++)
        {
            int g = o / groupOut;
            for (int y = 0; y < outH; y++)
                for (int x = 0; x < outW; x++)
                {
                    uint post = (uint)((o * outH + y) * outW + x);
                    for (int i = 0; i < groupIn; i++)
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int sy = y * sh - ph + ky * dh;
                            if (sy < 0 || sy >= inH)
                                continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int sx = x * sw - pw + kx * dw;
                                if (sx < 0 || sx >= inW)
                                    continue;
                                int channel = g * groupIn + i;
                                sparse.Pre.Add((uint)((channel * inH + sy) * inW + sx));
                                sparse.Post.Add(post);
                                sparse.Weights.Add(w[((o * groupIn + i) * kh + ky) * kw + kx]);
                            }
                        }
                }
        }

        report.Add(NirReport.Note(c.Name, $"projection {c.Name} (sparse: the convolution written out)",
            $"{c.Type} weight {c.Weight.ShapeText}, groups {c.Groups}, dilation {NirShapes.Format(c.Dilation)}: {sparse.Pre.Count} synapses over input {NirShapes.Format(input)} to output {NirShapes.Format(output)}"));
        return new ProjectionSpec { Sparse = sparse };
    }

    private static ProjectionSpec Pool(NirPool2d p, int[] opInput, int[] source, int[] target, List<NirConversion> report, long maxSynapses)
    {
        var input = ChannelsHeightWidth(p.Name, opInput);
        var output = PoolOutput(p, input);
        if (!p.Average && source.SequenceEqual(input) && target.SequenceEqual(output))
        {
            report.Add(NirReport.Note(p.Name, $"projection {p.Name} (sum_pool2d)",
                $"kernel {NirShapes.Format(p.KernelSize)}, stride {NirShapes.Format(p.Stride)}, padding {NirShapes.Format(p.Padding)}"));
            return new ProjectionSpec
            {
                SumPool2D = new SumPool2dProjection
                {
                    KernelSize = { p.KernelSize.Select(k => (uint)k) },
                    Stride = { p.Stride.Select(s => (uint)s) },
                    Padding = { p.Padding.Select(s => (uint)s) },
                },
            };
        }

        int window = p.KernelSize[0] * p.KernelSize[1];
        WithinBound(p.Name, (long)output[0] * output[1] * output[2] * window, maxSynapses);
        float weight = p.Average ? 1f / window : 1f;
        var sparse = new SparseProjection();
        for (int c = 0; c < output[0]; c++)
            for (int y = 0; y < output[1]; y++)
                for (int x = 0; x < output[2]; x++)
                {
                    uint post = (uint)((c * output[1] + y) * output[2] + x);
                    for (int ky = 0; ky < p.KernelSize[0]; ky++)
                    {
                        int sy = y * p.Stride[0] - p.Padding[0] + ky;
                        if (sy < 0 || sy >= input[1])
                            continue;
                        for (int kx = 0; kx < p.KernelSize[1]; kx++)
                        {
                            int sx = x * p.Stride[1] - p.Padding[1] + kx;
                            if (sx < 0 || sx >= input[2])
                                continue;
                            sparse.Pre.Add((uint)((c * input[1] + sy) * input[2] + sx));
                            sparse.Post.Add(post);
                            sparse.Weights.Add(weight);
                        }
                    }
                }

        bool exact = !p.Average || (window & (window - 1)) == 0;
        report.Add(NirReport.Note(p.Name, $"projection {p.Name} (sparse: the pooling written out)",
            p.Average
                ? $"average over {window} inputs as a sum with weights 1/{window} = {NirReport.F(weight)}" +
                  (exact ? " (exact: a power of two)" : "; torch divides the sum instead, which can differ in the last bit")
                : $"sum over windows {NirShapes.Format(p.KernelSize)} into a flattened or reshaped target", lossy: !exact));
        return new ProjectionSpec { Sparse = sparse };
    }

    /// <summary>Refuses an operation whose written-out form would exceed the server's synapse limit, before writing it.</summary>
    private static void WithinBound(string node, long synapses, long maxSynapses)
    {
        if (synapses > maxSynapses)
        {
            throw new NirFormatException(node, "weight",
                $"written out as a sparse projection it would have up to {synapses} synapses; a network here holds at most {maxSynapses} (ServerInfo.limits)");
        }
    }
}
