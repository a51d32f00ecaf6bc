using System.CommandLine;
using Snn.Cli.Commands;
using Snn.Client;
using Grpc.Core;

namespace Snn.Cli;

/// <summary>
/// The <c>snn</c> command line. <see cref="InvokeAsync"/> parses and runs one command, writing to the
/// given writers, so the tests run it in-process exactly as the executable does.
/// </summary>
public static class SnnCli
{
    /// <summary>The server used when neither <c>--server</c> nor <c>SNN_SERVER</c> is given.</summary>
    public const string DefaultServer = "http://127.0.0.1:50051";

    /// <summary>Environment variable naming the server.</summary>
    public const string ServerVariable = "SNN_SERVER";

    /// <summary>
    /// Environment variable holding the API key sent as <c>authorization: Bearer KEY</c> (a server with keys needs one).
    /// Not an option: a key on the command line would show in process lists and shell history.
    /// </summary>
    public const string KeyVariable = "SNN_API_KEY";

    /// <summary>Exit code of a failed gRPC call (the status is printed on stderr).</summary>
    public const int RpcFailed = 1;

    /// <summary>Exit code of a usage error: a bad option value, an unreadable file (System.CommandLine's own parse errors also give 1).</summary>
    public const int UsageError = 2;

    /// <summary>Exit code when a benchmark could not produce its figures (e.g. a watcher missed steps).</summary>
    public const int BenchFailed = 3;

    /// <summary>Exit code after Ctrl+C.</summary>
    public const int Cancelled = 130;

    /// <summary>Parses <paramref name="args"/> and runs the command; returns the process exit code.</summary>
    public static Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default) =>
        InvokeAsync(args, output, error, terminal: null, cancellationToken);

    /// <summary>As the executable runs it: <paramref name="terminal"/> says which standard streams are terminals (progress bars).</summary>
    internal static Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error, Internal.TerminalInfo? terminal, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        var context = new CliContext(output, error, args) { Terminal = terminal };
        var root = BuildRootCommand(context);
        var configuration = new InvocationConfiguration { Output = output, Error = error };
        return root.Parse(args).InvokeAsync(configuration, cancellationToken);
    }

    internal static RootCommand BuildRootCommand(CliContext context)
    {
        var root = new RootCommand("snn: manage, drive and benchmark spiking neural networks on an SnnService server.");
        root.Options.Add(context.ServerOption);
        root.Subcommands.Add(InfoCommand.Create(context));
        root.Subcommands.Add(NetworkCommands.List(context));
        root.Subcommands.Add(NetworkCommands.Get(context));
        root.Subcommands.Add(NetworkCommands.Create(context));
        root.Subcommands.Add(NetworkCommands.Delete(context));
        root.Subcommands.Add(NirCommands.Import(context));
        root.Subcommands.Add(NirCommands.Export(context));
        root.Subcommands.Add(RunCommand.Create(context));
        root.Subcommands.Add(WatchCommand.Create(context));
        root.Subcommands.Add(ReplayCommand.Create(context));
        root.Subcommands.Add(BenchCommand.Create(context));
        return root;
    }

    /// <summary>Runs a command body and turns its failures into a message on stderr and an exit code.</summary>
    internal static async Task<int> Guard(CliContext context, Func<Task<int>> body, CancellationToken cancellationToken)
    {
        try
        {
            return await body();
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            return Cancelled;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Cancelled;
        }
        catch (RpcException e)
        {
            await context.Output.FlushAsync(CancellationToken.None);
            await context.Error.WriteLineAsync(Internal.ConnectionFailure.Describe(e, context.Server) is { } failure
                ? "error: cannot reach the server: " + failure
                : FormatStatus(e.Status));
            return RpcFailed;
        }
        catch (CliException e)
        {
            await context.Error.WriteLineAsync("error: " + e.Message);
            return UsageError;
        }
    }

    /// <summary>"error: NOT_FOUND (5): network 'x' does not exist".</summary>
    internal static string FormatStatus(Status status) =>
        $"error: {StatusName(status.StatusCode)} ({(int)status.StatusCode}): {(status.Detail.Length > 0 ? status.Detail : "(no message)")}";

    /// <summary>The status code as the gRPC specification spells it, e.g. NOT_FOUND.</summary>
    internal static string StatusName(StatusCode code) => code switch
    {
        StatusCode.OK => "OK",
        StatusCode.Cancelled => "CANCELLED",
        StatusCode.Unknown => "UNKNOWN",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.AlreadyExists => "ALREADY_EXISTS",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        StatusCode.Aborted => "ABORTED",
        StatusCode.OutOfRange => "OUT_OF_RANGE",
        StatusCode.Unimplemented => "UNIMPLEMENTED",
        StatusCode.Internal => "INTERNAL",
        StatusCode.Unavailable => "UNAVAILABLE",
        StatusCode.DataLoss => "DATA_LOSS",
        StatusCode.Unauthenticated => "UNAUTHENTICATED",
        _ => ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>What every command shares: the output writers, the global <c>--server</c> option and the raw arguments.</summary>
internal sealed class CliContext(TextWriter output, TextWriter error, IReadOnlyList<string> args)
{
    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>Which standard streams are terminals; null in-process (tests), where no progress bar is drawn.</summary>
    public Internal.TerminalInfo? Terminal { get; init; }

    /// <summary>The arguments of this invocation, for reports ("the command").</summary>
    public IReadOnlyList<string> Args { get; } = args;

    public Option<string> ServerOption { get; } = new("--server", "-s")
    {
        Description = $"Server address (http:// for h2c, https:// for TLS). Defaults to ${SnnCli.ServerVariable}, else {SnnCli.DefaultServer}.",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(SnnCli.ServerVariable) is { Length: > 0 } env ? env : SnnCli.DefaultServer,
    };

    /// <summary>The server the command talks to, once <see cref="ServerAddress"/> has read it (for connection errors).</summary>
    public Uri? Server { get; private set; }

    public Uri ServerAddress(ParseResult parseResult)
    {
        var text = parseResult.GetValue(ServerOption) ?? SnnCli.DefaultServer;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliException($"--server '{text}' is not an http:// or https:// address");
        }

        Server = uri;
        return uri;
    }

    /// <summary>Whether <c>--server</c> was given on the command line (not taken from the default or the environment).</summary>
    public bool ServerGiven(ParseResult parseResult) => parseResult.GetResult(ServerOption) is { Implicit: false };

    public SnnClient Connect(ParseResult parseResult)
    {
        var client = new SnnClient(ServerAddress(parseResult));
        if (Environment.GetEnvironmentVariable(SnnCli.KeyVariable) is { Length: > 0 } key)
        {
            client.DefaultHeaders.Add("authorization", "Bearer " + key);
        }

        return client;
    }
}
