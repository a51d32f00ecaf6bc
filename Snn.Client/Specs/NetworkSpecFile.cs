using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Snn.Client.Specs.Internal;
using Snn.Protos.V1;

namespace Snn.Client.Specs;

/// <summary>How a spec file is written.</summary>
public enum NetworkSpecFormat
{
    /// <summary>By the file's extension (<c>.json</c>; <c>.yaml</c>, <c>.yml</c>); otherwise JSON when the text starts with <c>{</c>, else YAML.</summary>
    Auto,
    Json,
    Yaml,
}

/// <summary>
/// A NetworkSpec read from a JSON or YAML file. Both take the shape of protobuf's JSON mapping of
/// <c>snn.v1.NetworkSpec</c> (field names as in network.proto or lowerCamelCase), and both are
/// parsed by Google.Protobuf's <see cref="JsonParser"/> in the end, so there is one schema. Any list
/// of numbers (weights, bias, per-neuron values, sparse pre/post) may instead be
/// <c>{npy: FILE.npy}</c>: the values of a NumPy file, flattened in C order, its path relative to
/// the spec file. A mistake throws <see cref="NetworkSpecException"/> naming file, line and field.
/// </summary>
public sealed partial class NetworkSpecFile
{
    private readonly Dictionary<string, int> _lines;

    private NetworkSpecFile(string fileName, NetworkSpec spec, Dictionary<string, int> lines, List<string> warnings)
    {
        FileName = fileName;
        Spec = spec;
        _lines = lines;
        Warnings = warnings;
    }

    /// <summary>The file as named to <see cref="Load"/> or <see cref="Parse"/>; messages start with it.</summary>
    public string FileName { get; }

    /// <summary>The spec.</summary>
    public NetworkSpec Spec { get; }

    /// <summary>What was read but changed on the way, e.g. float64 .npy values rounded to float32.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>A CreateNetworkRequest for <see cref="Spec"/>.</summary>
    public CreateNetworkRequest ToRequest() => new() { Spec = Spec };

    /// <summary>Reads <paramref name="path"/>; <c>.npy</c> files are found relative to its folder.</summary>
    public static NetworkSpecFile Load(string path, NetworkSpecFormat format = NetworkSpecFormat.Auto)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NetworkSpecException(path, null, null, $"cannot read the file: {e.Message}", e);
        }

        return Parse(text, path, Path.GetDirectoryName(Path.GetFullPath(path)), format);
    }

    /// <summary>
    /// Reads a spec from <paramref name="text"/>. <paramref name="fileName"/> names it in messages (and
    /// picks the format when <paramref name="format"/> is Auto); <c>.npy</c> files are found relative
    /// to <paramref name="baseDirectory"/> (the current folder when null).
    /// </summary>
    public static NetworkSpecFile Parse(string text, string fileName, string? baseDirectory = null, NetworkSpecFormat format = NetworkSpecFormat.Auto)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        if (format == NetworkSpecFormat.Auto)
        {
            string extension = Path.GetExtension(fileName).ToLowerInvariant();
            format = extension switch
            {
                ".json" => NetworkSpecFormat.Json,
                ".yaml" or ".yml" => NetworkSpecFormat.Yaml,
                _ => text.TrimStart().StartsWith('{') ? NetworkSpecFormat.Json : NetworkSpecFormat.Yaml,
            };
        }

        var root = format == NetworkSpecFormat.Json ? JsonSpecReader.Read(text, fileName) : YamlSpecReader.Read(text, fileName);
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var warnings = new List<string>();
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            new SpecSchema(fileName, baseDirectory ?? Directory.GetCurrentDirectory(), lines, warnings)
                .WriteMessage(writer, root, NetworkSpec.Descriptor, "");
        }

        try
        {
            var spec = JsonParser.Default.Parse<NetworkSpec>(Encoding.UTF8.GetString(buffer.WrittenSpan));
            return new NetworkSpecFile(fileName, spec, lines, warnings);
        }
        catch (InvalidProtocolBufferException e)
        {
            // The schema walk checks names and types first, so this is rare (e.g. a value protobuf rejects).
            throw new NetworkSpecException(fileName, null, null, $"not a NetworkSpec: {e.Message}", e);
        }
    }

    /// <summary>
    /// The line of a field, by its path in proto names as the server's messages give it, e.g.
    /// <c>spec.projections[0].dense.weights</c> or <c>populations[1].model</c>. A path below what the
    /// file wrote (an element of a list) gives the line of the nearest field above it; null when not found.
    /// </summary>
    public int? LineOf(string fieldPath)
    {
        ArgumentNullException.ThrowIfNull(fieldPath);
        string path = fieldPath.StartsWith("spec.", StringComparison.Ordinal) ? fieldPath[5..] : fieldPath;
        while (path.Length > 0)
        {
            if (_lines.TryGetValue(path, out int line))
            {
                return line;
            }

            int cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
            if (cut <= 0)
            {
                break;
            }

            path = path[..cut];
        }

        return null;
    }

    /// <summary>
    /// The server's message about this spec with the file and line in front, e.g.
    /// <c>spec.yaml:12: spec.populations[1].model 'x' is unknown; ...</c>, when the message names a
    /// field of the file; otherwise <c>spec.yaml: message</c>.
    /// </summary>
    public string Annotate(string serverMessage)
    {
        ArgumentNullException.ThrowIfNull(serverMessage);
        foreach (Match match in FieldPath().Matches(serverMessage))
        {
            if (LineOf(match.Groups[1].Value) is { } line)
            {
                return $"{FileName}:{line}: {serverMessage}";
            }
        }

        return $"{FileName}: {serverMessage}";
    }

    [GeneratedRegex(@"(?<![\w.])(?:spec\.)?((?:name|populations|projections|dt|clock|instances|realtime_factor)\b(?:\[\d+\])?(?:\.\w[\w-]*(?:\[\d+\])?)*)")]
    private static partial Regex FieldPath();
}
