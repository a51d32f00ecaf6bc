using System.Numerics;
using System.Runtime.Intrinsics;
using Snn.Server.Backends.Cpu;

namespace Snn.Server.Tests.Models;

/// <summary>
/// The kernels are written against <see cref="Vector{T}"/>, whose width the runtime fixes at start
/// (256 bits unless DOTNET_MaxVectorTBitWidth=512 on an AVX-512 CPU). CI runs this assembly at both
/// widths; these tests say which one a run had, so that a 512-bit run that silently fell back fails.
/// </summary>
public sealed class VectorWidthTests
{
    [Fact]
    public void The_vector_width_is_the_one_the_environment_asks_for()
    {
        bool wide = Environment.GetEnvironmentVariable("DOTNET_MaxVectorTBitWidth") == "512" && Vector512.IsHardwareAccelerated;
        Assert.Equal(wide ? 16 : Vector256.IsHardwareAccelerated ? 8 : Vector<float>.Count, Vector<float>.Count);
        Assert.Equal(Vector512.IsHardwareAccelerated && !wide, CpuBackend.NarrowVectors);
    }
}
