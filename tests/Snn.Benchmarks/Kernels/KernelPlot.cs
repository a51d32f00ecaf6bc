using System.Globalization;
using System.Net;
using System.Text;

namespace Snn.Benchmarks.Kernels;

/// <summary>
/// Steps per second against population size (log–log), one line per model and one dashed line per
/// copy roofline (by float32 streams per neuron), as a standalone SVG. 64 × 16,384 is drawn as an
/// open marker at 1,048,576 neurons.
/// </summary>
internal static class KernelPlot
{
    private const int Width = 980;
    private const int Height = 620;
    private const int Left = 80;
    private const int Right = 260;
    private const int Top = 40;
    private const int Bottom = 60;

    private static readonly string[] Palette =
    [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
        "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#843c39", "#7b4173",
    ];

    public static string Render(IReadOnlyList<KernelRow> rows)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.AppendLine("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        sb.AppendLine(inv, $"<text x=\"{Left}\" y=\"24\" font-size=\"16\">Kernel steps per second vs population size (median, one core), with the memory-copy roofline</text>");
        if (rows.Count == 0)
        {
            sb.AppendLine("</svg>");
            return sb.ToString();
        }

        var values = rows.SelectMany(r => new[] { r.StepsPerSecond, r.RooflineStepsPerSecond }).Where(v => double.IsFinite(v) && v > 0).ToArray();
        double yMin = Math.Pow(10, Math.Floor(Math.Log10(values.Min())));
        double yMax = Math.Pow(10, Math.Ceiling(Math.Log10(values.Max())));
        double xMin = 10, xMax = 20; // log2 of neurons
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double X(long neurons) => Left + ((Math.Log2(neurons) - xMin) / (xMax - xMin) * plotW);
        double Y(double v) => Top + plotH - ((Math.Log10(v) - Math.Log10(yMin)) / (Math.Log10(yMax) - Math.Log10(yMin)) * plotH);

        // Axes and grid.
        sb.AppendLine(inv, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#333\"/>");
        for (int e = (int)xMin; e <= (int)xMax; e += 2)
        {
            double x = X(1L << e);
            sb.AppendLine(inv, $"<line x1=\"{x:F1}\" y1=\"{Top}\" x2=\"{x:F1}\" y2=\"{Top + plotH}\" stroke=\"#eee\"/>");
            sb.AppendLine(inv, $"<text x=\"{x:F1}\" y=\"{Top + plotH + 18}\" text-anchor=\"middle\">{1L << e:N0}</text>");
        }

        for (double v = yMin; v <= yMax * 1.001; v *= 10)
        {
            double y = Y(v);
            sb.AppendLine(inv, $"<line x1=\"{Left}\" y1=\"{y:F1}\" x2=\"{Left + plotW}\" y2=\"{y:F1}\" stroke=\"#eee\"/>");
            sb.AppendLine(inv, $"<text x=\"{Left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{v:G3}</text>");
        }

        sb.AppendLine(inv, $"<text x=\"{Left + (plotW / 2)}\" y=\"{Height - 18}\" text-anchor=\"middle\">neurons (log scale)</text>");
        sb.AppendLine(inv, $"<text transform=\"translate(20,{Top + (plotH / 2)}) rotate(-90)\" text-anchor=\"middle\">steps per second (log scale)</text>");

        // Rooflines: one dashed line per stream count.
        var roofs = rows.Where(r => r.Shape.Instances == 1 && double.IsFinite(r.CopyMedianNs))
            .GroupBy(r => r.Setup.StreamsPerNeuron)
            .OrderBy(g => g.Key);
        int legend = 0;
        foreach (var g in roofs)
        {
            var points = g.GroupBy(r => r.Shape.Neurons).Select(p => p.First()).OrderBy(r => r.Shape.Neurons)
                .Select(r => string.Create(inv, $"{X(r.Shape.Neurons):F1},{Y(r.RooflineStepsPerSecond):F1}"));
            sb.AppendLine(inv, $"<polyline points=\"{string.Join(' ', points)}\" fill=\"none\" stroke=\"#999\" stroke-width=\"1.5\" stroke-dasharray=\"5,4\"/>");
            double ly = Top + 10 + (legend++ * 16);
            sb.AppendLine(inv, $"<line x1=\"{Width - Right + 16}\" y1=\"{ly:F1}\" x2=\"{Width - Right + 40}\" y2=\"{ly:F1}\" stroke=\"#999\" stroke-width=\"1.5\" stroke-dasharray=\"5,4\"/>");
            sb.AppendLine(inv, $"<text x=\"{Width - Right + 46}\" y=\"{ly + 4:F1}\">copy roofline, {g.Key} streams</text>");
        }

        // Models.
        var models = rows.GroupBy(r => r.Setup.Model).ToArray();
        for (int m = 0; m < models.Length; m++)
        {
            string colour = Palette[m % Palette.Length];
            var single = models[m].Where(r => r.Shape.Instances == 1).OrderBy(r => r.Shape.Neurons).ToArray();
            var points = single.Select(r => string.Create(inv, $"{X(r.Shape.Neurons):F1},{Y(r.StepsPerSecond):F1}"));
            sb.AppendLine(inv, $"<polyline points=\"{string.Join(' ', points)}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>");
            foreach (var r in single)
            {
                sb.AppendLine(inv, $"<circle cx=\"{X(r.Shape.Neurons):F1}\" cy=\"{Y(r.StepsPerSecond):F1}\" r=\"3\" fill=\"{colour}\"><title>{WebUtility.HtmlEncode(r.Setup.Model)} {r.Shape}: {r.StepsPerSecond:N0} steps/s</title></circle>");
            }

            foreach (var r in models[m].Where(r => r.Shape.Instances > 1))
            {
                sb.AppendLine(inv, $"<circle cx=\"{X(r.Shape.Neurons):F1}\" cy=\"{Y(r.StepsPerSecond):F1}\" r=\"5\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"><title>{WebUtility.HtmlEncode(r.Setup.Model)} {r.Shape}: {r.StepsPerSecond:N0} steps/s</title></circle>");
            }

            double ly = Top + 10 + (legend++ * 16);
            sb.AppendLine(inv, $"<line x1=\"{Width - Right + 16}\" y1=\"{ly:F1}\" x2=\"{Width - Right + 40}\" y2=\"{ly:F1}\" stroke=\"{colour}\" stroke-width=\"2\"/>");
            sb.AppendLine(inv, $"<text x=\"{Width - Right + 46}\" y=\"{ly + 4:F1}\">{WebUtility.HtmlEncode(models[m].Key)}</text>");
        }

        double note = Top + 10 + (legend * 16) + 8;
        sb.AppendLine(inv, $"<circle cx=\"{Width - Right + 28}\" cy=\"{note:F1}\" r=\"5\" fill=\"none\" stroke=\"#333\"/>");
        sb.AppendLine(inv, $"<text x=\"{Width - Right + 46}\" y=\"{note + 4:F1}\">64 × 16,384 instances</text>");
        sb.AppendLine("</svg>");
        return sb.ToString();
    }
}
