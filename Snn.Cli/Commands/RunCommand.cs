using System.CommandLine;
using Grpc.Core;
using Snn.Cli.Internal;
using Snn.Client;
using Snn.Protos.V1;

namespace Snn.Cli.Commands;

/// <summary>
/// <c>snn run NAME</c>: drives one instance for <c>--steps</c> steps with the given inputs and prints
/// the spikes of every step. LOCKSTEP networks execute exactly those steps; for REALTIME networks the
/// inputs go to the next ticks and the command prints the next <c>--steps</c> ticks.
/// </summary>
internal static class RunCommand
{
    public static Command Create(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "Network name." };
        var instance = new Option<uint>("--instance", "-n") { Description = "Instance index. Defaults to 0." };
        var steps = new Option<uint>("--steps", "-t") { Description = "Steps to execute. Defaults to 1.", DefaultValueFactory = _ => 1 };
        var inputs = new Option<string[]>("--input", "-i")
        {
            Description = "Input events, " + InputSyntax.Help + "; offset 0 = the first step executed. Repeatable.",
            AllowMultipleArgumentsPerToken = true,
        };
        var spikesFrom = new Option<string[]>("--spikes-from") { Description = "Populations whose spikes are printed. Defaults to every non-input population.", AllowMultipleArgumentsPerToken = true };
        var reset = new Option<bool>("--reset") { Description = "Reset the instance to step 0 first." };
        var command = new Command("run", "Drive an instance: send inputs, advance, print the spikes of every step.")
        {
            name, instance, steps, inputs, spikesFrom, reset,
        };
        command.SetAction((parseResult, cancellationToken) => SnnCli.Guard(context, async () =>
        {
            var parsedInputs = (parseResult.GetValue(inputs) ?? []).Select(InputSyntax.Parse).ToList();
            var network = parseResult.GetValue(name)!;
            uint count = parseResult.GetValue(steps);
            using var client = context.Connect(parseResult);
            var options = new CallOptions(cancellationToken: cancellationToken);
            var description = await client.GetNetworkAsync(new GetNetworkRequest { Name = network }, options);
            bool realtime = description.Spec.Clock == ClockMode.Realtime;

            var open = new RunOpen { Network = network, Instance = parseResult.GetValue(instance), Reset = parseResult.GetValue(reset) };
            open.SpikesFrom.Add(parseResult.GetValue(spikesFrom) ?? []);
            await using var run = await client.OpenRunAsync(open, options);
            var printer = new StepPrinter(context.Output);
            printer.Opened(run.Opened!, "driving");

            var request = new RunRequest { Advance = realtime ? 0 : count };
            request.Inputs.Add(parsedInputs);
            if (request.Inputs.Count > 0 || request.Advance > 0)
            {
                await run.SendAsync(request, cancellationToken);
            }

            if (!realtime)
            {
                // LOCKSTEP: half-close; the server executes the steps asked for and ends the stream.
                await run.CompleteAsync();
            }

            uint printed = 0;
            while (printed < count && await run.ReadAsync(cancellationToken) is { } response)
            {
                foreach (var step in response.Steps)
                {
                    printer.Step(step);
                    if (++printed == count)
                    {
                        break;
                    }
                }

                if (response.DroppedBefore > 0)
                {
                    printer.Dropped(response.DroppedBefore);
                }
            }

            if (!realtime)
            {
                while (await run.ReadAsync(cancellationToken) is not null)
                {
                    // Drain to the end of the stream so its status is read.
                }
            }

            return 0;
        }, cancellationToken));
        return command;
    }
}
