using ILGPU.Algorithms;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Snn.Server.Backends.Gpu;

namespace Snn.Server.Tests.Engine;

/// <summary>
/// The PTX of every kernel, made by ILGPU's PTX backend for sm_90 without a GPU (so CI runs it):
/// after the rewrite no f32 add, sub or mul is left that ptxas could contract into an FMA.
/// </summary>
public sealed class PtxRoundingTests
{
    private static IEnumerable<(string Name, PTXCompiledKernel Kernel)> Compile(Context context)
    {
        var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null!);
        foreach (var method in DeviceKernelSet.Methods())
        {
            var entry = EntryPointDescription.FromExplicitlyGroupedKernel(method);
            var specialization = new KernelSpecialization();
            yield return (method.ToString()!, (PTXCompiledKernel)backend.Compile(entry, specialization));
        }
    }

    [Fact]
    public void Every_f32_add_sub_and_mul_rounds_to_nearest_after_the_rewrite()
    {
        using var context = Context.Create(b => b.Optimize(OptimizationLevel.O1).EnableAlgorithms());
        int unroundedBefore = 0;
        foreach (var (name, kernel) in Compile(context))
        {
            string raw = kernel.PTXAssembly;
            unroundedBefore += KernelLoader.ContractibleInstructions(raw).Count;
            string rounded = KernelLoader.RoundToNearest(raw);
            Assert.True(KernelLoader.ContractibleInstructions(rounded).Count == 0,
                $"{name}: {string.Join(", ", KernelLoader.ContractibleInstructions(rounded).Distinct())} left in\n{rounded}");
            Assert.DoesNotContain("div.full", rounded);
            Assert.DoesNotMatch(@"\b(fma|mad)(\.[a-z]+)*\.f32\b", rounded);
            // Approximate instructions only for norse.LIFAdEx's exponential (the device's ex2: that model states a
            // tolerance, as against norse); every other kernel is bit-exact with the CPU.
            var approx = rounded.Split('\n').Where(l => l.Contains(".approx", StringComparison.Ordinal)).ToArray();
            bool allowed = name.Contains(nameof(NorseLifAdExDeviceRule), StringComparison.Ordinal) && approx.All(l => l.Contains("ex2.approx.f32", StringComparison.Ordinal));
            Assert.True(approx.Length == 0 || allowed, $"{name}: {string.Join(" | ", approx)}");
            Assert.DoesNotContain(".ftz.", rounded);
        }

        // ILGPU still emits them unrounded: if this fails, it has changed and the rewrite may be unneeded.
        Assert.True(unroundedBefore > 0, "ILGPU's PTX has no unrounded f32 add/sub/mul any more");
    }

    [Fact]
    public void The_rewritten_text_loads_as_a_kernel_object()
    {
        // Exercises the reflection on ILGPU internals that loading rewritten PTX relies on, without a GPU.
        using var context = Context.Create(b => b.Optimize(OptimizationLevel.O1).EnableAlgorithms());
        var (_, kernel) = Compile(context).First();
        string rounded = KernelLoader.RoundToNearest(kernel.PTXAssembly);
        var copy = KernelLoader.WithPtx(kernel, rounded);
        Assert.Equal(rounded, copy.PTXAssembly);
        Assert.Equal(kernel.Name, copy.Name);
        Assert.Equal(kernel.EntryPoint_Parameters(), copy.EntryPoint_Parameters());
    }

    [Fact]
    public void The_rewrite_touches_only_f32_add_sub_mul()
    {
        const string ptx = "mul.f32 %f1, %f2, %f3;\n\tadd.f32 %f4, %f1, %f5;\n\tsub.f32 %f6, %f4, %f1;\n\tadd.s32 %r1, %r2, 1;\n\tmul.wide.s32 %rd1, %r1, 4;\n\tdiv.rn.f32 %f7, %f1, %f2;\n\tsetp.gt.f32 %p1, %f1, 0f00000000;";
        string rounded = KernelLoader.RoundToNearest(ptx);
        Assert.Equal(ptx.Replace("mul.f32", "mul.rn.f32").Replace("add.f32", "add.rn.f32").Replace("sub.f32", "sub.rn.f32"), rounded);
        Assert.Equal(3, KernelLoader.ContractibleInstructions(ptx).Count);
        Assert.Empty(KernelLoader.ContractibleInstructions(rounded));
    }
}

internal static class CompiledKernelExtensions
{
    public static int EntryPoint_Parameters(this PTXCompiledKernel kernel) => kernel.NumParameters;
}
