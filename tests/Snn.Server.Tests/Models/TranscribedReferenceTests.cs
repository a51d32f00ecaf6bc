using System.Diagnostics;

namespace Snn.Server.Tests.Models;

/// <summary>
/// The transcribed traces (tests/data/transcribed) are what transcribed_reference.py writes: the
/// script is run with Debian's python3-numpy into a temporary folder and every file must come back
/// byte for byte, so the golden data cannot drift from the transcription it claims to be.
/// </summary>
public sealed class TranscribedReferenceTests
{
    private const string Interpreter = "/usr/bin/python3";

    [Fact]
    public async Task The_committed_traces_are_what_the_transcription_writes()
    {
        Assert.True(File.Exists(Interpreter), $"{Interpreter} is missing; install python3-numpy (.ci/run installs it on CI)");
        string dir = Path.Combine(Path.GetTempPath(), "snn-transcribed-" + Guid.NewGuid().ToString("N"));
        try
        {
            var psi = new ProcessStartInfo(Interpreter) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Models", "transcribed_reference.py"));
            psi.ArgumentList.Add(dir);
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("transcribed_reference.py ran for over 120 s");
            }

            Assert.True(process.ExitCode == 0, $"transcribed_reference.py failed ({process.ExitCode}): {await stderr} {await stdout}");
            var committed = Directory.GetFiles(RefCase.TranscribedDirectory, "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
            var written = Directory.GetFiles(dir, "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(written, committed);
            foreach (var name in written)
            {
                Assert.True(File.ReadAllBytes(Path.Combine(dir, name!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(RefCase.TranscribedDirectory, name!))),
                    $"{name}: tests/data/transcribed differs from what transcribed_reference.py writes; regenerate it");
            }
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
