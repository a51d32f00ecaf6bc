using Snn.Server.Backends.Cpu;
using Snn.Server.Engine;
using Snn.Server.Models;

namespace Snn.Benchmarks.Engine;

/// <summary>
/// A built network stepped the way the step loop steps it, without the transport: every due
/// instance's input buffers are cleared, the step's input events are added into the input
/// population, and the CPU backend steps all populations in order.
/// </summary>
internal sealed class EngineFixture
{
    private const int Patterns = 16;

    private readonly CpuBackend _backend = new();
    private readonly int[] _due;
    private readonly Population _input;
    private readonly int[][] _events; // [pattern][event] neuron indices
    private readonly float[][] _fanOut; // [projection][source neuron] synapses per source neuron
    private int _next;

    /// <param name="eventFraction">Fraction of the input population that receives an event each step.</param>
    public EngineFixture(NetworkDefinition definition, string inputPopulation, double eventFraction, int seed = 7)
    {
        var limits = new EngineLimits { MaxSynapsesPerNetwork = 1L << 30, MaxStateValuesPerNetwork = 1L << 31 };
        Network = NetworkBuilder.Build(definition, limits);
        _due = Enumerable.Range(0, Network.Instances.Length).ToArray();
        _input = Network.FindPopulation(inputPopulation) ?? throw new ArgumentException($"no population '{inputPopulation}'");
        var random = new Random(seed);
        int perStep = Math.Max(1, (int)Math.Round(eventFraction * _input.Size));
        _events = new int[Patterns][];
        for (int p = 0; p < Patterns; p++)
        {
            _events[p] = new int[perStep];
            for (int e = 0; e < perStep; e++)
            {
                _events[p][e] = random.Next(_input.Size);
            }
        }

        _fanOut = Network.Projections.Select(j => FanOut(j, definition)).ToArray();
    }

    public Network Network { get; }

    /// <summary>One step of every instance: input preparation as the step loop does it, then the backend.</summary>
    public void Step()
    {
        var events = _events[_next++ & (Patterns - 1)];
        foreach (int i in _due)
        {
            foreach (var p in Network.Populations)
            {
                p.Slice(p.Input, i).Clear();
                if (p.RecurrentInput.Length > 0)
                {
                    p.Slice(p.RecurrentInput, i).Clear();
                }
            }

            var x = _input.Slice(_input.Input, i);
            foreach (int n in events)
            {
                x[n] += 1f;
            }
        }

        _backend.Step(Network, _due);
        foreach (int i in _due)
        {
            Network.Instances[i].Step++;
        }
    }

    /// <summary>
    /// Runs <paramref name="steps"/> steps and returns the mean synaptic events per step (non-zero
    /// source values × their synapses, summed over projections and instances) and spikes per step.
    /// </summary>
    public (double SynapticEvents, double Spikes) Measure(int steps)
    {
        double events = 0, spikes = 0;
        for (int t = 0; t < steps; t++)
        {
            Step();
            for (int j = 0; j < Network.Projections.Length; j++)
            {
                var source = Network.Projections[j].Source;
                var fan = _fanOut[j];
                for (int k = 0; k < source.Spikes.Length; k++)
                {
                    if (source.Spikes[k] != 0f)
                    {
                        events += fan[k % source.Size];
                    }
                }
            }

            foreach (var p in Network.Populations)
            {
                if (p.Model is not InputModel)
                {
                    spikes += p.Spikes.Count(s => s != 0f);
                }
            }
        }

        return (events / steps, spikes / steps);
    }

    /// <summary>Synapses leaving each source neuron of a projection.</summary>
    private static float[] FanOut(Projection j, NetworkDefinition definition)
    {
        var fan = new float[j.Source.Size];
        var spec = definition.Projections.First(p => p.Name == j.Name);
        switch (j.Kind)
        {
            case ProjectionKind.OneToOne:
                Array.Fill(fan, 1f);
                break;
            case ProjectionKind.Sparse:
                foreach (int pre in spec.Pre)
                {
                    fan[pre]++;
                }

                break;
            case ProjectionKind.Dense:
                Array.Fill(fan, j.Target.Size);
                break;
            default:
                // Pooling: one output per pixel. Convolution: a pixel reaches out_c × kh×kw/(sy×sx) outputs
                // on average = target size × kh×kw × in_c / source size.
                int inChannels = j.Source.Shape.Count == 3 ? j.Source.Shape[0] : 1;
                Array.Fill(fan, j.Kind == ProjectionKind.SumPool2d ? 1f : (float)((double)j.Target.Size * Kernel(spec) * inChannels / j.Source.Size));
                break;
        }

        return fan;
    }

    private static int Kernel(ProjectionDefinition spec) =>
        spec.KernelSize.Length == 0 ? 1 : spec.KernelSize.Length == 1 ? spec.KernelSize[0] * spec.KernelSize[0] : spec.KernelSize[0] * spec.KernelSize[1];
}
