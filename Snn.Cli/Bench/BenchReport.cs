using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Snn.Cli.Bench;

/// <summary>The figures of every repetition of every suite, and the markdown table made from them.</summary>
internal sealed class BenchReport
{
    private readonly List<(string Suite, string Figure, string Unit)> _order = [];
    private readonly Dictionary<(string Suite, string Figure), List<double>> _values = [];
    private readonly Dictionary<string, string> _descriptions = [];
    private readonly List<string> _notes = [];

    public BenchReport(string command, BenchSettings settings, string server)
    {
        Command = command;
        Settings = settings;
        Server = server;
        Started = DateTime.UtcNow;
        LoadAtStart = MachineInfo.LoadAverage();
    }

    public string Command { get; }

    public BenchSettings Settings { get; }

    public string Server { get; }

    public DateTime Started { get; }

    public string LoadAtStart { get; }

    public void Describe(string suite, string description) => _descriptions[suite] = description;

    public void Note(string note) => _notes.Add(note);

    public void Add(string suite, Figure figure)
    {
        var key = (suite, figure.Name);
        if (!_values.TryGetValue(key, out var list))
        {
            _values[key] = list = [];
            _order.Add((suite, figure.Name, figure.Unit));
        }

        list.Add(figure.Value);
    }

    public IEnumerable<(string Suite, string Figure, string Unit, IReadOnlyList<double> Values)> Rows =>
        _order.Select(o => (o.Suite, o.Figure, o.Unit, (IReadOnlyList<double>)_values[(o.Suite, o.Figure)]));

    /// <summary>"p50  123.4 µs  (min–max 110.2–140.1, 5 runs)".</summary>
    public static string Line(string figure, string unit, IReadOnlyList<double> values) =>
        $"{figure}: {Format(Stat.Median(values), unit)} {unit} (min–max {Format(values.Min(), unit)}–{Format(values.Max(), unit)}, {values.Count} run{(values.Count == 1 ? "" : "s")})";

    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("# snn bench");
        md.AppendLine();
        md.AppendLine(c, $"- command: `{Command}`");
        md.AppendLine(c, $"- date: {Started:yyyy-MM-dd HH:mm} UTC, {(DateTime.UtcNow - Started).TotalMinutes:0.0} min");
        md.AppendLine(c, $"- machine: {MachineInfo.Describe()}");
        md.AppendLine(c, $"- load average (1, 5, 15 min) at start: {LoadAtStart}; at end: {MachineInfo.LoadAverage()}");
        md.AppendLine(c, $"- server: {Server}; client: snn ({MachineInfo.BuildConfiguration} build), separate processes on loopback");
        md.AppendLine(c, $"- figures: median of {Settings.Repeat} repetition(s), min–max across them{(Settings.Quick ? "; quick mode (short runs, smoke use only)" : "")}");
        foreach (var note in _notes)
        {
            md.AppendLine(c, $"- {note}");
        }

        md.AppendLine();
        md.AppendLine("| suite | figure | median | min – max | unit |");
        md.AppendLine("|---|---|---:|---:|---|");
        foreach (var (suite, figure, unit, values) in Rows)
        {
            md.AppendLine(c, $"| {suite} | {figure} | {Format(Stat.Median(values), unit)} | {Format(values.Min(), unit)} – {Format(values.Max(), unit)} | {unit} |");
        }

        md.AppendLine();
        md.AppendLine("Workloads:");
        md.AppendLine();
        foreach (var (suite, description) in _descriptions)
        {
            md.AppendLine(c, $"- **{suite}**: {description}");
        }

        return md.ToString();
    }

    public static string Format(double value, string unit)
    {
        if (double.IsNaN(value))
        {
            return "n/a";
        }

        var c = CultureInfo.InvariantCulture;
        if (unit == "µs")
        {
            return value.ToString(Math.Abs(value) >= 1000 ? "N0" : "0.0", c);
        }

        if (Math.Abs(value) >= 1000)
        {
            return value.ToString("N0", c);
        }

        return value == Math.Floor(value) ? value.ToString("0", c) : value.ToString("0.##", c);
    }
}

/// <summary>The machine the figures come from.</summary>
internal static class MachineInfo
{
/// <summary>Debug or Release: the configuration snn (and so the server next to it) was built in.</summary>
    public static string BuildConfiguration { get; } =
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    public static string Describe()
    {
        var c = CultureInfo.InvariantCulture;
        var cpu = ReadField("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        var memKb = ReadField("/proc/meminfo", "MemTotal")?.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        var memory = long.TryParse(memKb, NumberStyles.None, c, out var kb) ? string.Create(c, $", {kb / 1024.0 / 1024.0:0.0} GiB") : string.Empty;
        return string.Create(c, $"{Environment.ProcessorCount} cores, {cpu}{memory}, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}");
    }

    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return parts.Length >= 3 ? $"{parts[0]}, {parts[1]}, {parts[2]}" : "n/a";
        }
        catch (IOException)
        {
            return "n/a";
        }
        catch (UnauthorizedAccessException)
        {
            return "n/a";
        }
    }

    private static string? ReadField(string path, string field)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && line[..colon].Trim() == field)
                {
                    return line[(colon + 1)..].Trim();
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }
}
