using System.Diagnostics;

namespace Snn.Client.Tests.Specs;

/// <summary>Runs Debian's python3 with NumPy (python3-numpy, installed by .ci/run) for files NumPy itself writes and reads.</summary>
internal static class NumPy
{
    private const string Interpreter = "/usr/bin/python3";

    /// <summary>Runs <paramref name="script"/> (after <c>import numpy as np</c>) in <paramref name="directory"/>; returns its stdout.</summary>
    public static string Run(string directory, string script)
    {
        Assert.True(File.Exists(Interpreter), $"{Interpreter} is missing; install it: sudo apt-get install python3 python3-numpy");
        var start = new ProcessStartInfo(Interpreter)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import numpy as np\n" + script);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60_000), "python3 did not finish within 60 s");
        Assert.True(process.ExitCode == 0,
            $"python3 failed (exit {process.ExitCode}); is python3-numpy installed (sudo apt-get install python3-numpy)?\n{stderr.Result}");
        return stdout.Result;
    }
}
