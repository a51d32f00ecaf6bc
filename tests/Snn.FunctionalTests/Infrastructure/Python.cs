using System.Diagnostics;

namespace Snn.FunctionalTests.Infrastructure;

/// <summary>
/// Runs Debian's python3 (with python3-grpcio) as an independent gRPC peer. A missing package is a
/// failure with the install command, never a skip: the interop proof is part of the suite.
/// </summary>
public static class Python
{
    public const string Interpreter = "/usr/bin/python3";

    public const string InstallHint =
        "apt-get install -y python3-grpcio python3-protobuf protobuf-compiler grpc-proto (CI's .ci/run does this)";

    /// <summary>Folder of files copied next to the test assembly (interop/, protos/, data/).</summary>
    public static string OutputDir => AppContext.BaseDirectory;

    public static void RequireGrpc()
    {
        var (code, _, err) = Run(["-c", "import grpc, google.protobuf"], TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"{Interpreter} cannot import grpc ({err.Trim()}); install it: {InstallHint}");
        Assert.True(File.Exists("/usr/bin/protoc"), $"protoc is missing; install it: {InstallHint}");
    }

    /// <summary>Runs python with <paramref name="args"/>; kills it after <paramref name="timeout"/>.</summary>
    public static (int ExitCode, string StdOut, string StdErr) Run(IReadOnlyList<string> args, TimeSpan timeout)
    {
        Assert.True(File.Exists(Interpreter), $"{Interpreter} is missing; install it: {InstallHint}");
        var psi = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = OutputDir,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, stdout.Result, stderr.Result + $"\n(killed after {timeout.TotalSeconds} s)");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
