using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using Snn.Client;
using Snn.Protos.V1;

namespace Snn.Cli.Commands;

/// <summary><c>snn info</c>: version, backend, limits and the model catalogue.</summary>
internal static class InfoCommand
{
    public static Command Create(CliContext context)
    {
        var parameters = new Option<bool>("--parameters", "-p") { Description = "Also list every model parameter with its default and range." };
        var command = new Command("info", "Show the server's version, backend, limits and neuron models.") { parameters };
        command.SetAction((parseResult, cancellationToken) => SnnCli.Guard(context, async () =>
        {
            using var client = context.Connect(parseResult);
            var info = await client.GetServerInfoAsync(options: new CallOptions(cancellationToken: cancellationToken));
            Print(context.Output, context.ServerAddress(parseResult), info, parseResult.GetValue(parameters));
            return 0;
        }, cancellationToken));
        return command;
    }

    private static void Print(TextWriter o, Uri server, ServerInfo info, bool withParameters)
    {
        var c = CultureInfo.InvariantCulture;
        o.WriteLine($"server   {server}");
        o.WriteLine($"version  {info.Version}");
        o.WriteLine($"backend  {info.Backend} ({info.Device})");
        if (info.ComputeDevice is { HasFreeBytes: true } device)
        {
            o.WriteLine(string.Create(c, $"device   {device.FreeBytes / (1 << 20):N0} MiB free of {device.MemoryBytes / (1 << 20):N0} MiB"));
        }
        if (info.Limits is { } l)
        {
            o.WriteLine(string.Create(c, $"limits   message {l.MaxMessageBytes} bytes; {l.MaxNeuronsPerPopulation} neurons per population; {l.MaxNeuronsPerNetwork} neurons and {l.MaxSynapsesPerNetwork} synapses per network"));
            o.WriteLine(string.Create(c, $"         {l.MaxInstances} instances; {l.MaxNetworks} networks; input horizon {l.MaxInputHorizon} steps; delay {l.MaxDelaySteps} steps"));
        }

        o.WriteLine(string.Create(c, $"models ({info.Models.Count}):"));
        int width = info.Models.Count == 0 ? 0 : info.Models.Max(m => m.Name.Length);
        foreach (var model in info.Models)
        {
            var state = model.StateVariables.Count == 0 ? "no state" : "state " + string.Join(", ", model.StateVariables);
            o.WriteLine($"  {model.Name.PadRight(width)}  {model.LibraryClass}; {state}");
            if (!withParameters)
            {
                continue;
            }

            foreach (var p in model.Parameters)
            {
                var choices = p.Choices.Count > 0 ? " {" + string.Join(", ", p.Choices) + "}" : string.Empty;
                var range = p.Range.Length > 0 ? " range " + p.Range : string.Empty;
                o.WriteLine($"    {p.Name} = {p.DefaultValue}{range}{choices}{(p.PerNeuron ? " (per neuron)" : string.Empty)}");
            }
        }
    }
}
