using System.Text.Json;
using Snn.Client;
using Grpc.Core;
using Snn.Protos.V1;

namespace Snn.Conformance;

/// <summary>What happened to one case file.</summary>
public enum CaseOutcome
{
    /// <summary>Ran; a candidate file was written.</summary>
    Ran,

    /// <summary>Not run: the server or the API cannot express it (the message says why).</summary>
    Skipped,

    /// <summary>The server refused or broke off the case.</summary>
    Error,
}

/// <summary>The outcome of one case file.</summary>
public sealed record CaseResult(string File, string Case, CaseOutcome Outcome, string Message)
{
    public bool Ran => Outcome == CaseOutcome.Ran;
}

/// <summary>
/// Replays reference cases through the public API: builds each case's network with CreateNetwork,
/// drives every batch row as its own instance over a Run stream (all rows at once), records every
/// state variable of every neuron at every step and writes a candidate JSON of the same file name.
/// Understands <c>snn-refcase/1</c> (one layer, SEMANTICS.md §5) and <c>snn-refnet/1</c> (networks).
/// </summary>
public sealed class CaseRunner(SnnClient client, TextWriter log)
{
    /// <summary>Steps sent per RunRequest (and inputs named ahead), well inside the server's input horizon.</summary>
    public const int StepsPerRequest = 256;

    private HashSet<string>? _models;

    public async Task<IReadOnlyList<CaseResult>> RunDirectoryAsync(string casesDir, string outDir, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(outDir);
        var results = new List<CaseResult>();
        foreach (var path in Directory.GetFiles(casesDir, "*.json").Order(StringComparer.Ordinal))
        {
            if (Path.GetFileName(path) == "INDEX.json")
            {
                continue;
            }

            CaseResult result;
            try
            {
                result = await RunFileAsync(path, outDir, cancellationToken);
            }
            catch (RpcException e)
            {
                result = new CaseResult(path, Path.GetFileNameWithoutExtension(path), CaseOutcome.Error, $"{e.StatusCode}: {e.Status.Detail}");
            }

            log.WriteLine($"{result.Outcome.ToString().ToUpperInvariant(),-7} {result.Case,-44} {result.Message}");
            results.Add(result);
        }

        return results;
    }

    public async Task<CaseResult> RunFileAsync(string path, string outDir, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(outDir);
        _models ??= (await client.GetServerInfoAsync(new GetServerInfoRequest(), new CallOptions(cancellationToken: cancellationToken)))
            .Models.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(path, cancellationToken));
        var root = doc.RootElement;
        string name = CaseFile.Str(root, "case") ?? Path.GetFileNameWithoutExtension(path);
        string schema = CaseFile.Str(root, "schema") ?? "snn-refcase/1";
        var plan = schema switch
        {
            "snn-refcase/1" => LayerCase.Plan(root, name),
            "snn-refnet/1" => NetCase.Plan(root, name),
            _ => throw new InvalidDataException($"{path}: unknown schema '{schema}'"),
        };
        if (plan.SkipReason is { } why)
        {
            return new CaseResult(path, name, CaseOutcome.Skipped, why);
        }

        var unknown = plan.Spec!.Populations.Select(p => p.Model).Where(m => !_models.Contains(m)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            return new CaseResult(path, name, CaseOutcome.Skipped, $"the server does not know model {string.Join(", ", unknown)}");
        }

        plan.Spec.Name = $"conformance-{name}-{Guid.NewGuid():N}"[..Math.Min(64, 12 + name.Length + 33)];
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = plan.Spec }, new CallOptions(cancellationToken: cancellationToken));
        try
        {
            var rows = await Task.WhenAll(Enumerable.Range(0, plan.Batch)
                .Select(b => DriveAsync(plan, b, cancellationToken)));
            await using var stream = File.Create(Path.Combine(outDir, Path.GetFileName(path)));
            await using var writer = new Utf8JsonWriter(stream);
            plan.Write(writer, name, rows);
        }
        finally
        {
            await client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = plan.Spec.Name }, new CallOptions(cancellationToken: cancellationToken));
        }

        return new CaseResult(path, name, CaseOutcome.Ran, $"{plan.Batch}x{plan.Steps} steps");
    }

    /// <summary>Runs batch row <paramref name="b"/> on instance b; returns its step outputs in order.</summary>
    private async Task<List<StepOutput>> DriveAsync(RunPlan plan, int b, CancellationToken cancellationToken)
    {
        var open = new RunOpen { Network = plan.Spec!.Name, Instance = (uint)b, Reset = true };
        open.SpikesFrom.Add(plan.Outputs);
        foreach (var pop in plan.Outputs)
        {
            var record = new RecordSpec { Population = pop };
            record.Variables.Add("*");
            open.Record.Add(record);
        }

        await using var session = client.Run(new CallOptions(cancellationToken: cancellationToken));
        await session.OpenAsync(open, cancellationToken);
        var reading = ReadAllAsync(session, cancellationToken);
        for (int t0 = 0; t0 < plan.Steps; t0 += StepsPerRequest)
        {
            int n = Math.Min(StepsPerRequest, plan.Steps - t0);
            var request = new RunRequest { Advance = (uint)n };
            for (int t = t0; t < t0 + n; t++)
            {
                plan.AddInputs(request, b, t, t - t0);
            }

            await session.SendAsync(request, cancellationToken);
        }

        await session.CompleteAsync();
        var steps = await reading;
        if (steps.Count != plan.Steps)
        {
            throw new InvalidDataException($"instance {b}: expected {plan.Steps} steps, the server reported {steps.Count}");
        }

        return steps;
    }

    private static async Task<List<StepOutput>> ReadAllAsync(RunSession session, CancellationToken cancellationToken)
    {
        var steps = new List<StepOutput>();
        await foreach (var step in session.ReadStepsAsync(cancellationToken))
        {
            steps.Add(step);
        }

        return steps;
    }
}
