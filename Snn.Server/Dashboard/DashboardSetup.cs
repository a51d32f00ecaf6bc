
namespace Snn.Server.Dashboard;

/// <summary>
/// The dashboard: a page at <c>/</c> and its script and style under <c>/dashboard/</c>, plain files
/// embedded in this assembly (wwwroot/ here), so <c>dotnet run</c>, a published server and the tests
/// serve the same bytes without a content folder. The page itself holds no data; everything it shows
/// comes from the APIs it calls with the user's key (JSON API, Watch over gRPC-Web, /metrics).
/// </summary>
internal static class DashboardSetup
{
    private const string Prefix = "dashboard/";

    public static WebApplication MapSnnDashboard(this WebApplication app)
    {
        var files = Load();
        var index = files["index.html"];
        app.MapGet("/", () => Serve(index));
        app.MapGet("/dashboard/{file}", (string file) => files.TryGetValue(file, out var content) ? Serve(content) : Results.NotFound());
        return app;
    }

    private static IResult Serve((byte[] Bytes, string ContentType) file) =>
        Results.Bytes(file.Bytes, file.ContentType);

    private static Dictionary<string, (byte[] Bytes, string ContentType)> Load()
    {
        var assembly = typeof(DashboardSetup).Assembly;
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            string file = name[Prefix.Length..];
            files[file] = (buffer.ToArray(), ContentType(file));
        }

        return files.ContainsKey("index.html")
            ? files
            : throw new InvalidOperationException($"the dashboard's index.html is not embedded in {assembly.GetName().Name}");
    }

    private static string ContentType(string file) => Path.GetExtension(file) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    };
}
