using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Snn.Client;
using Snn.Client.Specs;
using Snn.Protos.V1;

namespace Snn.Cli.Commands;

/// <summary><c>snn list</c>, <c>get</c>, <c>create</c> and <c>delete</c> (<c>import</c> and <c>export</c> are in NirCommands).</summary>
internal static class NetworkCommands
{
    /// <summary>
    /// Protobuf JSON with the field names <see cref="JsonParser"/> reads back, indented two spaces a level.
    /// Google.Protobuf's own indentation misplaces the lines of objects nested in arrays, so the compact
    /// form is re-indented by System.Text.Json (numbers keep their text).
    /// </summary>
    internal static string Json(IMessage message)
    {
        using var document = JsonDocument.Parse(JsonFormatter.Default.Format(message));
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            document.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static Command List(CliContext context)
    {
        var command = new Command("list", "List the networks on the server.");
        command.SetAction((parseResult, cancellationToken) => SnnCli.Guard(context, async () =>
        {
            using var client = context.Connect(parseResult);
            var response = await client.ListNetworksAsync(options: new CallOptions(cancellationToken: cancellationToken));
            var o = context.Output;
            if (response.Networks.Count == 0)
            {
                o.WriteLine("no networks");
                return 0;
            }

            var rows = new List<string[]> { new[] { "NAME", "CLOCK", "DT", "INSTANCES", "NEURONS", "SYNAPSES", "POPULATIONS", "STEP", "ON" } };
            foreach (var n in response.Networks)
            {
                var spec = n.Spec;
                rows.Add(
                [
                    spec.Name,
                    ClockName(spec.Clock),
                    (spec.Dt == 0 ? 0.001 : spec.Dt).ToString("0.######", CultureInfo.InvariantCulture),
                    n.Instances.Count.ToString(CultureInfo.InvariantCulture),
                    n.Neurons.ToString(CultureInfo.InvariantCulture),
                    n.Synapses.ToString(CultureInfo.InvariantCulture),
                    string.Join(",", spec.Populations.Select(p => p.Name)),
                    n.Instances.Count == 0 ? "-" : n.Instances.Max(i => i.Step).ToString(CultureInfo.InvariantCulture),
                    SteppedOn(n.StepsOn),
                ]);
            }

            WriteTable(o, rows);
            return 0;
        }, cancellationToken));
        return command;
    }

    /// <summary>Network.steps_on in a word for the list: device, cpu, or - before the first step (<c>snn get</c> says why).</summary>
    internal static string SteppedOn(string stepsOn) =>
        stepsOn.Length == 0 ? "-" : stepsOn.StartsWith("on the device", StringComparison.Ordinal) ? "device" : "cpu";

    public static Command Get(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "Network name." };
        var weights = new Option<bool>("--weights", "-w") { Description = "Include weights and per-neuron parameters." };
        var specOnly = new Option<bool>("--spec") { Description = "Print only the NetworkSpec (JSON that `snn create --file` accepts)." };
        var command = new Command("get", "Show one network as protobuf JSON: spec, feed-forward order, instances, clock.") { name, weights, specOnly };
        command.SetAction((parseResult, cancellationToken) => SnnCli.Guard(context, async () =>
        {
            using var client = context.Connect(parseResult);
            var network = await client.GetNetworkAsync(
                new GetNetworkRequest { Name = parseResult.GetValue(name)!, IncludeWeights = parseResult.GetValue(weights) },
                new CallOptions(cancellationToken: cancellationToken));
            context.Output.WriteLine(parseResult.GetValue(specOnly) ? Json(network.Spec) : Json(network));
            return 0;
        }, cancellationToken));
        return command;
    }

    public static Command Create(CliContext context)
    {
        var file = new Option<FileInfo>("--file", "-f")
        {
            Description = "The NetworkSpec as JSON or YAML (.json, .yaml, .yml; field names as in network.proto or lowerCamelCase); " +
                "any list of numbers may be {npy: FILE.npy}, relative to the spec file; - reads stdin.",
            Required = true,
        };
        var command = new Command("create", "Create a network from a spec file.") { file };
        command.SetAction((parseResult, cancellationToken) => SnnCli.Guard(context, async () =>
        {
            var specFile = await ReadSpecAsync(parseResult.GetValue(file)!, cancellationToken);
            foreach (var warning in specFile.Warnings)
            {
                await context.Error.WriteLineAsync(warning);
            }

            using var client = context.Connect(parseResult);
            var network = await client.CreateNetworkAsync(specFile, new CallOptions(cancellationToken: cancellationToken));
            context.Output.WriteLine(Created(network));
            return 0;
        }, cancellationToken));
        return command;
    }

    public static Command Delete(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "Network name." };
        var command = new Command("delete", "Delete a network (its streams end with ABORTED).") { name };
        command.SetAction((parseResult, cancellationToken) => SnnCli.Guard(context, async () =>
        {
            using var client = context.Connect(parseResult);
            var network = parseResult.GetValue(name)!;
            await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = network }, new CallOptions(cancellationToken: cancellationToken));
            context.Output.WriteLine($"deleted network '{network}'");
            return 0;
        }, cancellationToken));
        return command;
    }

    /// <summary>Reads a spec file (JSON or YAML, see <see cref="NetworkSpecFile"/>); unknown fields are an error (a typo should not pass silently).</summary>
    internal static async Task<NetworkSpecFile> ReadSpecAsync(FileInfo file, CancellationToken cancellationToken)
    {
        try
        {
            if (file.Name == "-" && !file.Exists)
            {
                return NetworkSpecFile.Parse(await Console.In.ReadToEndAsync(cancellationToken), "<stdin>");
            }

            return NetworkSpecFile.Load(file.ToString());
        }
        catch (NetworkSpecException e)
        {
            throw new CliException(e.Message);
        }
    }

    /// <summary>"created network 'n': 8 neurons, 4 synapses, 1 instance(s), LOCKSTEP, order in -> out" (create and import).</summary>
    internal static string Created(Network network) => string.Create(CultureInfo.InvariantCulture,
        $"created network '{network.Spec.Name}': {network.Neurons} neurons, {network.Synapses} synapses, {network.Instances.Count} instance(s), {ClockName(network.Spec.Clock)}, order {string.Join(" -> ", network.Order)}");

    internal static string ClockName(ClockMode clock) => clock == ClockMode.Realtime ? "REALTIME" : "LOCKSTEP";

    internal static void WriteTable(TextWriter o, List<string[]> rows)
    {
        var widths = new int[rows[0].Length];
        foreach (var row in rows)
        {
            for (int i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        foreach (var row in rows)
        {
            o.WriteLine(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }
    }
}
