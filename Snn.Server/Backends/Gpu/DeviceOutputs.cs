using ILGPU;
using ILGPU.Runtime;
using Snn.Server.Backends;

namespace Snn.Server.Backends.Gpu;

/// <summary>
/// A population's output lists, the spikes the host reads: per step slot and instance, the spike count
/// and the compacted indices and values ([slot][instance][neuron], as the device lists). Where the
/// accelerator can map host memory (CUDA, ILGPU's CPU accelerator) they are page-locked host arrays
/// that the compaction kernels write directly, over the bus: a step costs no copy and no second round
/// trip, and a chain of steps is waited for once. Elsewhere (OpenCL) the kernels write device buffers
/// of the same layout and <see cref="CopyCounts"/> / <see cref="CopyLists"/> bring them back.
/// </summary>
internal sealed class DeviceOutputs(DeviceNetwork net, bool mapped, int instances, int size) : IDisposable
{
    private readonly List<IDisposable> _owned = [];
    private int[] _counts = [];
    private int[] _index = [];
    private float[] _value = [];
    private ArrayView<int> _countsView;
    private ArrayView<int> _indexView;
    private ArrayView<float> _valueView;

    // The host arrays' views, for the copies back (OpenCL only).
    private ArrayView<int> _countsHost;
    private ArrayView<int> _indexHost;
    private ArrayView<float> _valueHost;
    private long Total => (long)instances * size;

    private bool _binary;

    /// <summary>
    /// Whether the population's spikes are all 1: the kernels then write indices alone and the host
    /// value lists are kept at 1 (filled when this turns on or the lists are reallocated).
    /// </summary>
    public bool Binary
    {
        get => _binary;
        set
        {
            if (value && !_binary)
            {
                Array.Fill(_value, 1f);
            }

            _binary = value;
        }
    }

    /// <summary>Allocates the lists for <paramref name="slots"/> step slots (the queue must be empty).</summary>
    public void Reserve(int slots)
    {
        Dispose();
        _counts = Pinned<int>((long)slots * instances, out var countsHost);
        _index = Pinned<int>(slots * Total, out var indexHost);
        _value = Pinned<float>(slots * Total, out var valueHost);
        if (_binary)
        {
            Array.Fill(_value, 1f);
        }

        if (mapped)
        {
            (_countsView, _indexView, _valueView) = (countsHost, indexHost, valueHost);
        }
        else
        {
            var counts = Own(net.Allocate<int>(_counts.Length));
            counts.View.MemSetToZero(net.Stream); // a slot an instance never stepped into reads as no spikes
            (_countsView, _indexView, _valueView) = (counts.View, Own(net.Allocate<int>(_index.Length)).View,
                Own(net.Allocate<float>(_value.Length)).View);
            (_countsHost, _indexHost, _valueHost) = (countsHost, indexHost, valueHost);
        }

    }

    /// <summary>Where the kernels write the counts of <paramref name="slot"/> ([instance]).</summary>
    public ArrayView<int> Counts(int slot) => _countsView.SubView((long)slot * instances, instances);

    /// <summary>Where the kernels write the indices of <paramref name="slot"/> ([instance][neuron]).</summary>
    public ArrayView<int> Index(int slot) => _indexView.SubView(slot * Total, Math.Max(1, Total));

    /// <summary>Where the kernels write the values of <paramref name="slot"/> ([instance][neuron]).</summary>
    public ArrayView<float> Values(int slot) => _valueView.SubView(slot * Total, Math.Max(1, Total));

    /// <summary>Copies the counts of the first <paramref name="slots"/> slots back (OpenCL).</summary>
    public void CopyCounts(int slots)
    {
        long n = (long)slots * instances;
        PinnedHost.Download(net.Stream, _countsView.SubView(0, n), _countsHost.SubView(0, n));
    }

    /// <summary>Copies each instance's list of the first <paramref name="slots"/> slots back, as long as its count (OpenCL; after the counts arrived).</summary>
    public void CopyLists(int slots)
    {
        for (int slot = 0; slot < slots; slot++)
        {
            for (int i = 0; i < instances; i++)
            {
                int count = Count(slot, i);
                if (count > 0)
                {
                    long o = slot * Total + (long)i * size;
                    PinnedHost.Download(net.Stream, _indexView.SubView(o, count), _indexHost.SubView(o, count));
                    if (!_binary)
                    {
                        PinnedHost.Download(net.Stream, _valueView.SubView(o, count), _valueHost.SubView(o, count));
                    }
                }
            }
        }
    }

    /// <summary>The spikes of <paramref name="instance"/> at the step of <paramref name="slot"/>: ascending indices and their values.</summary>
    public SpikeList List(int slot, int instance)
    {
        long o = slot * Total + (long)instance * size;
        int count = Count(slot, instance);
        return new SpikeList(_index.AsSpan((int)o, count), _value.AsSpan((int)o, count));
    }

    private int Count(int slot, int instance) => Math.Clamp(_counts[slot * instances + instance], 0, size);

    private T[] Pinned<T>(long length, out ArrayView<T> view)
        where T : unmanaged
    {
        var (host, hostView) = net.Staging<T>(length, _owned);
        view = hostView;
        return host;
    }

    private T Own<T>(T buffer)
        where T : IDisposable
    {
        _owned.Add(buffer);
        return buffer;
    }

    public void Dispose()
    {
        foreach (var b in _owned)
        {
            b.Dispose();
        }

        _owned.Clear();
    }
}
