using System.Globalization;
using System.Text;
using System.Xml;
using Snn.Protos.V1;

namespace Snn.Cli.Internal;

/// <summary>
/// Collects the steps of a run and writes them as an SVG: a spike raster (one row per neuron,
/// populations stacked, one tick per spike) and, below it, one panel of traces per recorded state
/// variable (a line per neuron). Every spike mark is a <c>line</c> of class <c>spike</c> carrying
/// <c>data-step</c>, <c>data-population</c> and <c>data-neuron</c>, so the picture can be checked
/// against the spikes received.
/// </summary>
internal sealed class SpikePlot
{
    private const double Width = 900, Left = 90, Right = 30, Top = 40, PanelGap = 56, TraceHeight = 150, AxisText = 11;
    private static readonly string[] Colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];

    private readonly List<(string Name, int Size)> _populations;
    private readonly List<(string Population, string Variable, uint FirstNeuron)> _records;
    private readonly List<(long Step, int Population, uint Neuron)> _spikes = [];
    private readonly Dictionary<(int Record, string Variable), List<(long Step, float[] Values)>> _traces = [];
    private long _first = long.MaxValue, _last = long.MinValue;

    /// <param name="populations">The spike populations in RunOpened order, with their sizes.</param>
    /// <param name="records">The RecordSpecs in RunOpened order: population, variable and first neuron of each.</param>
    public SpikePlot(IEnumerable<(string Name, int Size)> populations, IEnumerable<(string Population, string Variable, uint FirstNeuron)> records)
    {
        _populations = populations.ToList();
        _records = records.ToList();
    }

    /// <summary>A plot of the populations a stream announced, with the traces of <paramref name="records"/>.</summary>
    public static SpikePlot For(RunOpened opened, NetworkSpec spec, List<(RecordSpec Spec, string Variable)> records) => new(
        opened.SpikePopulations.Select(p => (p, (int)spec.Populations.First(s => s.Name == p).Size)),
        records.Select(r => (r.Spec.Population, r.Variable, r.Spec.Range.Start)));

    /// <summary>What <c>--plot</c> records (RunOpen/WatchRequest.record): the first state variable of each spike population, neurons 0 .. n-1.</summary>
    public static List<(RecordSpec Spec, string Variable)> Records(NetworkSpec spec, ServerInfo info, IList<string> spikesFrom, uint neurons)
    {
        var populations = spikesFrom.Count > 0
            ? spikesFrom.Select(n => spec.Populations.FirstOrDefault(p => p.Name == n)).OfType<PopulationSpec>()
            : spec.Populations.Where(p => p.Model != "input");
        var records = new List<(RecordSpec, string)>();
        foreach (var population in populations)
        {
            var variable = info.Models.FirstOrDefault(m => m.Name == population.Model)?.StateVariables.FirstOrDefault();
            if (variable is null || neurons == 0)
            {
                continue;
            }

            records.Add((new RecordSpec
            {
                Population = population.Name,
                Variables = { variable },
                Range = new IndexRange { Start = 0, End = Math.Min(neurons, population.Size) },
            }, variable));
        }

        return records;
    }

    public int Steps => _first > _last ? 0 : (int)(_last - _first + 1);

    public void Add(StepOutput step)
    {
        long s = (long)step.Step;
        _first = Math.Min(_first, s);
        _last = Math.Max(_last, s);
        foreach (var spikes in step.Spikes)
        {
            foreach (var n in spikes.Indices)
            {
                _spikes.Add((s, (int)spikes.Population, n));
            }
        }

        foreach (var state in step.States)
        {
            if (state.Record >= _records.Count)
            {
                continue; // a record of someone else's (run --nir-data)
            }

            var key = ((int)state.Record, state.Variable);
            if (!_traces.TryGetValue(key, out var list))
            {
                _traces[key] = list = [];
            }

            list.Add((s, state.Values.ToArray()));
        }
    }

    public void Write(string path, string title)
    {
        using var stream = File.Create(path);
        Write(stream, title);
    }

    public void Write(Stream stream, string title)
    {
        var c = CultureInfo.InvariantCulture;
        double plotWidth = Width - Left - Right;
        long first = Steps == 0 ? 0 : _first, last = Steps == 0 ? 0 : _last;
        double X(double step) => Left + (step - first + 0.5) / (last - first + 1) * plotWidth;

        int rows = Math.Max(1, _populations.Sum(p => p.Size));
        double rasterHeight = Math.Clamp(rows * 6.0, 120, 420);
        double rowHeight = rasterHeight / rows;
        var traceKeys = _traces.Keys.OrderBy(k => k.Record).ThenBy(k => k.Variable, StringComparer.Ordinal).ToList();
        double height = Top + rasterHeight + PanelGap + traceKeys.Count * (TraceHeight + PanelGap) + 10;

        using var xml = XmlWriter.Create(stream, new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false) });
        xml.WriteStartElement("svg", "http://www.w3.org/2000/svg");
        xml.WriteAttributeString("width", F(Width));
        xml.WriteAttributeString("height", F(height));
        xml.WriteAttributeString("viewBox", $"0 0 {F(Width)} {F(height)}");
        xml.WriteAttributeString("font-family", "sans-serif");
        xml.WriteAttributeString("font-size", F(AxisText));
        Rect(xml, 0, 0, Width, height, "white");
        Text(xml, Width / 2, 20, title, "middle", size: 14);

        // Raster: populations stacked top to bottom, neuron 0 at the top of its band.
        double top = Top;
        Frame(xml, top, rasterHeight);
        int row = 0;
        var rowOf = new int[_populations.Count];
        for (int p = 0; p < _populations.Count; p++)
        {
            rowOf[p] = row;
            double bandTop = top + row * rowHeight, bandHeight = _populations[p].Size * rowHeight;
            if (p > 0)
            {
                Line(xml, Left, bandTop, Width - Right, bandTop, "#bbb", 0.5);
            }

            Text(xml, Left - 8, bandTop + bandHeight / 2 - 2, _populations[p].Name, "end");
            Text(xml, Left - 8, bandTop + bandHeight / 2 + AxisText, string.Create(c, $"0–{_populations[p].Size - 1}"), "end", colour: "#666");
            row += _populations[p].Size;
        }

        double tick = Math.Max(0.6, Math.Min(plotWidth / Math.Max(1, last - first + 1) * 0.6, 3));
        foreach (var (step, population, neuron) in _spikes)
        {
            double y = top + (rowOf[population] + neuron + 0.5) * rowHeight;
            double half = Math.Max(rowHeight * 0.45, 0.5);
            xml.WriteStartElement("line");
            xml.WriteAttributeString("class", "spike");
            xml.WriteAttributeString("data-step", step.ToString(c));
            xml.WriteAttributeString("data-population", _populations[population].Name);
            xml.WriteAttributeString("data-neuron", neuron.ToString(c));
            xml.WriteAttributeString("x1", F(X(step)));
            xml.WriteAttributeString("x2", F(X(step)));
            xml.WriteAttributeString("y1", F(y - half));
            xml.WriteAttributeString("y2", F(y + half));
            xml.WriteAttributeString("stroke", "black");
            xml.WriteAttributeString("stroke-width", F(tick));
            xml.WriteEndElement();
        }

        StepAxis(xml, top + rasterHeight, first, last, X);
        Text(xml, 16, top + rasterHeight / 2, "neuron", "middle", rotate: true);
        Text(xml, Left, top - 6, string.Create(c, $"spikes ({_spikes.Count})"), "start");

        // Traces: one panel per recorded variable, a line per neuron.
        top += rasterHeight + PanelGap;
        foreach (var key in traceKeys)
        {
            var samples = _traces[key];
            float min = samples.SelectMany(s => s.Values).DefaultIfEmpty(0).Min();
            float max = samples.SelectMany(s => s.Values).DefaultIfEmpty(0).Max();
            if (max - min < 1e-6f)
            {
                min -= 0.5f;
                max += 0.5f;
            }

            double Y(float v) => top + TraceHeight - (v - min) / (max - min) * TraceHeight;
            Frame(xml, top, TraceHeight);
            var (population, variable, firstNeuron) = key.Record < _records.Count ? _records[key.Record] : ("?", key.Variable, 0u);
            int neurons = samples.Max(s => s.Values.Length);
            Text(xml, Left, top - 6, string.Create(c, $"{population}: {variable} (neurons {firstNeuron}–{firstNeuron + (uint)neurons - 1})"), "start");
            for (int k = 0; k <= 4; k++)
            {
                float v = min + (max - min) * k / 4;
                Line(xml, Left - 4, Y(v), Left, Y(v), "black", 1);
                Text(xml, Left - 6, Y(v) + 4, v.ToString("G3", c), "end");
            }

            for (int n = 0; n < neurons; n++)
            {
                var points = new StringBuilder();
                foreach (var (step, values) in samples)
                {
                    if (n < values.Length)
                    {
                        points.Append(c, $"{F(X(step))},{F(Y(values[n]))} ");
                    }
                }

                xml.WriteStartElement("polyline");
                xml.WriteAttributeString("class", "trace");
                xml.WriteAttributeString("data-population", population);
                xml.WriteAttributeString("data-variable", variable);
                xml.WriteAttributeString("data-neuron", (firstNeuron + (uint)n).ToString(c));
                xml.WriteAttributeString("points", points.ToString().TrimEnd());
                xml.WriteAttributeString("fill", "none");
                xml.WriteAttributeString("stroke", Colours[n % Colours.Length]);
                xml.WriteAttributeString("stroke-width", "1.2");
                xml.WriteEndElement();
            }

            // Legend: the colour of each neuron, right-aligned above the panel.
            for (int n = 0; n < neurons; n++)
            {
                double x = Width - Right - (neurons - n) * 62;
                Line(xml, x, top - 10, x + 14, top - 10, Colours[n % Colours.Length], 2);
                Text(xml, x + 18, top - 6, "n " + (firstNeuron + (uint)n).ToString(c), "start");
            }

            StepAxis(xml, top + TraceHeight, first, last, X);
            Text(xml, 16, top + TraceHeight / 2, variable, "middle", rotate: true);
            top += TraceHeight + PanelGap;
        }

        xml.WriteEndElement();
    }

    private void Frame(XmlWriter xml, double top, double height)
    {
        xml.WriteStartElement("rect");
        xml.WriteAttributeString("x", F(Left));
        xml.WriteAttributeString("y", F(top));
        xml.WriteAttributeString("width", F(Width - Left - Right));
        xml.WriteAttributeString("height", F(height));
        xml.WriteAttributeString("fill", "none");
        xml.WriteAttributeString("stroke", "black");
        xml.WriteEndElement();
    }

    /// <summary>The step axis under a panel: about six ticks on round numbers, and its label.</summary>
    private static void StepAxis(XmlWriter xml, double y, long first, long last, Func<double, double> x)
    {
        long span = Math.Max(1, last - first);
        long stride = NiceStride(span / 6.0);
        for (long s = (first + stride - 1) / stride * stride; s <= last; s += stride)
        {
            Line(xml, x(s), y, x(s), y + 4, "black", 1);
            Text(xml, x(s), y + 16, s.ToString(CultureInfo.InvariantCulture), "middle");
        }

        Text(xml, Left + (Width - Left - Right) / 2, y + 32, "step", "middle");
    }

    private static long NiceStride(double raw)
    {
        if (raw <= 1)
        {
            return 1;
        }

        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double unit = raw / magnitude;
        return (long)((unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * magnitude);
    }

    private static void Rect(XmlWriter xml, double x, double y, double w, double h, string fill)
    {
        xml.WriteStartElement("rect");
        xml.WriteAttributeString("x", F(x));
        xml.WriteAttributeString("y", F(y));
        xml.WriteAttributeString("width", F(w));
        xml.WriteAttributeString("height", F(h));
        xml.WriteAttributeString("fill", fill);
        xml.WriteEndElement();
    }

    private static void Line(XmlWriter xml, double x1, double y1, double x2, double y2, string stroke, double width)
    {
        xml.WriteStartElement("line");
        xml.WriteAttributeString("x1", F(x1));
        xml.WriteAttributeString("y1", F(y1));
        xml.WriteAttributeString("x2", F(x2));
        xml.WriteAttributeString("y2", F(y2));
        xml.WriteAttributeString("stroke", stroke);
        xml.WriteAttributeString("stroke-width", F(width));
        xml.WriteEndElement();
    }

    private static void Text(XmlWriter xml, double x, double y, string text, string anchor, double size = AxisText, string colour = "black", bool rotate = false)
    {
        xml.WriteStartElement("text");
        xml.WriteAttributeString("x", F(x));
        xml.WriteAttributeString("y", F(y));
        xml.WriteAttributeString("text-anchor", anchor);
        xml.WriteAttributeString("font-size", F(size));
        xml.WriteAttributeString("fill", colour);
        if (rotate)
        {
            xml.WriteAttributeString("transform", $"rotate(-90 {F(x)} {F(y)})");
        }

        xml.WriteString(text);
        xml.WriteEndElement();
    }

    private static string F(double v) => Math.Round(v, 2).ToString("0.##", CultureInfo.InvariantCulture);
}
