using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;

namespace Snn.Server.Backends.Gpu;

/// <summary>
/// Compiles and loads the backend's kernels. On CUDA the PTX is rewritten first so that every f32
/// add, sub and mul carries the round-to-nearest modifier (<c>add.rn.f32</c>): ILGPU 1.5.3 emits them
/// without one and has no option to add it, and ptxas is then free to contract a multiply and an add
/// into one FMA, whose single rounding differs from the CPU's two (the probe saw 753,287 of 1,048,576
/// membranes differ after 200 steps). The PTX ISA treats an add or mul with an explicit rounding
/// modifier conservatively and lets only those without one be fused, so <c>.rn</c> keeps the CPU's order.
/// </summary>
internal static partial class KernelLoader
{
    /// <summary>f32 add/sub/mul with no modifier between the operation and the type.</summary>
    [GeneratedRegex(@"\b(add|sub|mul)\.f32\b")]
    private static partial Regex UnroundedF32();

    /// <summary>f32 add/sub/mul that ptxas may fuse: with no rounding modifier (ftz or sat alone do not stop it).</summary>
    [GeneratedRegex(@"\b(add|sub|mul)(\.ftz)?(\.sat)?\.f32\b")]
    private static partial Regex Contractible();

    /// <summary>Rewrites every f32 add, sub and mul of a PTX module to its round-to-nearest form.</summary>
    public static string RoundToNearest(string ptx) => UnroundedF32().Replace(ptx, "$1.rn.f32");

    /// <summary>The f32 add/sub/mul instructions of <paramref name="ptx"/> that ptxas could still contract into FMA.</summary>
    public static IReadOnlyList<string> ContractibleInstructions(string ptx) =>
        Contractible().Matches(ptx).Select(m => m.Value).ToArray();

    /// <summary>Compiles an explicitly grouped kernel and returns its launcher.</summary>
    public static TDelegate Load<TDelegate>(Accelerator accelerator, MethodInfo method)
        where TDelegate : Delegate
    {
        var entry = EntryPointDescription.FromExplicitlyGroupedKernel(method);
        var compiled = accelerator.CompileKernel(entry);
        if (compiled is PTXCompiledKernel ptx)
        {
            compiled = WithPtx(ptx, RoundToNearest(ptx.PTXAssembly));
        }

        return accelerator.LoadKernel(compiled).CreateLauncherDelegate<TDelegate>();
    }

    /// <summary>
    /// A copy of <paramref name="kernel"/> with other PTX text. ILGPU has no public way to load PTX
    /// text, so this calls PTXCompiledKernel's internal constructor (Context, EntryPoint, KernelInfo,
    /// string) with the compiled kernel's own entry point and info. If a later ILGPU changes these
    /// internals this throws, naming what it could not find, rather than run unrounded PTX.
    /// </summary>
    public static PTXCompiledKernel WithPtx(PTXCompiledKernel kernel, string ptxAssembly)
    {
        const BindingFlags Any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;
        var entryProperty = typeof(CompiledKernel).GetProperty("EntryPoint", Any);
        var infoProperty = typeof(CompiledKernel).GetProperty("Info", Any);
        var ctor = typeof(PTXCompiledKernel).GetConstructors(Any).FirstOrDefault(c =>
        {
            var p = c.GetParameters();
            return p.Length == 4 && p[0].ParameterType == typeof(Context) && p[1].ParameterType == entryProperty?.PropertyType
                && p[2].ParameterType == infoProperty?.PropertyType && p[3].ParameterType == typeof(string);
        });
        if (entryProperty is null || infoProperty is null || ctor is null)
        {
            throw new InvalidOperationException(
                $"ILGPU {typeof(Context).Assembly.GetName().Version} has no PTXCompiledKernel(Context, EntryPoint, KernelInfo, string) " +
                "constructor or no CompiledKernel.EntryPoint/Info: the PTX cannot be rewritten to round-to-nearest, and without it " +
                "ptxas contracts multiply-adds into FMA (not bit-exact with the CPU). Pin ILGPU 1.5.3 or adapt KernelLoader.WithPtx.");
        }

        return (PTXCompiledKernel)ctor.Invoke([kernel.Context, entryProperty.GetValue(kernel), infoProperty.GetValue(kernel), ptxAssembly]);
    }
}
