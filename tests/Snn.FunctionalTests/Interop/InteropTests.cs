using Microsoft.Extensions.Logging;
using Snn.FunctionalTests.Infrastructure;

namespace Snn.FunctionalTests.Interop;

/// <summary>
/// The gRPC interop test cases (grpc/doc/interop-test-descriptions.md), run by an independent
/// client (Debian's python3-grpcio, tests/interop/interop_client.py) against tests/Snn.InteropServer
/// (Grpc.AspNetCore, Kestrel set up as the server sets it up).
/// A missing python3-grpcio/protoc/grpc-proto fails the test with the apt-get command.
/// </summary>
public sealed class InteropTests(InteropServerFixture server) : IClassFixture<InteropServerFixture>
{
    public static TheoryData<string> Cases =>
    [
        "empty_unary",
        "large_unary",
        "client_streaming",
        "server_streaming",
        "ping_pong",
        "empty_stream",
        "cancel_after_begin",
        "cancel_after_first_response",
        "timeout_on_sleeping_server",
        "status_code_and_message",
        "special_status_message",
        "unimplemented_method",
        "unimplemented_service",
        "custom_metadata",
        "health_check",
    ];

    /// <summary>Cases in which the client resets a stream (cancellation, or its own deadline).</summary>
    private static readonly HashSet<string> ClientResets = ["cancel_after_begin", "cancel_after_first_response", "timeout_on_sleeping_server"];

    /// <summary>
    /// grpc-dotnet logs a handler's IOException at error level unless the call's token is already
    /// cancelled; Kestrel fails the request body reader at once on RST_STREAM but cancels RequestAborted
    /// from the thread pool, so a handler reading its request stream can lose that race (upstream, not ours).
    /// </summary>
    private static bool IsResetRace((string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception) e) =>
        e.Category == "Grpc.AspNetCore.Server.ServerCallHandler" && e.EventId.Id == 6
        && e.Exception is IOException { Message: "The client reset the request stream." };

    [Theory]
    [MemberData(nameof(Cases))]
    public void PythonGrpcClient_Passes(string testCase)
    {
        Python.RequireGrpc();
        var logged = server.Logs.Entries.Count;
        var script = Path.Combine(Python.OutputDir, "interop", "interop_client.py");
        Assert.True(File.Exists(script), $"{script} is missing from the test output.");

        var (exitCode, stdout, stderr) = Python.Run(
            [script, "--server_host", "127.0.0.1", "--server_port", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--test_case", testCase],
            TimeSpan.FromSeconds(120));

        Assert.True(exitCode != 3, $"A prerequisite is missing: {stderr.Trim()}\nInstall: {Python.InstallHint}");
        Assert.True(exitCode == 0, $"interop case {testCase} failed (exit {exitCode}).\nstdout:\n{stdout}\nstderr:\n{stderr}");
        var errors = server.Logs.Entries.Skip(logged)
            .Where(e => e.Level >= LogLevel.Error && !(ClientResets.Contains(testCase) && IsResetRace(e)))
            .Select(e => $"{e.Category}[{e.EventId.Id}]: {e.Message} {e.Exception}")
            .ToList();
        Assert.True(errors.Count == 0, "The interop server logged errors:\n" + string.Join("\n", errors));
    }
}
