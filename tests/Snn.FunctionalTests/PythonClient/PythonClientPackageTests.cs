using System.Globalization;
using System.Text.RegularExpressions;
using Snn.FunctionalTests.Api;
using Snn.FunctionalTests.Infrastructure;

namespace Snn.FunctionalTests.PythonClient;

/// <summary>
/// The Python client package (clients/python): installed with pip into a virtual environment over
/// Debian's python3 (grpcio, protobuf, numpy and PyYAML from Debian, nothing downloaded), then its
/// unittest suite runs against this server. A missing Debian package fails with the apt-get command.
/// </summary>
public sealed partial class PythonClientPackageTests(ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    /// <summary>The suite's size when this test was written; fewer means tests were lost or not found.</summary>
    private const int MinimumTests = 56;

    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan SuiteTimeout = TimeSpan.FromMinutes(5);

    private readonly string _work = Directory.CreateTempSubdirectory("snn-pyclient-").FullName;

    [Fact]
    public async Task Package_installs_with_pip_and_its_tests_pass_against_a_real_server()
    {
        Python.RequireModules(("grpc", "python3-grpcio"), ("google.protobuf", "python3-protobuf"), ("numpy", "python3-numpy"),
            ("yaml", "python3-yaml"), ("venv", "python3-venv"), ("ensurepip", "python3-venv"), ("setuptools", "python3-setuptools"),
            ("wheel", "python3-wheel"));
        Assert.True(File.Exists("/usr/bin/protoc"), $"protoc is missing; install it: {Python.InstallHint}");

        // A copy of the package, so the build writes nothing into the repository; SNN_PROTOS tells
        // its setup.py where the .proto files are (in a clone it finds ../../Snn.Protos itself).
        var source = Path.Combine(_work, "python");
        CopyPackage(RepositoryFiles.Resolve("clients", "python"), source);
        var env = new Dictionary<string, string> { ["SNN_PROTOS"] = RepositoryFiles.Resolve("Snn.Protos"), ["PIP_NO_INPUT"] = "1" };

        var venv = Path.Combine(_work, "venv");
        Step(Python.Interpreter, ["-m", "venv", "--system-site-packages", venv], InstallTimeout, env, "python3 -m venv");
        var python = Path.Combine(venv, "bin", "python");
        Step(python, ["-m", "pip", "install", "--no-build-isolation", "--no-index", source], InstallTimeout, env, "pip install");

        var tests = RepositoryFiles.Resolve("clients", "python", "tests");
        env["SNN_SERVER"] = server.Address.ToString().TrimEnd('/');
        env["SNN_REFCASES"] = RepositoryFiles.Resolve("tests", "data", "refcases");
        env["SNN_NIR_FLAVORS"] = RepositoryFiles.Resolve("tests", "data", "nir", "flavors");
        var (code, stdout, stderr) = Python.RunProcess(python, ["-m", "unittest", "discover", "-v", "-s", tests, "-t", tests],
            SuiteTimeout, _work, env);
        var output = $"stdout:\n{stdout}\nstderr:\n{stderr}";
        Assert.True(code == 0, $"the Python client's tests failed (exit {code}).\n{output}");

        // unittest reports on stderr: "Ran N tests in ...", then "OK" (with "skipped=" when any were).
        var ran = RanLine().Match(stderr);
        Assert.True(ran.Success, $"no 'Ran N tests' line.\n{output}");
        var count = int.Parse(ran.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(count >= MinimumTests, $"only {count} Python tests ran, expected at least {MinimumTests}.\n{output}");
        Assert.DoesNotContain("skipped", stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\nOK", stderr, StringComparison.Ordinal);

        // The suite's own networks are gone: its context managers cleaned up.
        using var client = server.CreateClient();
        var left = (await client.ListNetworksAsync().WaitAsync(TimeSpan.FromSeconds(30))).Networks.Select(n => n.Spec.Name).ToList();
        Assert.True(left.Count == 0, $"the Python tests left networks behind: {string.Join(", ", left)}");
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private void Step(string program, IReadOnlyList<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string> env, string what)
    {
        var (code, stdout, stderr) = Python.RunProcess(program, args, timeout, _work, env);
        Assert.True(code == 0, $"{what} failed (exit {code}).\nstdout:\n{stdout}\nstderr:\n{stderr}");
    }

    private static void CopyPackage(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            var top = relative.Split(Path.DirectorySeparatorChar)[0];
            if (top is "build" || top.EndsWith(".egg-info", StringComparison.Ordinal) || relative.Contains("__pycache__", StringComparison.Ordinal)
                || relative.StartsWith(Path.Combine("snnservice", "_proto"), StringComparison.Ordinal))
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, relative))!);
            File.Copy(file, Path.Combine(to, relative));
        }
    }

    [GeneratedRegex(@"^Ran (\d+) tests? in", RegexOptions.Multiline)]
    private static partial Regex RanLine();
}
