using System.Text.Json;

namespace Snn.Server.Tests.Nir;

/// <summary>
/// The NIR files the reader's tests read, written once per test class by Debian's python3-h5py
/// (write_nir_files.py, one process for all of them), with manifest.json saying what each must read as.
/// A missing h5py fails every test with the package to install; it never skips.
/// </summary>
public sealed class NirFiles : IDisposable
{
    public NirFiles()
    {
        Directory = Path.Combine(Path.GetTempPath(), "snn-nir-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        NirPython.Run("write_nir_files.py", Directory);
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
