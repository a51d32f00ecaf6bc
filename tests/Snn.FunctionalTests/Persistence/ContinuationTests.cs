using Snn.Client;
using Snn.FunctionalTests.Api;
using Snn.Protos.V1;
using Snn.Server.Models;

namespace Snn.FunctionalTests.Persistence;

/// <summary>
/// Bit-exact continuation across a crash, for every model: run N steps, snapshot, SIGKILL the server,
/// start it again, run M more steps; the outputs equal those of N + M uninterrupted steps (an identical
/// network on the same server before the kill). Delays are in flight at the snapshot (a 3-step and a
/// 2-step projection) and inputs are queued for steps after it.
/// </summary>
public sealed class ContinuationTests
{
    private const int N = 12;
    private const int M = 12;
    private const uint Size = 6;
    private const uint Instances = 2;

    public static TheoryData<string> Models => new(ModelCatalog.All.Select(m => m.Name));

    [Theory]
    [MemberData(nameof(Models))]
    public async Task A_snapshot_taken_before_SIGKILL_continues_bit_exactly(string model)
    {
        await using var server = await PersistentServer.StartAsync();
        bool hasState = ModelCatalog.TryGet(model, out var m) && m.StateVariables.Count > 0;
        await server.Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec("a", model) }).Within();
        await server.Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Spec("ref", model) }).Within();

        // The streams stay open until the kill: closing a driver drops its instance's queued inputs.
        var a = new RunSession[Instances];
        var r = new RunSession[Instances];
        var reference = new List<StepOutput>[Instances];
        for (uint i = 0; i < Instances; i++)
        {
            a[i] = await OpenAsync(server.Client, "a", i, hasState, expectStep: 0);
            r[i] = await OpenAsync(server.Client, "ref", i, hasState, expectStep: 0);
            var ran = await DriveAsync(a[i], i, 0, N);
            Assert.Equal(await DriveAsync(r[i], i, 0, N), ran); // the two networks are the same
        }

        var snapshot = await server.Client.SaveSnapshotAsync(new SaveSnapshotRequest { Network = "a" }).Within();
        Assert.Equal((ulong)N, snapshot.Step);
        for (uint i = 0; i < Instances; i++)
        {
            reference[i] = await DriveAsync(r[i], i, N, M);
        }

        Assert.Contains(reference, steps => steps.Any(s => s.Spikes.Count > 0)); // something happens after the snapshot

        await server.RestartAfterKillAsync();
        foreach (var session in a.Concat(r))
        {
            await session.DisposeAsync();
        }

        var recovery = (await server.Client.GetServerInfoAsync().Within()).Recovery;
        Assert.Equal(2u, recovery.Networks);
        Assert.Equal(1u, recovery.FromSnapshots);
        Assert.Equal((ulong)Instances, recovery.Instances);
        Assert.Empty(recovery.Failures);
        for (uint i = 0; i < Instances; i++)
        {
            await using var restored = await OpenAsync(server.Client, "a", i, hasState, expectStep: N);
            var continued = await DriveAsync(restored, i, N, M);
            for (int k = 0; k < M; k++)
            {
                Assert.True(reference[i][k].Equals(continued[k]),
                    $"{model}, instance {i}, step {N + k}: uninterrupted {reference[i][k]}, after the crash {continued[k]}");
            }
        }
    }

    /// <summary>in (input) → n (the model), dense with a 3-step delay; n → out (passthrough), one-to-one with a 2-step delay.</summary>
    private static NetworkSpec Spec(string name, string model)
    {
        var random = new Random(7);
        var weights = Enumerable.Range(0, (int)(Size * Size)).Select(_ => (float)(random.NextDouble() * 1.5)).ToArray();
        var spec = new NetworkSpec
        {
            Name = name,
            Instances = Instances,
            Populations =
            {
                Specs.Population("in", "input", Size),
                Specs.Population("n", model, Size, Specs.Required(model)),
                Specs.Population("out", "passthrough", Size),
            },
            Projections = { Specs.Dense("in_n", "in", "n", weights), Specs.OneToOne("n_out", "n", "out") },
        };
        spec.Projections[0].DelaySteps = 3;
        spec.Projections[1].DelaySteps = 2;
        return spec;
    }

    private static async Task<RunSession> OpenAsync(SnnClient client, string network, uint instance, bool record, ulong expectStep)
    {
        var open = new RunOpen { Network = network, Instance = instance };
        if (record)
        {
            open.Record.Add(new RecordSpec { Population = "n", Variables = { "*" } });
        }

        var session = await client.OpenRunAsync(open).Within();
        Assert.Equal(expectStep, session.Opened!.Step);
        return session;
    }

    /// <summary>Steps <paramref name="count"/> times from <paramref name="from"/> with the inputs of each step; returns the outputs.</summary>
    private static async Task<List<StepOutput>> DriveAsync(RunSession session, uint instance, int from, int count)
    {
        var outputs = new List<StepOutput>();
        for (int step = from; step < from + count; step++)
        {
            outputs.Add(await session.StepAsync(InputsAt(instance, step)));
        }

        return outputs;
    }

    /// <summary>
    /// Events of step <paramref name="step"/>, the same for every run. The last step before the snapshot also
    /// queues inputs 2 and 4 steps ahead, so the snapshot holds queued inputs.
    /// </summary>
    private static Input[] InputsAt(uint instance, int step)
    {
        var random = new Random((int)instance * 1000 + step);
        var indices = Enumerable.Range(0, (int)Size).Where(_ => random.NextDouble() < 0.5).Select(n => (uint)n).ToArray();
        var values = indices.Select(_ => (float)(0.5 + random.NextDouble() * 2)).ToArray();
        var inputs = new List<Input> { Specs.Events("in", indices, values) };
        if (step == N - 1)
        {
            inputs.Add(Specs.Events("in", [0, 1], [2.5f, 1.5f], offset: 2));
            inputs.Add(Specs.Events("in", [5], [3f], offset: 4));
        }

        return [.. inputs];
    }
}
