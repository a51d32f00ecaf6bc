using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Snn.FunctionalTests.Api;

/// <summary>
/// The README as a document: it starts with the two set-up commands, every relative link in it (and in
/// docs/performance.md, where its figures moved) names a file or heading that exists, and its
/// architecture picture is well-formed SVG with readable text.
/// </summary>
public sealed partial class ReadmeDocumentTests
{
    /// <summary>The Markdown files whose relative links are checked.</summary>
    public static TheoryData<string> Documents => new() { "README.md", "docs/performance.md" };

    [Fact]
    public void The_readme_starts_with_the_run_and_test_commands()
    {
        var blocks = CodeBlocks(Lines("README.md")).Take(2).ToList();
        Assert.Equal(["dotnet run -c Release --project Snn.Server", "dotnet test SnnService.sln"], blocks);
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void Every_relative_link_names_an_existing_file_or_heading(string document)
    {
        string file = RepositoryFiles.Resolve(document.Split('/'));
        string folder = Path.GetDirectoryName(file)!;
        var broken = new List<string>();
        int links = 0;
        foreach (var (line, target) in Links(Lines(document)))
        {
            links++;
            int hash = target.IndexOf('#', StringComparison.Ordinal);
            string path = hash < 0 ? target : target[..hash];
            string? anchor = hash < 0 ? null : target[(hash + 1)..];
            string resolved = path.Length == 0 ? file : Path.GetFullPath(Path.Combine(folder, Uri.UnescapeDataString(path)));
            if (path.Length > 0 && !File.Exists(resolved) && !Directory.Exists(resolved))
            {
                broken.Add($"{document}:{line}: ({target}): no file or folder {Path.GetRelativePath(RepositoryFiles.Root, resolved)}");
            }
            else if (anchor is not null && !(resolved.EndsWith(".md", StringComparison.Ordinal) && Anchors(File.ReadAllLines(resolved)).Contains(anchor)))
            {
                broken.Add($"{document}:{line}: ({target}): no heading with the anchor #{anchor}");
            }
        }

        Assert.True(links > 0, $"{document} has no relative links to check");
        Assert.True(broken.Count == 0, string.Join("\n", broken));
    }

    [Fact]
    public void The_architecture_picture_is_well_formed_svg_with_text()
    {
        string path = RepositoryFiles.Resolve("docs", "architecture.svg");
        var svg = XDocument.Load(path).Root!; // throws, naming line and position, on malformed XML
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", svg.Name);
        Assert.NotNull(svg.Attribute("viewBox"));
        string text = string.Join(" ", svg.Descendants(ns + "text").Select(t => t.Value));
        foreach (var name in new[] { "Snn.Client", "snnservice", "snn CLI", "dashboard", "ErrorInterceptor", "SnnService", "RunHandler", "WatchHandler", "StepLoop", "CPU", "CUDA", "SQLite", "snapshots" })
        {
            Assert.Contains(name, text, StringComparison.Ordinal);
        }

        Assert.Contains("docs/architecture.svg", File.ReadAllText(RepositoryFiles.ReadmePath), StringComparison.Ordinal);
    }

    private static string[] Lines(string document) => File.ReadAllLines(RepositoryFiles.Resolve(document.Split('/')));

    /// <summary>The contents of the fenced code blocks, in order.</summary>
    private static IEnumerable<string> CodeBlocks(string[] lines)
    {
        StringBuilder? block = null;
        foreach (var line in lines)
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                if (block is null)
                {
                    block = new StringBuilder();
                }
                else
                {
                    yield return block.ToString().TrimEnd('\n');
                    block = null;
                }
            }
            else
            {
                block?.Append(line).Append('\n');
            }
        }
    }

    /// <summary>Relative link targets outside code (fenced blocks and inline code), with their 1-based line numbers.</summary>
    private static IEnumerable<(int Line, string Target)> Links(string[] lines)
    {
        bool fenced = false;
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
                continue;
            }

            if (fenced)
            {
                continue;
            }

            string prose = InlineCode().Replace(lines[i], "");
            foreach (Match link in LinkTarget().Matches(prose))
            {
                string target = link.Groups[1].Value;
                if (!target.Contains("://", StringComparison.Ordinal) && !target.StartsWith("mailto:", StringComparison.Ordinal))
                {
                    yield return (i + 1, target);
                }
            }
        }
    }

    /// <summary>The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered.</summary>
    private static HashSet<string> Anchors(string[] lines)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        bool fenced = false;
        foreach (var line in lines)
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
                continue;
            }

            var heading = Heading().Match(line);
            if (fenced || !heading.Success)
            {
                continue;
            }

            var slug = new StringBuilder();
            foreach (char c in heading.Groups[1].Value.Trim().ToLowerInvariant())
            {
                if (char.IsLetterOrDigit(c) || c is '-' or '_')
                {
                    slug.Append(c);
                }
                else if (c == ' ')
                {
                    slug.Append('-');
                }
            }

            string anchor = slug.ToString();
            int count = seen.GetValueOrDefault(anchor);
            seen[anchor] = count + 1;
            anchors.Add(count == 0 ? anchor : $"{anchor}-{count}");
        }

        return anchors;
    }

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex LinkTarget();

    [GeneratedRegex("`[^`]*`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"^#{1,6}\s+(.+?)\s*#*$")]
    private static partial Regex Heading();
}
