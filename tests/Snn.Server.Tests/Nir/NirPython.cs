using System.Diagnostics;

namespace Snn.Server.Tests.Nir;

/// <summary>
/// Runs the NIR tests' Python scripts (Nir/*.py) with Debian's python3-h5py. A missing interpreter or h5py
/// fails the test with the package to install (the scripts exit 3 when h5py is missing); it never skips.
/// </summary>
public static class NirPython
{
    private const string Interpreter = "/usr/bin/python3";

    private const string InstallHint =
        "install python3-h5py (apt-get install -y python3-h5py; .ci/run installs python3-h5py on CI)";

    /// <summary>Runs Nir/<paramref name="script"/> with the arguments and returns its standard output.</summary>
    public static string Run(string script, params string[] arguments)
    {
        if (!File.Exists(Interpreter))
            throw new InvalidOperationException($"{Interpreter} is missing; {InstallHint}");

        var path = Path.Combine(AppContext.BaseDirectory, "Nir", script);
        var psi = new ProcessStartInfo(Interpreter) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(path);
        foreach (var argument in arguments)
            psi.ArgumentList.Add(argument);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{script} ran for over 60 s");
        }

        var err = stderr.Result.Trim();
        if (process.ExitCode == 3)
            throw new InvalidOperationException($"{Interpreter} cannot run {script} ({err}); {InstallHint}");
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{script} failed ({process.ExitCode}): {err} {stdout.Result}");
        return stdout.Result;
    }
}
