using Snn.FunctionalTests.Infrastructure;

namespace Snn.FunctionalTests.Nir;

/// <summary>
/// The .nir files the NIR API tests send (write_nir_files.py, one python3-h5py process per test class):
/// <c>feedforward</c> (Input(3) → Affine fc, every weight 20 → LIF lif(2) → Output) and one malformed file
/// per fault. A missing h5py fails the tests with the package to install; it never skips.
/// </summary>
public sealed class NirTestFiles : IDisposable
{
    public NirTestFiles()
    {
        Directory = TestData.NewDirectory();
        Python.RequireModules(("h5py", "python3-h5py"), ("numpy", "python3-numpy"));
        var script = Path.Combine(Python.OutputDir, "Nir", "write_nir_files.py");
        var (code, stdout, stderr) = Python.Run([script, Directory], TimeSpan.FromSeconds(60));
        if (code != 0)
        {
            throw new InvalidOperationException($"{script} failed ({code}): {stderr.Trim()} {stdout.Trim()}");
        }
    }

    public string Directory { get; }

    public string PathOf(string name) => Path.Combine(Directory, name + ".nir");

    public byte[] Bytes(string name) => File.ReadAllBytes(PathOf(name));

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
