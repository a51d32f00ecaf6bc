namespace Snn.FunctionalTests.Infrastructure;

/// <summary>
/// A fresh data directory per in-process server: a server locks its data directory and restores every
/// network stored there, so servers of different tests must never share one. Removed at process exit.
/// </summary>
public static class TestData
{
    private static readonly string s_root = Directory.CreateTempSubdirectory("snn-tests-").FullName;

    static TestData() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        try
        {
            Directory.Delete(s_root, recursive: true);
        }
        catch (IOException)
        {
            // A server still holds a file; the OS's temp cleaning takes it.
        }
    };

    /// <summary>A new, empty directory.</summary>
    public static string NewDirectory() => Directory.CreateDirectory(Path.Combine(s_root, Guid.NewGuid().ToString("N"))).FullName;

    /// <summary>The switch that gives a server a new, empty data directory.</summary>
    public static string[] Args() => ["--Snn:DataDirectory", NewDirectory()];
}
