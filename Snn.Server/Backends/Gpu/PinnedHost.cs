using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

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
/// allocate nothing. Copy between such a view and a device view with <see cref="Upload{T}"/> and
/// <see cref="Download{T}"/>, not ILGPU's CopyFrom/CopyTo: on OpenCL those fail (see there).
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

    /// <summary>
    /// Copies <paramref name="host"/> (a view of a pinned array) into <paramref name="device"/>, asynchronously on
    /// <paramref name="stream"/>. On CUDA and ILGPU's CPU accelerator this is ILGPU's own copy. On OpenCL it is
    /// clEnqueueWriteBuffer of the views' span, because ILGPU 1.5.3's copy cannot do it: the host view's buffer belongs
    /// to the OpenCL accelerator (as it must, to be used with its streams), so ILGPU takes it for a device buffer and
    /// asks for a device-to-device copy from a host address (CL_INVALID_MEM_OBJECT); and its host-to-device path copies
    /// the whole host buffer's length rather than the view's (CLMemoryBuffer.CLCopy). The first OpenCL run (PoCL on
    /// the H200 machine) failed every network's first step on this.
    /// </summary>
    public static void Upload<T>(AcceleratorStream stream, ArrayView<T> host, ArrayView<T> device)
        where T : unmanaged => Copy(stream, host, device, toDevice: true);

    /// <summary>Copies <paramref name="device"/> into <paramref name="host"/> (a view of a pinned array), asynchronously; on OpenCL by clEnqueueReadBuffer (see <see cref="Upload{T}"/>).</summary>
    public static void Download<T>(AcceleratorStream stream, ArrayView<T> device, ArrayView<T> host)
        where T : unmanaged => Copy(stream, host, device, toDevice: false);

    private static void Copy<T>(AcceleratorStream stream, ArrayView<T> host, ArrayView<T> device, bool toDevice)
        where T : unmanaged
    {
        if (stream is not CLStream)
        {
            if (toDevice)
            {
                device.CopyFrom(stream, host);
            }
            else
            {
                device.CopyTo(stream, host);
            }

            return;
        }

        if (host.Length != device.Length)
        {
            throw new ArgumentException($"a copy between views of {host.Length} and {device.Length} elements");
        }

        if (host.Length == 0)
        {
            return;
        }

        var (buffer, offset, bytes, pointer) = (NativeBuffer(device), new IntPtr(IndexInBytes(device)), new IntPtr(host.LengthInBytes), host.LoadEffectiveAddressAsPtr());
        CLException.ThrowIfFailed(toDevice
            ? CLAPI.CurrentAPI.WriteBuffer(stream, buffer, false, offset, bytes, pointer)
            : CLAPI.CurrentAPI.ReadBuffer(stream, buffer, false, offset, bytes, pointer));
    }

    // Through constraints rather than the interfaces, so that the struct views are not boxed (no allocation per copy).
    private static IntPtr NativeBuffer<TView>(TView view)
        where TView : struct, IArrayView => view.Buffer.NativePtr;

    private static long IndexInBytes<TView>(TView view)
        where TView : struct, IContiguousArrayView => view.IndexInBytes;

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
