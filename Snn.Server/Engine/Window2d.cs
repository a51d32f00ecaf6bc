namespace Snn.Server.Engine;

/// <summary>
/// The geometry of a 2-d window operation (convolution or pooling) between C-major populations:
/// source [InChannels, Height, Width], target [OutChannels, OutHeight, OutWidth], kernel, stride and
/// zero padding. Output size per axis: floor((in + 2*padding - kernel) / stride) + 1.
/// </summary>
internal readonly record struct Window2d(
    int InChannels, int Height, int Width,
    int OutChannels, int OutHeight, int OutWidth,
    int KernelHeight, int KernelWidth,
    int StrideY, int StrideX,
    int PaddingY, int PaddingX)
{
    public int InPlane => Height * Width;

    public int OutPlane => OutHeight * OutWidth;

    /// <summary>
    /// The output rows (or columns) whose window covers input position <paramref name="y"/>:
    /// o with o*stride - padding &lt;= y &lt;= o*stride - padding + kernel - 1, clipped to 0..outSize-1.
    /// Empty when <paramref name="last"/> &lt; <paramref name="first"/>.
    /// </summary>
    public static void Covering(int y, int kernel, int stride, int padding, int outSize, out int first, out int last)
    {
        int low = y + padding - kernel + 1;
        first = low <= 0 ? 0 : (low + stride - 1) / stride;
        last = Math.Min(outSize - 1, (y + padding) / stride);
    }

    /// <summary>floor((size + 2*padding - kernel) / stride) + 1, or 0 when the kernel does not fit.</summary>
    public static long OutputSize(long size, long kernel, long stride, long padding)
    {
        long span = size + 2 * padding - kernel;
        return span < 0 ? 0 : span / stride + 1;
    }
}
