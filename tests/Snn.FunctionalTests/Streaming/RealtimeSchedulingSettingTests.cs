using Microsoft.Extensions.DependencyInjection;
using Snn.Protos.V1;
using Snn.Server;
using StepLoop = Snn.Server.Engine.StepLoop;
using static Snn.FunctionalTests.Streaming.StreamingTestNetworks;
using Snn.FunctionalTests.Infrastructure;

namespace Snn.FunctionalTests.Streaming;

/// <summary><c>Snn:Realtime:Priority</c> from the command line to the step loop's threads.</summary>
[Collection(RealtimeCollection.Name)]
public sealed class RealtimeSchedulingSettingTests
{
    [Theory]
    [InlineData("-1")]
    [InlineData("100")]
    public void A_priority_outside_0_to_99_stops_the_server_at_start_naming_the_setting(string priority)
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            ServerHost.Build([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "http://127.0.0.1:0", "--Snn:Realtime:Priority", priority]));
        Assert.Contains("Snn:Realtime:Priority", e.Message, StringComparison.Ordinal);
        Assert.Contains("1..99", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Whether this process may use SCHED_FIFO (root or CAP_SYS_NICE): CapEff bit 23.</summary>
    private static bool MayUseRealtime()
    {
        string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["CapEff:".Length..].Trim(), 16) & (1UL << 23)) != 0;
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("5", 5)]
    public async Task The_loop_runs_at_the_configured_priority_while_a_realtime_network_ticks(string setting, int expected)
    {
        if (expected > 0 && !(OperatingSystem.IsLinux() && MayUseRealtime()))
        {
            return; // not permitted here: the loop keeps ordinary threads and logs a warning
        }

        await using var host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "http://127.0.0.1:0", "--Snn:Realtime:Priority", setting]);
        using var client = new Snn.Client.SnnClient(host.Address);
        string name = await CreateAsync(client, 2, ClockMode.Realtime);
        var loop = host.Services.GetRequiredService<StepLoop>();
        var get = new GetNetworkRequest { Name = name };
        // Ticks are counted once the loop has taken the network in, and with it its scheduling decision.
        var until = DateTime.UtcNow.AddSeconds(10);
        while ((await client.GetNetworkAsync(get, Options())).Clock.Ticks < 10)
        {
            Assert.True(DateTime.UtcNow < until, "the realtime network did not tick");
            await Task.Delay(10);
        }

        Assert.Equal(expected, loop.Priority);
    }
}
