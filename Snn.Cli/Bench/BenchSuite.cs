using Grpc.Core;
using Snn.Client;

namespace Snn.Cli.Bench;

/// <summary>One measured figure of one repetition, e.g. ("p99", 312.5, "µs").</summary>
internal readonly record struct Figure(string Name, double Value, string Unit);

/// <summary>What a suite needs while it runs: the server, a client, the settings and where to print.</summary>
internal sealed class BenchContext(SnnClient client, Uri server, BenchSettings settings, TextWriter output, string prefix)
{
    public SnnClient Client { get; } = client;

    public Uri Server { get; } = server;

    public BenchSettings Settings { get; } = settings;

    public TextWriter Output { get; } = output;

    /// <summary>Prefix of every network a suite creates (unique per run, so a shared server is not disturbed).</summary>
    public string Prefix { get; } = prefix;
}

/// <summary>
/// One benchmark: set up once, run <see cref="BenchSettings.Repeat"/> times (each repetition returns
/// its figures), clean up. Suites measure end to end: client process, HTTP/2 on loopback, server process.
/// </summary>
internal abstract class BenchSuite
{
    /// <summary>The suite name on the command line, e.g. lockstep-rtt.</summary>
    public abstract string Name { get; }

    /// <summary>The workload in one line, for the console and the report.</summary>
    public abstract string Describe(BenchSettings settings);

    public virtual Task SetupAsync(BenchContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    public abstract Task<IReadOnlyList<Figure>> RunOnceAsync(BenchContext context, int repetition, CancellationToken cancellationToken);

    public virtual Task CleanupAsync(BenchContext context) => Task.CompletedTask;

    /// <summary>Deletes a network, ignoring NOT_FOUND and a server that is already gone.</summary>
    protected static async Task DeleteQuietlyAsync(BenchContext context, string name)
    {
        try
        {
            await context.Client.DeleteNetworkAsync(new Snn.Protos.V1.DeleteNetworkRequest { Name = name }, new CallOptions(deadline: DateTime.UtcNow + TimeSpan.FromSeconds(30)));
        }
        catch (RpcException)
        {
            // Cleanup only.
        }
    }
}

/// <summary>
/// A suite that runs on one LOCKSTEP network of <see cref="Neurons"/> snntorch.Leaky neurons
/// (input → one_to_one → Leaky), created in setup and deleted in cleanup.
/// </summary>
internal abstract class LeakyNetworkSuite(string suffix) : BenchSuite
{
    public const int Neurons = 1000;

    /// <summary>The network's name on the server (set in setup).</summary>
    protected string Network { get; private set; } = "";

    public override async Task SetupAsync(BenchContext context, CancellationToken cancellationToken)
    {
        Network = context.Prefix + "-" + suffix;
        await DeleteQuietlyAsync(context, Network);
        await context.Client.CreateNetworkAsync(
            new Snn.Protos.V1.CreateNetworkRequest { Spec = BenchNetworks.Leaky(Network, Neurons, Snn.Protos.V1.ClockMode.Lockstep) },
            new CallOptions(cancellationToken: cancellationToken));
    }

    public override Task CleanupAsync(BenchContext context) => DeleteQuietlyAsync(context, Network);
}
