using System.Runtime.InteropServices;

namespace Snn.Server.Engine;

/// <summary>
/// Linux realtime scheduling for the threads that step networks. While REALTIME networks are hosted
/// the step loop and the backend's workers run under SCHED_FIFO, so a tick is not delayed by the
/// transport's threads, the runtime's background threads or other processes on the same cores;
/// without REALTIME networks they are ordinary threads again. The kernel's RT throttling (95 % of
/// each second by default) keeps a runaway FIFO thread from locking the machine. Needs root or
/// CAP_SYS_NICE; without it the threads stay ordinary and the server says so once.
/// </summary>
internal static partial class RealtimeScheduling
{
    private const int SchedOther = 0;
    private const int SchedFifo = 1;

    /// <summary>
    /// Puts the calling thread under SCHED_FIFO at <paramref name="priority"/> (1..99), or back under
    /// SCHED_OTHER when <paramref name="priority"/> is 0. Returns 0 or the errno of the failure.
    /// </summary>
    public static int SetCurrentThread(int priority)
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        var param = new SchedParam { Priority = priority };
        // pid 0 is the calling thread (a Linux task), not the whole process.
        int rc = sched_setscheduler(0, priority > 0 ? SchedFifo : SchedOther, in param);
        return rc == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>The errno's meaning, for a log line.</summary>
    public static string Describe(int errno) => errno switch
    {
        1 => "EPERM: the process may not use realtime scheduling (run as root or grant CAP_SYS_NICE)",
        22 => "EINVAL: priority out of range (1..99)",
        _ => $"errno {errno}",
    };

    [StructLayout(LayoutKind.Sequential)]
    private struct SchedParam
    {
        public int Priority;
    }

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static partial int sched_setscheduler(int pid, int policy, in SchedParam param);
}
