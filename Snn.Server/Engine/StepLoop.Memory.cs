using System.Collections.Concurrent;
using System.Globalization;

namespace Snn.Server.Engine;

/// <summary>
/// The server-wide memory budget (<see cref="EngineLimits.MaxMemoryBytes"/>): every network is charged
/// the bytes it holds. CreateNetwork reserves an upper bound before anything is allocated (refusing with
/// RESOURCE_EXHAUSTED when it does not fit), then keeps the network's actual bytes; deleting a network
/// gives its charge back.
/// </summary>
internal sealed partial class StepLoop
{
    private readonly ConcurrentDictionary<Network, long> _charges = new(ReferenceEqualityComparer.Instance);

    private long _memoryCharged;

    /// <summary>Bytes charged against the budget: all networks, and those being built.</summary>
    public long MemoryCharged => Interlocked.Read(ref _memoryCharged);

    /// <summary>Charges <paramref name="bytes"/> for network <paramref name="name"/>, or refuses when they do not fit what is left.</summary>
    private void Reserve(string name, long bytes)
    {
        long budget = Limits.MaxMemoryBytes;
        while (true)
        {
            long charged = Interlocked.Read(ref _memoryCharged);
            long left = Math.Max(0, budget - charged);
            if (bytes > left)
            {
                throw new EngineException(EngineError.ResourceExhausted,
                    $"network '{name}' needs {FormatBytes(bytes)}; {FormatBytes(left)} of the {FormatBytes(budget)} budget " +
                    "(Snn:Limits:MaxMemoryBytes) is left; delete networks or raise the budget");
            }

            if (Interlocked.CompareExchange(ref _memoryCharged, charged + bytes, charged) == charged)
            {
                return;
            }
        }
    }

    private void Release(long bytes) => Interlocked.Add(ref _memoryCharged, -bytes);

    /// <summary>Replaces a network's reserved estimate with what it actually holds (at most the estimate).</summary>
    private void Settle(Network network, long reserved)
    {
        long actual = NetworkBuilder.ChargedBytes(network, Limits.MaxInputHorizon);
        Interlocked.Add(ref _memoryCharged, actual - reserved);
        _charges[network] = actual;
    }

    /// <summary>Gives a deleted network's charge back.</summary>
    private void Discharge(Network network)
    {
        if (_charges.TryRemove(network, out long bytes))
        {
            Release(bytes);
        }
    }

    /// <summary>1.0 GiB, 3.5 MiB, 12.0 KiB or 512 bytes.</summary>
    internal static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        _ => $"{bytes} bytes",
    };
}
