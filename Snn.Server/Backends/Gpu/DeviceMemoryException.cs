using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Snn.Server.Backends.Gpu;

/// <summary>
/// The device has no room for a buffer a network asked for: the driver refused the allocation for want
/// of memory. <see cref="GpuBackend"/> answers it by stepping the network on the CPU backend (or with
/// shorter chains), never by failing the network: its host arrays are current wherever it can be thrown.
/// </summary>
internal sealed class DeviceMemoryException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Whether <paramref name="e"/> is the accelerator's way of saying that it is out of memory.</summary>
    public static bool IsOutOfMemory(Exception e) => e switch
    {
        DeviceMemoryException => true,
        CudaException cuda => cuda.Error == nameof(CudaError.CUDA_ERROR_OUT_OF_MEMORY),
        CLException cl => cl.Error is CLError.CL_MEM_OBJECT_ALLOCATION_FAILURE or CLError.CL_OUT_OF_RESOURCES or CLError.CL_OUT_OF_HOST_MEMORY,
        OutOfMemoryException => true, // ILGPU's CPU accelerator (AllocHGlobal)
        _ => false,
    };
}
