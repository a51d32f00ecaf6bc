using System.Text.RegularExpressions;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Snn.Client;
using Snn.Protos.V1;
using Snn.Server;
using Snn.FunctionalTests.Infrastructure;

namespace Snn.FunctionalTests.Transport;

/// <summary>
/// Every call logs one line with its outcome: now Serilog's request log of the real server
/// (GrpcSetup.MapSnnGrpc), one line per HTTP request, not per gRPC message.
/// </summary>
public sealed class RequestLogTests
{
    private const string Category = "Serilog.AspNetCore.RequestLoggingMiddleware";

    [Fact]
    public async Task EveryCall_LogsOneLine_WithItsPathAndGrpcStatus()
    {
        var logs = new CapturedLogs();
        await using var host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "http://127.0.0.1:0"],
            new CancellationTokenSource(TestTimeouts.Default).Token, b => b.Logging.AddProvider(logs));
        using var client = new SnnClient(host.Address);

        await client.GetServerInfoAsync().WithTimeout();
        var error = await Assert.ThrowsAsync<RpcException>(() => client.GetNetworkAsync(new GetNetworkRequest { Name = "no-such-network" }).WithTimeout());
        Assert.Equal(StatusCode.NotFound, error.StatusCode);

        var info = await WaitForLineAsync(logs, "/snn.v1.Snn/GetServerInfo");
        Assert.Matches(new Regex("HTTP/2\"? \"?POST\"? \"?/snn.v1.Snn/GetServerInfo\"? 200 grpc-status \"?0\"?"), info);
        var notFound = await WaitForLineAsync(logs, "/snn.v1.Snn/GetNetwork");
        Assert.Matches(new Regex("grpc-status \"?5\"?"), notFound);
        Assert.Single(logs.Entries, e => e.Category == Category && e.Message.Contains("/snn.v1.Snn/GetServerInfo", StringComparison.Ordinal));
    }

    private static async Task<string> WaitForLineAsync(CapturedLogs logs, string path)
    {
        var deadline = DateTime.UtcNow + TestTimeouts.Default;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var entry in logs.Entries)
            {
                if (entry.Category == Category && entry.Message.Contains(path, StringComparison.Ordinal))
                {
                    return entry.Message;
                }
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"No request log line for {path}; lines: " + string.Join("\n", logs.Entries.Select(e => e.Category + ": " + e.Message)));
    }
}
