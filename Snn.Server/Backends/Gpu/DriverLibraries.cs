using System.Reflection;
using System.Runtime.InteropServices;
using ILGPU;

namespace Snn.Server.Backends.Gpu;

/// <summary>
/// ILGPU imports the CUDA driver as "cuda" (and OpenCL as "OpenCL"), which .NET looks for as
/// <c>libcuda.so</c>. A machine with only the driver installed has <c>libcuda.so.1</c> (the
/// unversioned name comes with the toolkit), so the backend resolves the versioned names itself,
/// then the container path where NVIDIA's runtime mounts the driver.
/// </summary>
internal static class DriverLibraries
{
    private static readonly string[] s_cuda = ["libcuda.so", "libcuda.so.1", "/usr/local/nvidia/lib64/libcuda.so.1", "/usr/lib/x86_64-linux-gnu/libcuda.so.1"];
    private static readonly string[] s_openCl = ["libOpenCL.so", "libOpenCL.so.1"];
    private static int s_installed;

    /// <summary>Installs the resolver on ILGPU's assembly once per process.</summary>
    public static void Install()
    {
        if (Interlocked.Exchange(ref s_installed, 1) == 1 || !OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            NativeLibrary.SetDllImportResolver(typeof(Context).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // Someone else in this process set ILGPU's resolver already; theirs stays.
        }
    }

    /// <summary>The CUDA driver library, loaded as ILGPU's resolver loads it; zero where there is none.</summary>
    public static IntPtr LoadCuda()
    {
        foreach (var candidate in s_cuda)
        {
            if (NativeLibrary.TryLoad(candidate, out var handle))
            {
                return handle;
            }
        }

        return IntPtr.Zero;
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        string[] candidates = name switch
        {
            "cuda" => s_cuda,
            "OpenCL" or "opencl" => s_openCl,
            _ => [],
        };

        // The unversioned name first (a toolkit's libcuda.so), then the versioned ones; anything else
        // (IntPtr.Zero) goes on to .NET's own probing.
        foreach (var candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, out var handle))
            {
                return handle;
            }
        }

        return IntPtr.Zero;
    }
}
