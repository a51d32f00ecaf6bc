using PureHDF;
using PureHDF.Filters;
using PureHDF.VOL.Native;

namespace Snn.Client.Nir;

/// <summary>
/// Writes <see cref="NirGraphData"/> in the layout of nir.write_data (nir/serialization.py), which
/// nir.read_data reads: the root carries the attribute <c>__type__</c> = "NIRGraphData" and a group
/// <c>nodes</c>; each node group has <c>__type__</c> = "NIRNodeData" and a group <c>observables</c>; each
/// observable group has its <c>__type__</c> ("TimeGriddedData", "EventData" or "ValuedEventData") and
/// either the dataset <c>data</c> with the attribute <c>dt</c>, or the datasets <c>idx</c> (int64),
/// <c>time</c> (float64) and <c>value</c> with the attributes <c>n_neurons</c> and <c>t_max</c>.
/// Datasets are gzip-compressed as write_data does by default; attributes are scalars as h5py stores
/// Python str, float and int (UTF-8 string, float64, int64).
/// </summary>
public static class NirDataWriter
{
    public static void Write(NirGraphData data, string path)
    {
        using var stream = File.Create(path);
        Write(data, stream);
    }

    public static void Write(NirGraphData data, Stream stream)
    {
        var file = new H5File { ["nodes"] = Nodes(data) };
        file.Attributes["__type__"] = "NIRGraphData";
        file.Write(stream);
    }

    private static H5Group Nodes(NirGraphData data)
    {
        var nodes = new H5Group();
        foreach (var (name, node) in data.Nodes)
        {
            var observables = new H5Group();
            foreach (var (observable, value) in node.Observables)
                observables[observable] = Observable(value);
            var group = new H5Group { ["observables"] = observables };
            group.Attributes["__type__"] = "NIRNodeData";
            nodes[name] = group;
        }

        return nodes;
    }

    private static H5Group Observable(NirObservable observable)
    {
        var group = new H5Group();
        switch (observable)
        {
            case NirTimeGriddedData grid:
                group.Attributes["__type__"] = "TimeGriddedData";
                group["data"] = Dataset(grid.Data, [grid.Samples, grid.Steps, grid.Neurons]);
                group.Attributes["dt"] = grid.Dt;
                break;
            case NirEventData events:
                group.Attributes["__type__"] = events.Values is null ? "EventData" : "ValuedEventData";
                group["idx"] = Dataset(events.Idx, [events.Samples, events.Events]);
                group["time"] = Dataset(events.Time, [events.Samples, events.Events]);
                if (events.Values is { } values)
                    group["value"] = Dataset(values, [events.Samples, events.Events]);
                group.Attributes["n_neurons"] = (long)events.NNeurons;
                group.Attributes["t_max"] = events.TMax;
                break;
            default:
                throw new ArgumentException($"{observable.GetType().Name} is not a NIR observable the writer knows", nameof(observable));
        }

        return group;
    }

    /// <summary>About how many elements one chunk holds: a long recording is many chunks, none near HDF5's 4 GiB chunk limit.</summary>
    public const int ChunkElements = 1 << 16;

    /// <summary>
    /// An array dataset, gzip-compressed in chunks that split the second axis (time, or events) and keep the
    /// others whole. An empty one cannot be chunked and is stored plain.
    /// </summary>
    private static H5Dataset Dataset<T>(T[] data, int[] shape)
    {
        long count = 1;
        foreach (var d in shape)
            count *= d;
        if (count != data.Length)
            throw new ArgumentException($"{data.Length} values do not fill shape [{string.Join(", ", shape)}]", nameof(data));
        var dims = Array.ConvertAll(shape, d => (ulong)d);
        if (data.Length == 0)
            return new H5Dataset(data, fileDims: dims);
        var chunks = Array.ConvertAll(shape, d => (uint)d);
        chunks[0] = 1;
        long rest = 1;
        for (var i = 2; i < shape.Length; i++)
            rest *= shape[i];
        chunks[1] = (uint)Math.Clamp(ChunkElements / Math.Max(1, rest), 1, shape[1]);
        return new H5Dataset(data, chunks: chunks, fileDims: dims,
            datasetCreation: new H5DatasetCreation(Filters: [new H5Filter(DeflateFilter.Id)]));
    }
}
