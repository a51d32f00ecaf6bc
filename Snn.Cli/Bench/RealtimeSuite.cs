using System.Globalization;
using Grpc.Core;
using Snn.Client;
using Snn.Protos.V1;

namespace Snn.Cli.Bench;

/// <summary>
/// (d) REALTIME at 1 kHz: <see cref="BenchSettings.Networks"/> networks of 1,000 neurons each tick
/// on the server's clock for <see cref="BenchSettings.RealtimeSeconds"/>; then each network's
/// ClockStats (GetNetwork) give tick lateness and overruns. Aggregated over networks: median of
/// the p50s, max of the p99s and of the maxima, sums of overruns and ticks. The networks are created
/// fresh every repetition; the measured window starts after all of them exist and the server has
/// settled for a second (a reset of all instances restarts each clock with empty statistics), so
/// the figures are the steady state, not the creation of the networks.
/// </summary>
internal sealed class RealtimeSuite : BenchSuite
{
    private const int Neurons = 1000;
    private const double Dt = 0.001;
    private readonly List<string> _networks = [];

    public override string Name => "realtime";

    public override string Describe(BenchSettings s) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{s.Networks} REALTIME networks (dt {Dt} s, 1 kHz ticks) of input {Neurons} -> one_to_one -> snntorch.Leaky {Neurons}, no driver, {s.RealtimeSeconds:0.#} s; measured after all networks exist (1 s settle, then ResetState restarts every clock); ClockStats from GetNetwork: tick lateness = how late the loop began the tick, step lateness = how late each network's step began (adds the networks stepped before it in the tick); median of p50, median and max of p99, max of max over networks, sum of overruns");

    public override async Task<IReadOnlyList<Figure>> RunOnceAsync(BenchContext context, int repetition, CancellationToken cancellationToken)
    {
        var s = context.Settings;
        var options = new CallOptions(cancellationToken: cancellationToken);
        _networks.Clear();
        for (int k = 0; k < s.Networks; k++)
        {
            _networks.Add(string.Create(CultureInfo.InvariantCulture, $"{context.Prefix}-rt{k:D3}"));
        }

        foreach (var name in _networks)
        {
            await DeleteQuietlyAsync(context, name);
        }

        try
        {
            // Created a few at a time: fast, without flooding the loop's command channel.
            using (var gate = new SemaphoreSlim(8))
            {
                await Task.WhenAll(_networks.Select(async name =>
                {
                    await gate.WaitAsync(cancellationToken);
                    try
                    {
                        await context.Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = BenchNetworks.Leaky(name, Neurons, ClockMode.Realtime, Dt) }, options);
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
            }

            // The measured window starts once every network exists and the server has settled: a
            // reset of all instances restarts each network's clock with empty statistics.
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            foreach (var name in _networks)
            {
                await context.Client.ResetStateAsync(new ResetStateRequest { Network = name }, options);
            }

            await Task.Delay(TimeSpan.FromSeconds(s.RealtimeSeconds), cancellationToken);

            var stats = new List<ClockStats>(_networks.Count);
            foreach (var name in _networks)
            {
                var network = await context.Client.GetNetworkAsync(new GetNetworkRequest { Name = name }, options);
                stats.Add(network.Clock ?? new ClockStats());
            }

            double ticks = stats.Sum(c => (double)c.Ticks);
            return
            [
                new("tick lateness p50 (median over networks)", Stat.Median(stats.Select(c => c.TickLagP50Us)), "µs"),
                new("tick lateness p99 (max over networks)", stats.Max(c => c.TickLagP99Us), "µs"),
                new("tick lateness max (max over networks)", stats.Max(c => c.MaxTickLagUs), "µs"),
                new("step lateness p50 (median over networks)", Stat.Median(stats.Select(c => c.LagP50Us)), "µs"),
                new("step lateness p99 (median over networks)", Stat.Median(stats.Select(c => c.LagP99Us)), "µs"),
                new("step lateness p99 (max over networks)", stats.Max(c => c.LagP99Us), "µs"),
                new("step lateness max (max over networks)", stats.Max(c => c.MaxLagUs), "µs"),
                new("overruns (sum)", stats.Sum(c => (double)c.Overruns), "ticks"),
                new("ticks (sum)", ticks, "ticks"),
                new("ticks per network per s", ticks / stats.Count / s.RealtimeSeconds, "1/s"),
            ];
        }
        finally
        {
            foreach (var name in _networks)
            {
                await DeleteQuietlyAsync(context, name);
            }
        }
    }
}
