using Snn.Client;
using Snn.Conformance;

// snn-conformance --cases DIR --out DIR [--server URL] [--tol 1e-5]
// snn-conformance gpu-check --data DIR --out DIR [--backend cuda] [--quick]   (see GpuCheck)
// Replays every reference case in DIR through a server's public API and writes candidate traces to
// the out directory. Without --server it starts a server in-process on a free loopback port.
if (args.Length > 0 && args[0] == "gpu-check")
{
    string data = "data", output = "gpu-check-out", backend = "cuda";
    bool quick = false;
    for (int i = 1; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--data" when i + 1 < args.Length: data = args[++i]; break;
            case "--out" when i + 1 < args.Length: output = args[++i]; break;
            case "--backend" when i + 1 < args.Length: backend = args[++i]; break;
            case "--quick": quick = true; break;
            default:
                Console.Error.WriteLine("usage: Snn.Conformance gpu-check --data DIR --out DIR [--backend cuda|opencl|ilgpu-cpu] [--quick]");
                return 2;
        }
    }

    return await GpuCheck.RunAsync(data, output, backend, quick, Console.Out);
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
