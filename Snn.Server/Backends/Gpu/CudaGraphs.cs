using System.Runtime.InteropServices;

namespace Snn.Server.Backends.Gpu;

/// <summary>
/// The CUDA driver's graph calls that ILGPU does not wrap: capture the work queued on a stream into a
/// graph, instantiate it, launch it again and again. A chain of LOCKSTEP steps is hundreds of small
/// launches and copies; replayed as one graph it costs the host one call (see DeviceNetwork.Complete).
/// The functions are looked up in the same driver library ILGPU uses.
/// </summary>
internal static unsafe class CudaGraphs
{
    /// <summary>CU_STREAM_CAPTURE_MODE_RELAXED: other threads' and this thread's unsafe calls stay allowed during the capture.</summary>
    private const int CaptureModeRelaxed = 2;

    private static readonly Lazy<Api?> s_api = new(Load);

    /// <summary>Whether the driver has the graph calls (CUDA 11.4 and later).</summary>
    public static bool Available => s_api.Value is not null;

    /// <summary>Starts capturing the work queued on <paramref name="stream"/> (a stream other than the legacy default one).</summary>
    public static void BeginCapture(IntPtr stream) => Check(Api.Get.BeginCapture(stream, CaptureModeRelaxed), "cuStreamBeginCapture");

    /// <summary>Ends the capture on <paramref name="stream"/> and returns the graph (zero if the capture failed, with the driver's error).</summary>
    public static int EndCapture(IntPtr stream, out IntPtr graph)
    {
        IntPtr g;
        int result = Api.Get.EndCapture(stream, &g);
        graph = g;
        return result;
    }

    /// <summary>An executable graph of <paramref name="graph"/>; the graph itself is destroyed.</summary>
    public static IntPtr Instantiate(IntPtr graph)
    {
        IntPtr exec;
        int result = Api.Get.Instantiate(&exec, graph, 0);
        Api.Get.GraphDestroy(graph);
        Check(result, "cuGraphInstantiateWithFlags");
        return exec;
    }

    /// <summary>Queues <paramref name="exec"/> on <paramref name="stream"/> (zero: the legacy default stream).</summary>
    public static void Launch(IntPtr exec, IntPtr stream) => Check(Api.Get.Launch(exec, stream), "cuGraphLaunch");

    /// <summary>Frees an executable graph.</summary>
    public static void Destroy(IntPtr exec) => Api.Get.ExecDestroy(exec);

    private static void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new InvalidOperationException($"{call} failed with CUDA error {result}");
        }
    }

    private static Api? Load()
    {
        IntPtr lib = DriverLibraries.LoadCuda();
        if (lib == IntPtr.Zero)
        {
            return null;
        }

        IntPtr F(string name) => NativeLibrary.TryGetExport(lib, name, out var f) ? f : IntPtr.Zero;
        var api = new Api
        {
            BeginCapture = (delegate* unmanaged<IntPtr, int, int>)F("cuStreamBeginCapture_v2"),
            EndCapture = (delegate* unmanaged<IntPtr, IntPtr*, int>)F("cuStreamEndCapture"),
            Instantiate = (delegate* unmanaged<IntPtr*, IntPtr, ulong, int>)F("cuGraphInstantiateWithFlags"),
            Launch = (delegate* unmanaged<IntPtr, IntPtr, int>)F("cuGraphLaunch"),
            ExecDestroy = (delegate* unmanaged<IntPtr, int>)F("cuGraphExecDestroy"),
            GraphDestroy = (delegate* unmanaged<IntPtr, int>)F("cuGraphDestroy"),
        };
        return api.BeginCapture == null || api.EndCapture == null || api.Instantiate == null || api.Launch == null
            || api.ExecDestroy == null || api.GraphDestroy == null ? null : api;
    }

    private sealed class Api
    {
        public static Api Get => s_api.Value ?? throw new InvalidOperationException("the CUDA driver has no graph calls");

        public delegate* unmanaged<IntPtr, int, int> BeginCapture;
        public delegate* unmanaged<IntPtr, IntPtr*, int> EndCapture;
        public delegate* unmanaged<IntPtr*, IntPtr, ulong, int> Instantiate;
        public delegate* unmanaged<IntPtr, IntPtr, int> Launch;
        public delegate* unmanaged<IntPtr, int> ExecDestroy;
        public delegate* unmanaged<IntPtr, int> GraphDestroy;
    }
}
