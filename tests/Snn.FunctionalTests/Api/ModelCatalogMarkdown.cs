using System.Text;
using Snn.Server.Models;

namespace Snn.FunctionalTests.Api;

/// <summary>
/// Renders the model catalogue as the README's "Models" section: a table of the models, then one
/// compact parameter table per model (kind, default, range or choices, per neuron).
/// </summary>
internal static class ModelCatalogMarkdown
{
    public const string BeginMarker = "<!-- models:begin -->";
    public const string EndMarker = "<!-- models:end -->";

    /// <summary>The text between the markers: starts and ends with a blank line so the markdown stays separate from the comments.</summary>
    public static string Render(IEnumerable<NeuronModel> models)
    {
        var all = models.ToList();
        var md = new StringBuilder();
        md.Append("\n\n");
        md.Append("Generated from `Snn.Server/Models` (the catalogue `GetServerInfo` serves); `ModelCatalogTests` fails when it is out of date. ");
        md.Append("Parameters take the libraries' constructor names; a parameter not given takes the default; a per-neuron parameter is a scalar or one value per neuron.\n\n");
        md.Append("| model | reproduces | state variables | parameters |\n");
        md.Append("|---|---|---|---|\n");
        foreach (var m in all)
        {
            md.Append("| ").Append(Code(m.Name))
                .Append(" | ").Append(LibraryClass(m))
                .Append(" | ").Append(m.StateVariables.Count == 0 ? "none" : string.Join(", ", m.StateVariables.Select(Code)))
                .Append(" | ").Append(m.Parameters.Count == 0 ? "none" : m.Parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Append(" |\n");
        }

        foreach (var m in all.Where(m => m.Parameters.Count > 0))
        {
            md.Append('\n');
            md.Append("### ").Append(Code(m.Name)).Append("\n\n");
            md.Append(Cell(m.Description)).Append("\n\n");
            md.Append("| parameter | kind | default | range or choices | per neuron |\n");
            md.Append("|---|---|---|---|---|\n");
            foreach (var p in m.Parameters)
            {
                md.Append("| ").Append(Code(p.Name))
                    .Append(" | ").Append(Kind(p.Kind))
                    .Append(" | ").Append(Cell(p.Default))
                    .Append(" | ").Append(Allowed(p))
                    .Append(" | ").Append(p.PerNeuron ? "yes" : "no")
                    .Append(" |\n");
            }
        }

        md.Append('\n');
        return md.ToString();
    }

    private static string Kind(ParamKind kind) => kind switch
    {
        ParamKind.Number => "number",
        ParamKind.Choice => "choice",
        _ => "flag",
    };

    private static string Allowed(ParameterDescriptor p) => p.Kind switch
    {
        ParamKind.Choice => string.Join(", ", p.Choices.Select(Code)),
        ParamKind.Flag => "true, false",
        _ => Cell(p.Range),
    };

    private static string LibraryClass(NeuronModel m) =>
        m.LibraryClass.StartsWith('(') ? Cell(m.LibraryClass.Trim('(', ')')) : Code(m.LibraryClass);

    private static string Code(string text) => "`" + text.Replace("|", "\\|", StringComparison.Ordinal) + "`";

    /// <summary>Plain text in markdown: pipes and asterisks escaped, angle brackets kept from being read as HTML, on one line.</summary>
    private static string Cell(string text) => text
        .Replace("|", "\\|", StringComparison.Ordinal)
        .Replace("*", "\\*", StringComparison.Ordinal)
        .Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace("\n", " ", StringComparison.Ordinal);
}
