using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using Snn.Cli.Bench;
using Snn.Client;

namespace Snn.Cli.Commands;

/// <summary>
/// <c>snn bench [SUITE...]</c>: end-to-end benchmarks over the real transport, client and server in
/// separate processes on loopback. Without <c>--server</c> it starts Snn.Server.dll (next to snn.dll)
/// as a child process, waits for health, runs the suites and stops it.
/// </summary>
internal static class BenchCommand
{
    public static readonly string[] SuiteNames = ["lockstep-rtt", "lockstep-batch", "ingest", "realtime", "fanout", "replay"];

    public static Command Create(CliContext context)
    {
        var suites = new Argument<string[]>("suite")
        {
            Description = "Suites to run: " + string.Join(", ", SuiteNames) + ", or all (the default).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        suites.AcceptOnlyFromAmong([.. SuiteNames, "all"]);
        var quick = new Option<bool>("--quick", "-q") { Description = "Short runs for smoke use: 2 repetitions, 2,000 round trips, realtime 5 s." };
        var repeat = new Option<int?>("--repeat", "-r") { Description = "Repetitions per suite (median and min–max are reported). Defaults to 5 (quick: 2)." };
        var output = new Option<FileInfo?>("--out", "-o") { Description = "Write the results as a markdown table to this file." };
        var networks = new Option<int>("--networks") { Description = "REALTIME networks in the realtime suite. Defaults to 100.", DefaultValueFactory = _ => 100 };
        var duration = new Option<double?>("--duration") { Description = "Seconds the realtime suite runs per repetition. Defaults to 60 (quick: 5)." };
        var watchers = new Option<int>("--watchers") { Description = "Watchers in the fanout suite. Defaults to 16.", DefaultValueFactory = _ => 16 };
        var roundTrips = new Option<int?>("--round-trips") { Description = "Measured round trips per repetition of lockstep-rtt. Defaults to 20,000 (quick: 2,000)." };

        var command = new Command("bench", "End-to-end benchmarks: LOCKSTEP round trip (with a raw HTTP/2 echo baseline), batches, event ingest, REALTIME tick lateness, fan-out to watchers.")
        {
            suites, quick, repeat, output, networks, duration, watchers, roundTrips,
        };
        command.Subcommands.Add(EchoServerCommand(context));
        command.SetAction((parseResult, cancellationToken) => SnnCli.Guard(context, async () =>
        {
            bool isQuick = parseResult.GetValue(quick);
            var settings = new BenchSettings
            {
                Quick = isQuick,
                Repeat = Positive(parseResult.GetValue(repeat) ?? (isQuick ? 2 : 5), "--repeat"),
                RoundTrips = Positive(parseResult.GetValue(roundTrips) ?? (isQuick ? 2_000 : 20_000), "--round-trips"),
                Networks = Positive(parseResult.GetValue(networks), "--networks"),
                RealtimeSeconds = parseResult.GetValue(duration) is { } d ? (d > 0 ? d : throw new CliException("--duration must be positive")) : isQuick ? 5 : 60,
                Watchers = Positive(parseResult.GetValue(watchers), "--watchers"),
            };
            var selected = parseResult.GetValue(suites) ?? [];
            var names = selected.Length == 0 || selected.Contains("all") ? SuiteNames : SuiteNames.Where(selected.Contains).ToArray();
            Uri? server = context.ServerGiven(parseResult) ? context.ServerAddress(parseResult) : null;
            return await RunAsync(context, settings, names, server, parseResult.GetValue(output), cancellationToken);
        }, cancellationToken));
        return command;
    }

    private static Command EchoServerCommand(CliContext context)
    {
        var port = new Option<int>("--port", "-p") { Description = "Loopback port to listen on.", Required = true };
        var command = new Command("echo-server", "Serve the raw-transport echo baseline (no engine) on 127.0.0.1:PORT until Ctrl+C or SIGTERM.") { port };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            await EchoServer.RunAsync(parseResult.GetValue(port), context.Output, cancellationToken);
            return 0;
        });
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, BenchSettings settings, string[] names, Uri? server,
        FileInfo? outFile, CancellationToken cancellationToken)
    {
        var o = context.Output;
        var commandLine = "snn " + string.Join(' ', context.Args.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a));
        ChildProcess? child = null;
        string? dataDirectory = null;
        try
        {
            if (server is null)
            {
                dataDirectory = Directory.CreateTempSubdirectory("snn-bench-").FullName;
                child = ChildProcess.StartServer(dataDirectory);
                await o.WriteLineAsync($"starting {ChildProcess.ServerDll} on {child.Address} (pid {child.Id})");
                await child.WaitHealthyAsync(TimeSpan.FromSeconds(60), cancellationToken);
                server = child.Address;
            }

            await o.WriteLineAsync($"machine: {MachineInfo.Describe()}; load average {MachineInfo.LoadAverage()}");
            if (MachineInfo.BuildConfiguration == "Debug")
            {
                await o.WriteLineAsync("note: this is a Debug build of snn (and of the server it starts); use -c Release for figures");
            }

            var report = new BenchReport(commandLine, settings, child is null ? $"{server} (already running)" : $"Snn.Server.dll started by snn at {server}");
            using var client = new SnnClient(server);
            var benchContext = new BenchContext(client, server, settings, o,
                string.Create(CultureInfo.InvariantCulture, $"bench-{Environment.ProcessId}"));
            int failed = 0;
            foreach (var name in names)
            {
                var suite = CreateSuite(name);
                var description = suite.Describe(settings);
                report.Describe(name, description);
                await o.WriteLineAsync($"== {name}: {description}");
                await o.FlushAsync(cancellationToken);
                try
                {
                    await suite.SetupAsync(benchContext, cancellationToken);
                    for (int r = 0; r < settings.Repeat; r++)
                    {
                        var figures = await suite.RunOnceAsync(benchContext, r, cancellationToken);
                        foreach (var f in figures)
                        {
                            report.Add(name, f);
                        }

                        await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                            $"  run {r + 1}/{settings.Repeat}: {string.Join(", ", figures.Take(4).Select(f => $"{f.Name} {BenchReport.Format(f.Value, f.Unit)} {f.Unit}"))}"));
                        await o.FlushAsync(cancellationToken);
                    }

                    foreach (var row in report.Rows.Where(row => row.Suite == name))
                    {
                        await o.WriteLineAsync($"{name} {BenchReport.Line(row.Figure, row.Unit, row.Values)}");
                    }

                    if (name == "fanout" && report.Rows.Any(row => row.Suite == name && row.Figure == "complete watchers" && row.Values.Min() < settings.Watchers))
                    {
                        failed++;
                        report.Note("fanout: some watchers did not receive every step (see the table)");
                    }
                }
                catch (Exception e) when (e is RpcException or CliException or TimeoutException && !cancellationToken.IsCancellationRequested)
                {
                    failed++;
                    var why = e is RpcException rpc ? SnnCli.FormatStatus(rpc.Status) : "error: " + e.Message;
                    await context.Error.WriteLineAsync($"{name} failed: {why}");
                    report.Note($"{name} failed: {why}");
                    if (child is not null)
                    {
                        await context.Error.WriteLineAsync("server output (last lines):" + Environment.NewLine + child.Tail());
                    }
                }
                finally
                {
                    await suite.CleanupAsync(benchContext);
                }
            }

            var markdown = report.ToMarkdown();
            if (outFile is not null)
            {
                if (outFile.DirectoryName is { } dir)
                {
                    Directory.CreateDirectory(dir);
                }

                await File.WriteAllTextAsync(outFile.FullName, markdown, cancellationToken);
                await o.WriteLineAsync($"wrote {outFile.FullName}");
            }

            await o.WriteLineAsync();
            await o.WriteLineAsync(markdown);
            return failed == 0 ? 0 : SnnCli.BenchFailed;
        }
        finally
        {
            if (child is not null)
            {
                await child.DisposeAsync();
            }

            if (dataDirectory is not null)
            {
                try
                {
                    Directory.Delete(dataDirectory, recursive: true);
                }
                catch (IOException)
                {
                    // A temp directory left behind is harmless.
                }
            }
        }
    }

    private static BenchSuite CreateSuite(string name) => name switch
    {
        "lockstep-rtt" => new LockstepRttSuite(),
        "lockstep-batch" => new LockstepBatchSuite(),
        "ingest" => new IngestSuite(),
        "realtime" => new RealtimeSuite(),
        "fanout" => new FanoutSuite(),
        "replay" => new ReplaySuite(),
        _ => throw new CliException($"unknown suite '{name}'"),
    };

    private static int Positive(int value, string option) => value > 0 ? value : throw new CliException($"{option} must be positive");
}
