using Snn.Client;
using Snn.Conformance;

// snn-conformance --cases DIR --out DIR [--server URL] [--tol 1e-5]
// snn-conformance gpu-check --data DIR --out DIR [--backend cuda] [--quick] [--only SECTION,...]   (see GpuCheck)
// Replays every reference case in DIR through a server's public API and writes candidate traces to
// the out directory. Without --server it starts a server in-process on a free loopback port.
if (args.Length > 0 && args[0] == "gpu-check")
{
    return await GpuCheck.MainAsync(args[1..], Console.Out, Console.Error);
}

string? cases = null, outDir = null, server = null;
double tolerance = 1e-5;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--cases" when i + 1 < args.Length: cases = args[++i]; break;
        case "--out" when i + 1 < args.Length: outDir = args[++i]; break;
        case "--server" when i + 1 < args.Length: server = args[++i]; break;
        case "--tol" when i + 1 < args.Length: tolerance = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'");
            Console.Error.WriteLine("usage: Snn.Conformance --cases DIR --out DIR [--server URL] [--tol 1e-5]");
            return 2;
    }
}

if (cases is null || outDir is null)
{
    Console.Error.WriteLine("usage: Snn.Conformance --cases DIR --out DIR [--server URL] [--tol 1e-5]");
    return 2;
}

return await ConformanceProgram.RunAsync(cases, outDir, server is null ? null : new Uri(server), tolerance, Console.Out);
