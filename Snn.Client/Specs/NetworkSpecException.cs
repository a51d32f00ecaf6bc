namespace Snn.Client.Specs;

/// <summary>
/// A network spec file that cannot be read as a NetworkSpec. <see cref="Exception.Message"/> reads
/// <c>FILE:LINE: FIELD: what is wrong</c>, e.g. <c>spec.yaml:12: populations[1].size: expected an integer, found the string 'ten'</c>.
/// </summary>
public sealed class NetworkSpecException : Exception
{
    public NetworkSpecException(string file, int? line, string? field, string problem, Exception? inner = null)
        : base(Format(file, line, field, problem), inner)
    {
        File = file;
        Line = line;
        Field = field;
        Problem = problem;
    }

    /// <summary>The file as it was named to the loader.</summary>
    public string File { get; }

    /// <summary>The 1-based line of the mistake, when it has one.</summary>
    public int? Line { get; }

    /// <summary>The field path in proto names, e.g. <c>projections[0].dense.weights</c>, when the mistake is in a field.</summary>
    public string? Field { get; }

    /// <summary>What is wrong, without the place.</summary>
    public string Problem { get; }

    private static string Format(string file, int? line, string? field, string problem) =>
        $"{file}{(line is { } l ? $":{l}" : "")}: {(string.IsNullOrEmpty(field) ? "" : field + ": ")}{problem}";
}
