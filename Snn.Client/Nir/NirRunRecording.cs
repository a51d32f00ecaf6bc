using Snn.Protos.V1;

namespace Snn.Client.Nir;

/// <summary>
/// Collects what a run stream delivers (<see cref="StepOutput"/>s after its <see cref="RunOpened"/>) as NIR
/// data: per population, its spikes as EventData (neuron index and time in seconds from
/// <c>firstStep</c>, with the spike values as ValuedEventData where the population sends graded spikes)
/// and each recorded state variable as TimeGriddedData of shape (1, steps, recorded neurons), sampled every
/// dt × the record's <c>every</c>. A trace's neurons are the record's, in its order. Records before
/// <c>firstRecord</c> belong to someone else (the plot) and are left out. Values are appended to growing
/// lists, nothing per step beyond them; <see cref="ToGraphData"/> copies them out once.
/// </summary>
public sealed class NirRunRecording
{
    private readonly RunOpened _opened;
    private readonly double _dt;
    private readonly ulong _firstStep;
    private readonly int _firstRecord;
    private readonly int[] _sizes;
    private readonly SpikeList[] _spikes;
    private readonly Dictionary<(uint Record, string Variable), Trace> _traces = [];
    private ulong _end;

    /// <param name="opened">The stream's RunOpened: its spike populations and records.</param>
    /// <param name="populationSizes">Neurons per population, by name (NetworkSpec.populations).</param>
    /// <param name="dt">Seconds per step (NetworkSpec.dt).</param>
    /// <param name="firstStep">The step whose time is 0; earlier steps are ignored.</param>
    /// <param name="firstRecord">The first of the records (RunOpened.records) this recording keeps.</param>
    public NirRunRecording(RunOpened opened, IReadOnlyDictionary<string, int> populationSizes, double dt, ulong firstStep, int firstRecord = 0)
    {
        if (!(dt > 0) || !double.IsFinite(dt))
            throw new ArgumentOutOfRangeException(nameof(dt), dt, "the step length must be a positive number of seconds");
        _opened = opened;
        _dt = dt;
        _firstStep = firstStep;
        _firstRecord = firstRecord;
        _end = firstStep;
        _sizes = opened.SpikePopulations.Select(p => populationSizes.TryGetValue(p, out var n) ? n
            : throw new ArgumentException($"no size for spike population '{p}'", nameof(populationSizes))).ToArray();
        _spikes = opened.SpikePopulations.Select(_ => new SpikeList()).ToArray();
    }

    /// <summary>Steps covered so far, from firstStep to the last step added.</summary>
    public ulong Steps => _end - _firstStep;

    public void Add(StepOutput step)
    {
        if (step.Step < _firstStep)
            return;
        _end = Math.Max(_end, step.Step + 1);
        double time = (step.Step - _firstStep) * _dt;
        foreach (var population in step.Spikes)
        {
            if (population.Population >= _spikes.Length)
                throw new InvalidDataException($"step {step.Step} has spikes of population {population.Population}; the run announced {_spikes.Length}");
            _spikes[population.Population].Add(population, time);
        }

        foreach (var state in step.States)
        {
            if (state.Record < _firstRecord)
                continue;
            if (state.Record >= _opened.Records.Count)
                throw new InvalidDataException($"step {step.Step} has a trace of record {state.Record}; the run announced {_opened.Records.Count}");
            if (!_traces.TryGetValue((state.Record, state.Variable), out var trace))
                _traces[(state.Record, state.Variable)] = trace = new Trace(state.Values.Count);
            if (state.Values.Count != trace.Neurons)
                throw new InvalidDataException($"step {step.Step}: record {state.Record} '{state.Variable}' has {state.Values.Count} values, earlier steps {trace.Neurons}");
            for (var i = 0; i < state.Values.Count; i++)
                trace.Values.Add(state.Values[i]);
        }
    }

    /// <summary>The recording as NIR data: one node per population that has spikes or traces.</summary>
    public NirGraphData ToGraphData()
    {
        double tMax = Steps * _dt;
        var nodes = new Dictionary<string, Dictionary<string, NirObservable>>(StringComparer.Ordinal);
        Dictionary<string, NirObservable> Node(string name) =>
            nodes.TryGetValue(name, out var node) ? node : nodes[name] = new Dictionary<string, NirObservable>(StringComparer.Ordinal);

        for (var p = 0; p < _spikes.Length; p++)
            Node(_opened.SpikePopulations[p])["spikes"] = _spikes[p].ToEventData(_sizes[p], tMax);

        foreach (var ((record, variable), trace) in _traces.OrderBy(kv => kv.Key.Record).ThenBy(kv => kv.Key.Variable, StringComparer.Ordinal))
        {
            var spec = _opened.Records[(int)record];
            var node = Node(spec.Population);
            // Two records of one variable of one population (different neurons) keep apart by record index.
            var name = node.ContainsKey(variable) ? $"{variable}_{record}" : variable;
            int steps = trace.Neurons == 0 ? 0 : trace.Values.Count / trace.Neurons;
            node[name] = new NirTimeGriddedData(trace.Values.ToArray(), steps, trace.Neurons, _dt * Math.Max(1u, spec.Every));
        }

        return new NirGraphData(nodes.ToDictionary(kv => kv.Key, kv => new NirNodeData(kv.Value), StringComparer.Ordinal));
    }

    public void Write(string path) => NirDataWriter.Write(ToGraphData(), path);

    public void Write(Stream stream) => NirDataWriter.Write(ToGraphData(), stream);

    private sealed class SpikeList
    {
        private readonly List<long> _idx = [];
        private readonly List<double> _time = [];
        private List<float>? _values;

        public void Add(PopulationSpikes spikes, double time)
        {
            if (spikes.Values.Count > 0 && _values is null)
            {
                // The first graded spikes: the earlier ones were plain spikes of value 1.
                _values = new List<float>(_idx.Capacity);
                for (var i = 0; i < _idx.Count; i++)
                    _values.Add(1f);
            }

            for (var i = 0; i < spikes.Indices.Count; i++)
            {
                _idx.Add(spikes.Indices[i]);
                _time.Add(time);
                _values?.Add(spikes.Values.Count > 0 ? spikes.Values[i] : 1f);
            }
        }

        public NirEventData ToEventData(int neurons, double tMax) =>
            new(_idx.ToArray(), _time.ToArray(), 1, neurons, tMax, _values?.ToArray());
    }

    private sealed class Trace(int neurons)
    {
        public int Neurons { get; } = neurons;

        public List<float> Values { get; } = [];
    }
}
