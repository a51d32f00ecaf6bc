using System.Globalization;
using System.Text;
using Snn.Protos.V1;

namespace Snn.Cli.Internal;

/// <summary>
/// Prints Run/Watch responses one line per step: <c>step 12  lif: 3 17 42(2)</c>, a value in
/// parentheses where a spike is not 1; <c>step 13  -</c> for a step without spikes.
/// </summary>
internal sealed class StepPrinter(TextWriter output)
{
    private IReadOnlyList<string> _populations = [];

    public void Opened(RunOpened opened, string what)
    {
        _populations = opened.SpikePopulations.ToList();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what} network '{opened.Network}' instance {opened.Instance} at step {opened.Step}; spikes from {(_populations.Count == 0 ? "(none)" : string.Join(", ", _populations))}"));
    }

    public void Step(StepOutput step)
    {
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"step {step.Step} ");
        if (step.Spikes.Count == 0)
        {
            line.Append(" -");
        }

        foreach (var spikes in step.Spikes)
        {
            var name = spikes.Population < _populations.Count ? _populations[(int)spikes.Population] : "#" + spikes.Population.ToString(CultureInfo.InvariantCulture);
            line.Append(' ').Append(name).Append(':');
            for (int k = 0; k < spikes.Indices.Count; k++)
            {
                line.Append(' ').Append(spikes.Indices[k].ToString(CultureInfo.InvariantCulture));
                if (spikes.Values.Count > k && spikes.Values[k] != 1f)
                {
                    line.Append('(').Append(spikes.Values[k].ToString("G6", CultureInfo.InvariantCulture)).Append(')');
                }
            }
        }

        foreach (var state in step.States)
        {
            line.Append(CultureInfo.InvariantCulture, $" [{state.Variable}: {string.Join(' ', state.Values.Select(v => v.ToString("G6", CultureInfo.InvariantCulture)))}]");
        }

        output.WriteLine(line.ToString());
    }

    public void Status(RunStatus status) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"status step {status.Step}: late inputs {status.LateInputs}, too early {status.InputsTooEarly}, overruns {status.Overruns}, lag {status.LagUs:0} us (max {status.MaxLagUs:0} us), dropped {status.Dropped}"));

    public void Dropped(ulong count) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"dropped {count} step(s)"));
}
