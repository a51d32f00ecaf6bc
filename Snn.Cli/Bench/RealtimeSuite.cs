using System.Globalization;
using Snn.Client;
using Snn.Protos.V1;

namespace Snn.Cli.Bench;

/// <summary>
/// (d) REALTIME at 1 kHz: <see cref="BenchSettings.Networks"/> networks of 1,000 neurons each tick
/// on the server's clock for <see cref="BenchSettings.RealtimeSeconds"/>; then each network's
/// ClockStats (GetNetwork) give tick lateness and overruns. Aggregated over networks: median of
/// the p50s, max of the p99s and of the maxima, sums of overruns and ticks. The networks are created
/// fresh every repetition, so each repetition's histograms start empty; they cover the networks'
/// whole life, including the creation of the networks after them (a few hundred ms).
/// </summary>
internal sealed class RealtimeSuite : BenchSuite
{
    private const int Neurons = 1000;
    private const double Dt = 0.001;
    private readonly List<string> _networks = [];

    public override string Name => "realtime";

    public override string Describe(BenchSettings s) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{s.Networks} REALTIME networks (dt {Dt} s, 1 kHz ticks) of input {Neurons} -> one_to_one -> snntorch.Leaky {Neurons}, no driver, {s.RealtimeSeconds:0.#} s; ClockStats from GetNetwork: median of p50, max of p99 and of max over networks, sum of overruns");

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
                new("lag p50 (median over networks)", Stat.Median(stats.Select(c => c.LagP50Us)), "µs"),
                new("lag p99 (max over networks)", stats.Max(c => c.LagP99Us), "µs"),
                new("lag p99 (median over networks)", Stat.Median(stats.Select(c => c.LagP99Us)), "µs"),
                new("lag max (max over networks)", stats.Max(c => c.MaxLagUs), "µs"),
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
