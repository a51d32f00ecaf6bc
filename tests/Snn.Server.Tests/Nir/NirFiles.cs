using System.Diagnostics;
using System.Text.Json;

namespace Snn.Server.Tests.Nir;

/// <summary>
/// The NIR files the reader's tests read, written once per test class by Debian's python3-h5py
/// (write_nir_files.py, one process for all of them), with manifest.json saying what each must read as.
/// A missing h5py fails every test with the package to install; it never skips.
/// </summary>
public sealed class NirFiles : IDisposable
{
    private const string Interpreter = "/usr/bin/python3";

    private const string InstallHint =
        "install python3-h5py (apt-get install -y python3-h5py; .ci/run installs python3-h5py on CI)";

    public NirFiles()
    {
        Directory = Path.Combine(Path.GetTempPath(), "snn-nir-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        if (!File.Exists(Interpreter))
            throw new InvalidOperationException($"{Interpreter} is missing; {InstallHint}");

        var script = Path.Combine(AppContext.BaseDirectory, "Nir", "write_nir_files.py");
        var psi = new ProcessStartInfo(Interpreter) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(Directory);
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
            throw new InvalidOperationException($"{Interpreter} cannot write the NIR test files ({err}); {InstallHint}");
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{script} failed ({process.ExitCode}): {err} {stdout.Result}");

        Manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "manifest.json")));
    }

    public string Directory { get; }

    /// <summary>File name (without .nir) → what it must read as.</summary>
    public JsonDocument Manifest { get; }

    public string PathOf(string name) => Path.Combine(Directory, name + ".nir");

    public JsonElement Expected(string name) =>
        Manifest.RootElement.TryGetProperty(name, out var e) ? e : throw new InvalidOperationException($"manifest.json has no entry '{name}'");

    public void Dispose()
    {
        Manifest.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
