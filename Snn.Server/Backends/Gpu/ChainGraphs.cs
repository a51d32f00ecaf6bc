using System.Runtime.InteropServices;

namespace Snn.Server.Backends.Gpu;

/// <summary>
/// A network's CUDA graphs of step chains, by chain shape (the part of the chain's slots, due instances, per step the step ints changed and the uploads:
/// what decides the device work and its arguments). A shape is captured the second time it is seen,
/// so one-off chains cost no capture; at most <see cref="MaxGraphs"/> are kept (oldest dropped).
/// Anything that moves a buffer the graphs point at (an upload after an edit, grown slots or staging)
/// clears them.
/// </summary>
internal sealed class ChainGraphs(bool enabled) : IDisposable
{
    public const int MaxGraphs = 16;

    private readonly List<(int[] Key, IntPtr Exec)> _graphs = [];
    private readonly List<int[]> _seen = [];

    /// <summary>Whether this network uses graphs (CUDA with the driver's graph calls, and no capture refused so far).</summary>
    public bool Enabled { get; private set; } = enabled;

    /// <summary>The graph of this shape, or zero.</summary>
    public IntPtr Find(List<int> key)
    {
        var span = CollectionsMarshal.AsSpan(key);
        foreach (var (k, exec) in _graphs)
        {
            if (span.SequenceEqual(k))
            {
                return exec;
            }
        }

        return IntPtr.Zero;
    }

    /// <summary>Whether this shape was seen before; notes it if not.</summary>
    public bool SeenBefore(List<int> key)
    {
        var span = CollectionsMarshal.AsSpan(key);
        foreach (var k in _seen)
        {
            if (span.SequenceEqual(k))
            {
                return true;
            }
        }

        if (_seen.Count == 2 * MaxGraphs)
        {
            _seen.RemoveAt(0);
        }

        _seen.Add([.. key]);
        return false;
    }

    public void Add(List<int> key, IntPtr exec)
    {
        if (_graphs.Count == MaxGraphs)
        {
            CudaGraphs.Destroy(_graphs[0].Exec);
            _graphs.RemoveAt(0);
        }

        _graphs.Add(([.. key], exec));
    }

    /// <summary>Stops using graphs for this network (the driver refused a capture; the backend logs why).</summary>
    public void Disable()
    {
        Clear();
        Enabled = false;
    }

    /// <summary>Drops every graph (the buffers they point at moved).</summary>
    public void Clear()
    {
        foreach (var (_, exec) in _graphs)
        {
            CudaGraphs.Destroy(exec);
        }

        _graphs.Clear();
        _seen.Clear();
    }

    public void Dispose() => Clear();
}
