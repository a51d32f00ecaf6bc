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
        "apt-get install -y python3-grpcio python3-protobuf protobuf-compiler grpc-proto python3-numpy python3-yaml python3-venv python3-pip python3-setuptools python3-wheel";

    /// <summary>Folder of files copied next to the test assembly (interop/, protos/, data/).</summary>
    public static string OutputDir => AppContext.BaseDirectory;

    public static void RequireGrpc()
    {
        RequireModules(("grpc", "python3-grpcio"), ("google.protobuf", "python3-protobuf"));
        Assert.True(File.Exists("/usr/bin/protoc"), $"protoc is missing; install it: {InstallHint}");
    }

    /// <summary>
    /// Fails, naming the interpreter and what it lacks, unless <see cref="Interpreter"/> imports every
    /// module (each given with the Debian package that provides it).
    /// </summary>
    public static void RequireModules(params (string Module, string Package)[] modules)
    {
        var probe = "import importlib, sys\nfor m in sys.argv[1:]:\n    try:\n        importlib.import_module(m)\n"
            + "    except ImportError as e:\n        print(m, '|', e)";
        var (code, stdout, err) = Run(["-c", probe, .. modules.Select(m => m.Module)], TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"{Interpreter} could not check its modules ({code}): {err.Trim()}");
        var missing = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(" | ", 2))
            .Select(parts => (Module: parts[0], Error: parts.Length > 1 ? parts[1] : ""))
            .ToList();
        Assert.True(missing.Count == 0,
            $"{Interpreter} lacks {string.Join(", ", missing.Select(m => $"the module {m.Module} ({m.Error})"))}; install "
            + string.Join(" ", modules.Where(m => missing.Any(x => x.Module == m.Module)).Select(m => m.Package).Distinct())
            + $" with apt-get (CI's .ci/run does this: {InstallHint})");
    }

    /// <summary>Runs python with <paramref name="args"/>; kills it after <paramref name="timeout"/>.</summary>
    public static (int ExitCode, string StdOut, string StdErr) Run(IReadOnlyList<string> args, TimeSpan timeout)
    {
        Assert.True(File.Exists(Interpreter), $"{Interpreter} is missing; install it: {InstallHint}");
        return RunProcess(Interpreter, args, timeout, OutputDir, new Dictionary<string, string>());
    }

    /// <summary>
    /// Runs <paramref name="program"/> (a python of a virtual environment, say) in <paramref name="workingDirectory"/>
    /// with extra <paramref name="environment"/>; kills it after <paramref name="timeout"/>.
    /// </summary>
    public static (int ExitCode, string StdOut, string StdErr) RunProcess(string program, IReadOnlyList<string> args,
        TimeSpan timeout, string workingDirectory, IReadOnlyDictionary<string, string> environment)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var (key, value) in environment)
        {
            psi.Environment[key] = value;
        }

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
