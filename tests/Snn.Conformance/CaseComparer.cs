using System.Text.Json;

namespace Snn.Conformance;

/// <summary>The comparison of one candidate with its reference.</summary>
/// <param name="SpikeMismatches">Entries whose spike value differs by more than 1e-6.</param>
/// <param name="MaxStateError">Largest absolute state error over all states.</param>
/// <param name="BitExact">Whether every state value has the same float32 bits (+0 and -0 equal).</param>
/// <param name="Problems">Missing populations/states, shape errors and the first failing entries.</param>
public sealed record Comparison(int SpikeMismatches, double MaxStateError, bool BitExact, IReadOnlyList<string> Problems)
{
    public bool Passes(double tolerance) => SpikeMismatches == 0 && MaxStateError <= tolerance && Problems.Count == 0;
}

/// <summary>Compares a candidate trace file with its reference case (either schema).</summary>
public static class CaseComparer
{
    public const double SpikeEpsilon = 1e-6;

    public static Comparison Compare(string referencePath, string candidatePath, double tolerance)
    {
        using var refDoc = JsonDocument.Parse(File.ReadAllBytes(referencePath));
        using var candDoc = JsonDocument.Parse(File.ReadAllBytes(candidatePath));
        var problems = new List<string>();
        var acc = new Accumulator(problems, tolerance);
        var reference = refDoc.RootElement;
        var candidate = candDoc.RootElement;
        if (reference.TryGetProperty("traces", out var refTraces))
        {
            if (!candidate.TryGetProperty("traces", out var candTraces))
            {
                problems.Add("candidate has no traces");
                return acc.Result();
            }

            foreach (var pop in refTraces.EnumerateObject())
            {
                if (!candTraces.TryGetProperty(pop.Name, out var cand))
                {
                    problems.Add($"population {pop.Name} is missing");
                    continue;
                }

                CompareLayer(pop.Value, cand, pop.Name + ".", acc);
            }
        }
        else
        {
            CompareLayer(reference, candidate, "", acc);
        }

        return acc.Result();
    }

    private static void CompareLayer(JsonElement reference, JsonElement candidate, string prefix, Accumulator acc)
    {
        if (!candidate.TryGetProperty("spikes", out var candSpikes))
        {
            acc.Problems.Add(prefix + "spikes are missing");
        }
        else
        {
            acc.Add(prefix + "spikes", reference.GetProperty("spikes"), candSpikes, spikes: true);
        }

        foreach (var state in reference.GetProperty("states").EnumerateObject())
        {
            if (!candidate.TryGetProperty("states", out var candStates) || !candStates.TryGetProperty(state.Name, out var cand))
            {
                acc.Problems.Add($"{prefix}state {state.Name} is missing");
                continue;
            }

            acc.Add(prefix + state.Name, state.Value, cand, spikes: false);
        }
    }

    private sealed class Accumulator(List<string> problems, double tolerance)
    {
        private int _spikeMismatches;
        private double _maxError;
        private bool _bitExact = true;

        public List<string> Problems { get; } = problems;

        public Comparison Result() => new(_spikeMismatches, _maxError, _bitExact, Problems);

        public void Add(string what, JsonElement reference, JsonElement candidate, bool spikes)
        {
            var r = CaseFile.Tensor3(reference);
            var c = CaseFile.Tensor3(candidate);
            if (r.Length != c.Length || r.Zip(c).Any(p => p.First.Length != p.Second.Length ||
                    p.First.Zip(p.Second).Any(q => q.First.Length != q.Second.Length)))
            {
                Problems.Add($"{what}: shape differs from the reference");
                return;
            }

            int reported = 0;
            for (int b = 0; b < r.Length; b++)
            {
                for (int t = 0; t < r[b].Length; t++)
                {
                    for (int n = 0; n < r[b][t].Length; n++)
                    {
                        float rv = r[b][t][n], cv = c[b][t][n];
                        double err = Math.Abs((double)rv - cv);
                        bool bad;
                        if (spikes)
                        {
                            bad = err > SpikeEpsilon;
                            _spikeMismatches += bad ? 1 : 0;
                        }
                        else
                        {
                            _maxError = Math.Max(_maxError, double.IsNaN(err) ? double.PositiveInfinity : err);
                            _bitExact &= rv == cv && !float.IsNaN(cv);
                            bad = !(err <= tolerance);
                        }

                        if (bad && reported++ < 3)
                        {
                            Problems.Add($"{what}[b={b}][t={t}][n={n}]: reference {rv:R}, candidate {cv:R}");
                        }
                    }
                }
            }
        }
    }
}
