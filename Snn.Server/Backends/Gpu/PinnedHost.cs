using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace Snn.Server.Backends.Gpu;

/// <summary>
/// Page-locked host arrays and views of them that copies and kernels can use. On CUDA the array is
/// registered with the driver as portable and mapped (cuMemHostRegister with DEVICEMAP), so copies
/// to and from it are asynchronous DMA and kernels can write it at its device address, over the bus.
/// (ILGPU's own page lock asks for the mapping only on devices that cannot use the host address,
/// and does not say where the device sees it.) ILGPU's CPU accelerator needs nothing: the view is
/// the array. OpenCL cannot map: its view serves copies only.
/// The view is made once per array: ILGPU's copies to and from a host pointer or span
/// (CopyToCPUUnsafeAsync, CopyFromCPU) wrap the pointer in a new CPUMemoryBuffer each call, an
/// accelerator object that also registers a WeakReference with the accelerator; view-to-view copies
/// allocate nothing.
/// </summary>
internal static class PinnedHost
{
    /// <summary>A pinned array of <paramref name="length"/> elements (at least one), page-locked, and its view; both freed with <paramref name="owner"/>.</summary>
    public static T[] Allocate<T>(Accelerator accelerator, long length, List<IDisposable> owner, out ArrayView<T> view)
        where T : unmanaged
    {
        var host = GC.AllocateArray<T>((int)Math.Max(1, length), pinned: true);
        view = Lock(accelerator, host, owner).SubView(0, length);
        return host;
    }

    /// <summary>Page-locks <paramref name="pinned"/> (a pinned array) and returns its view.</summary>
    public static ArrayView<T> Lock<T>(Accelerator accelerator, T[] pinned, List<IDisposable> owner)
        where T : unmanaged
    {
        IntPtr host = Marshal.UnsafeAddrOfPinnedArrayElement(pinned, 0);
        IntPtr address = host;
        if (accelerator is CudaAccelerator)
        {
            using var binding = accelerator.BindScoped();
            long bytes = (long)pinned.Length * Unsafe.SizeOf<T>();
            CudaException.ThrowIfFailed(CudaAPI.CurrentAPI.MemHostRegister(host, new IntPtr(bytes),
                MemHostRegisterFlags.CU_MEMHOSTREGISTER_PORTABLE | MemHostRegisterFlags.CU_MEMHOSTREGISTER_DEVICEMAP));
            owner.Add(new Registration(accelerator, host));
            CudaException.ThrowIfFailed(CudaAPI.CurrentAPI.MemHostGetDevicePointer(out address, host, 0));
        }

        var buffer = CPUMemoryBuffer.Create(accelerator, address, pinned.Length, Unsafe.SizeOf<T>());
        owner.Add(buffer);
        return buffer.AsArrayView<T>(0, pinned.Length);
    }

    private sealed class Registration(Accelerator accelerator, IntPtr host) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed || accelerator.IsDisposed)
            {
                return;
            }

            _disposed = true;
            using var binding = accelerator.BindScoped();
            CudaAPI.CurrentAPI.MemHostUnregister(host);
        }
    }
}
