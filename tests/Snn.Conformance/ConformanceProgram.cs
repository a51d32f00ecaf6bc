using Snn.Client;
using Snn.Server;

namespace Snn.Conformance;

/// <summary>The runner as a callable unit: used by the console entry point and by the tests.</summary>
public static class ConformanceProgram
{
    /// <summary>
    /// Runs every case of <paramref name="casesDir"/> against <paramref name="server"/> (or an
    /// in-process server on a free loopback port), writes candidates to <paramref name="outDir"/>,
    /// compares each with its reference and prints one line per case. Returns 0 when every case that
    /// ran passed within <paramref name="tolerance"/>, 1 otherwise.
    /// </summary>
    public static async Task<int> RunAsync(string casesDir, string outDir, Uri? server, double tolerance, TextWriter log,
        CancellationToken cancellationToken = default) =>
        (await RunCasesAsync(casesDir, outDir, server, tolerance, log, [], cancellationToken)).Failed == 0 ? 0 : 1;

    /// <summary>
    /// As <see cref="RunAsync"/>, with more arguments for the in-process server (e.g.
    /// <c>--Snn:Engine:Backend=cuda</c>); returns the counts.
    /// </summary>
    public static async Task<(int Passed, int Failed, int BitExact)> RunCasesAsync(string casesDir, string outDir, Uri? server, double tolerance,
        TextWriter log, string[] serverArgs, CancellationToken cancellationToken = default)
    {
        // An in-process server gets its own empty data directory: it must not restore, or lock, anyone else's.
        var data = server is null ? Directory.CreateTempSubdirectory("snn-conformance-") : null;
        await using var host = server is null
            ? await ServerHost.StartAsync(["--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "", "--Snn:DataDirectory", data!.FullName, .. serverArgs], cancellationToken)
            : null;
        var address = server ?? host!.Address;
        log.WriteLine($"server {address}");
        using var client = new SnnClient(address);
        var runner = new CaseRunner(client, log);
        var results = await runner.RunDirectoryAsync(casesDir, outDir, cancellationToken);
        int failed = results.Count(r => r.Outcome == CaseOutcome.Error), ran = failed, bitExact = 0;
        foreach (var r in results.Where(r => r.Ran))
        {
            ran++;
            var cmp = CaseComparer.Compare(r.File, Path.Combine(outDir, Path.GetFileName(r.File)), tolerance);
            bool ok = cmp.Passes(tolerance);
            failed += ok ? 0 : 1;
            bitExact += cmp.BitExact ? 1 : 0;
            log.WriteLine($"{(ok ? "PASS" : "FAIL")}  {r.Case,-44} spikes mismatched {cmp.SpikeMismatches}, max state error {cmp.MaxStateError:G3}{(cmp.BitExact ? " (bit-exact)" : "")}");
            foreach (var p in cmp.Problems)
            {
                log.WriteLine("      " + p);
            }
        }

        log.WriteLine($"conformance: {ran - failed} passed, {failed} failed, {results.Count - ran} skipped");
        return (ran - failed, failed, bitExact);
    }
}
