using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using Snn.Protos.V1;

namespace Snn.Cli.Commands;

/// <summary><c>snn import</c> (a .nir file becomes a network) and <c>snn export</c> (a network becomes a .nir file).</summary>
internal static class NirCommands
{
    private static readonly string[] s_flavors = ["generic", "snntorch", "norse", "sinabs"];

    public static Command Import(CliContext context)
    {
        var file = new Argument<FileInfo>("file") { Description = "The .nir file (NIR's HDF5 layout, as nir.write or a library's export writes it)." };
        var name = new Option<string>("--name", "-n") { Description = "Name of the network to create.", Required = true };
        var dt = new Option<double>("--dt") { Description = "Seconds per step, the network's clock; how it enters each neuron's discretisation is the flavour's rule (default 0.001)." };
        var flavor = new Option<string>("--flavor")
        {
            Description = "Whose discretisation to reproduce: generic (exact exponential integration), snntorch, norse or sinabs.",
            DefaultValueFactory = _ => "generic",
        };
        flavor.AcceptOnlyFromAmong(s_flavors);
        var strict = new Option<bool>("--strict") { Description = "Refuse the import if any conversion is lossy or ambiguous." };
        var instances = new Option<uint>("--instances", "-i") { Description = "Independent state copies sharing the weights (default 1)." };
        var command = new Command("import", "Create a network from a NIR graph (.nir file) and print every conversion made.")
        {
            file, name, dt, flavor, strict, instances,
        };
        command.SetAction((parseResult, cancellationToken) => SnnCli.Guard(context, async () =>
        {
            var path = parseResult.GetValue(file)!;
            var request = new ImportNetworkRequest
            {
                Name = parseResult.GetValue(name)!,
                Nir = await ReadFileAsync(path, cancellationToken),
                Dt = parseResult.GetValue(dt),
                Flavor = parseResult.GetValue(flavor)!,
                Strict = parseResult.GetValue(strict),
                Instances = parseResult.GetValue(instances),
            };
            using var client = context.Connect(parseResult);
            var response = await client.ImportNetworkAsync(request, new CallOptions(cancellationToken: cancellationToken));
            WriteReport(context.Output, response.Report);
            context.Output.WriteLine(NetworkCommands.Created(response.Network));
            return 0;
        }, cancellationToken));
        return command;
    }

    public static Command Export(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "Network name." };
        var output = new Option<FileInfo>("--output", "-o") { Description = "The .nir file to write (replaced if it exists).", Required = true };
        var command = new Command("export", "Write a network (weights and per-neuron parameters included) as a NIR graph (.nir file) and print what each part became.")
        {
            name, output,
        };
        command.SetAction((parseResult, cancellationToken) => SnnCli.Guard(context, async () =>
        {
            using var client = context.Connect(parseResult);
            var network = parseResult.GetValue(name)!;
            var response = await client.ExportNetworkAsync(network, new CallOptions(cancellationToken: cancellationToken));
            var path = parseResult.GetValue(output)!;
            try
            {
                await File.WriteAllBytesAsync(path.FullName, response.Nir.Memory, cancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"cannot write '{path}': {e.Message}");
            }

            WriteReport(context.Output, response.Report);
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote network '{network}' to {path} ({response.Nir.Length} bytes)"));
            return 0;
        }, cancellationToken));
        return command;
    }

    /// <summary>The conversions as a table, a lossy one marked in its LOSSY column, then the count of each.</summary>
    internal static void WriteReport(TextWriter o, IReadOnlyCollection<NirConversion> report)
    {
        if (report.Count == 0)
        {
            o.WriteLine("no conversions");
            return;
        }

        var rows = new List<string[]> { new[] { "NODE", "BECOMES", "LOSSY", "DETAIL" } };
        foreach (var line in report)
        {
            rows.Add([line.Node.Length == 0 ? "(graph)" : line.Node, line.Becomes, line.Lossy ? "lossy" : "-", line.Detail]);
        }

        NetworkCommands.WriteTable(o, rows);
        int lossy = report.Count(line => line.Lossy);
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{report.Count} conversion(s), {lossy} lossy"));
    }

    private static async Task<Google.Protobuf.ByteString> ReadFileAsync(FileInfo path, CancellationToken cancellationToken)
    {
        try
        {
            return Google.Protobuf.ByteString.CopyFrom(await File.ReadAllBytesAsync(path.FullName, cancellationToken));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read '{path}': {e.Message}");
        }
    }
}
