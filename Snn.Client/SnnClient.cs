using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Snn.Client.Specs;
using Snn.Protos.V1;

namespace Snn.Client;

/// <summary>
/// A friendly client for the <c>snn.v1.Snn</c> service (and <c>grpc.health.v1.Health</c>) over
/// Grpc.Net.Client: typed calls, <see cref="RunSession"/> for driving an instance, and
/// <see cref="WatchAsync"/> for listening. Everything else of gRPC is at hand: <see cref="Api"/> is
/// the generated client, <see cref="Channel"/> the channel, and every call takes
/// <see cref="CallOptions"/> (headers, deadline, cancellation, credentials). Thread-safe: share one
/// instance. Failed calls throw <see cref="RpcException"/>.
/// </summary>
public sealed class SnnClient : IDisposable
{
    /// <summary>
    /// The largest message sent and received unless the channel options say otherwise: 4 MiB, the
    /// server's default, so that an oversized request fails here before it is sent.
    /// </summary>
    public const int DefaultMaxMessageSize = 4 << 20;

    private readonly GrpcChannel? _ownedChannel;

    /// <summary>
    /// Connects to <paramref name="address"/> (<c>http://host:port</c> for h2c, <c>https://</c> for TLS).
    /// <paramref name="options"/> sets message limits, retries, the HTTP handler and more; the
    /// channel is disposed with the client.
    /// </summary>
    public SnnClient(Uri address, GrpcChannelOptions? options = null)
        : this(CreateChannel(address, options))
    {
        _ownedChannel = Channel;
    }

    /// <summary>Connects through <paramref name="handler"/> (not disposed by the client), e.g. a handler with client certificates.</summary>
    public SnnClient(Uri address, HttpMessageHandler handler)
        : this(address, new GrpcChannelOptions { HttpHandler = handler ?? throw new ArgumentNullException(nameof(handler)), DisposeHttpClient = false })
    {
    }

    /// <summary>Uses <paramref name="channel"/> (not disposed by the client).</summary>
    public SnnClient(GrpcChannel channel)
        : this((CallInvoker)(channel ?? throw new ArgumentNullException(nameof(channel))).CreateCallInvoker())
    {
        Channel = channel;
    }

    /// <summary>
    /// Calls through <paramref name="invoker"/>, e.g. <c>channel.Intercept(myInterceptor)</c> for client interceptors.
    /// </summary>
    public SnnClient(CallInvoker invoker)
    {
        ArgumentNullException.ThrowIfNull(invoker);

        // Default headers are added to every call's own, through the invoker, so that every call shape gets them.
        var withDefaults = invoker.Intercept(AddDefaultHeaders);
        Api = new Protos.V1.Snn.SnnClient(withDefaults);
        Health = new Health.HealthClient(withDefaults);
    }

    /// <summary>The channel, when the client was made from an address or a channel.</summary>
    public GrpcChannel? Channel { get; }

    /// <summary>The generated <c>snn.v1.Snn</c> client (Grpc.Tools), for anything this class does not wrap.</summary>
    public Protos.V1.Snn.SnnClient Api { get; }

    /// <summary>The generated <c>grpc.health.v1.Health</c> client.</summary>
    public Health.HealthClient Health { get; }

    /// <summary>Metadata sent with every call (after the call's own), e.g. <c>authorization: Bearer KEY</c>.</summary>
    public Metadata DefaultHeaders { get; } = [];

    /// <summary>Describes the server: version, backend, limits and neuron models.</summary>
    public Task<ServerInfo> GetServerInfoAsync(GetServerInfoRequest? request = null, CallOptions options = default) =>
        Api.GetServerInfoAsync(request ?? new GetServerInfoRequest(), options).ResponseAsync;

    /// <summary>Creates a network from a spec.</summary>
    public Task<Network> CreateNetworkAsync(CreateNetworkRequest request, CallOptions options = default) =>
        Api.CreateNetworkAsync(request, options).ResponseAsync;

    /// <summary>
    /// Creates a network from a spec file, JSON or YAML, with weights inline or in <c>.npy</c> files
    /// (see <see cref="NetworkSpecFile"/>). A mistake in the file throws <see cref="NetworkSpecException"/>
    /// before anything is sent; the server's INVALID_ARGUMENT comes back as an <see cref="RpcException"/>
    /// whose detail starts with the file and the line of the field it names.
    /// </summary>
    public Task<Network> CreateNetworkFromFileAsync(string path, CallOptions options = default) =>
        CreateNetworkAsync(NetworkSpecFile.Load(path), options);

    /// <summary>Creates a network from a loaded spec file; the server's INVALID_ARGUMENT names the file and line.</summary>
    public async Task<Network> CreateNetworkAsync(NetworkSpecFile file, CallOptions options = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        try
        {
            return await CreateNetworkAsync(file.ToRequest(), options).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
        {
            throw new RpcException(new Status(e.StatusCode, file.Annotate(e.Status.Detail), e.Status.DebugException), e.Trailers);
        }
    }

    /// <summary>Returns one network.</summary>
    public Task<Network> GetNetworkAsync(GetNetworkRequest request, CallOptions options = default) =>
        Api.GetNetworkAsync(request, options).ResponseAsync;

    /// <summary>Lists all networks (without weights).</summary>
    public Task<ListNetworksResponse> ListNetworksAsync(ListNetworksRequest? request = null, CallOptions options = default) =>
        Api.ListNetworksAsync(request ?? new ListNetworksRequest(), options).ResponseAsync;

    /// <summary>Deletes a network.</summary>
    public Task<DeleteNetworkResponse> DeleteNetworkAsync(DeleteNetworkRequest request, CallOptions options = default) =>
        Api.DeleteNetworkAsync(request, options).ResponseAsync;

    /// <summary>Changes population parameters or projection weights.</summary>
    public Task<SetParametersResponse> SetParametersAsync(SetParametersRequest request, CallOptions options = default) =>
        Api.SetParametersAsync(request, options).ResponseAsync;

    /// <summary>Resets the state of one instance (or all).</summary>
    public Task<ResetStateResponse> ResetStateAsync(ResetStateRequest request, CallOptions options = default) =>
        Api.ResetStateAsync(request, options).ResponseAsync;

    /// <summary>Reads state variables of a population for one instance.</summary>
    public Task<GetStateResponse> GetStateAsync(GetStateRequest request, CallOptions options = default) =>
        Api.GetStateAsync(request, options).ResponseAsync;

    /// <summary>Snapshots the live state of one instance or all, stored durably before the answer.</summary>
    public Task<Snapshot> SaveSnapshotAsync(SaveSnapshotRequest request, CallOptions options = default) =>
        Api.SaveSnapshotAsync(request, options).ResponseAsync;

    /// <summary>Lists a network's snapshots, oldest first.</summary>
    public Task<ListSnapshotsResponse> ListSnapshotsAsync(ListSnapshotsRequest request, CallOptions options = default) =>
        Api.ListSnapshotsAsync(request, options).ResponseAsync;

    /// <summary>Puts a snapshot's state back into its network.</summary>
    public Task<RestoreSnapshotResponse> RestoreSnapshotAsync(RestoreSnapshotRequest request, CallOptions options = default) =>
        Api.RestoreSnapshotAsync(request, options).ResponseAsync;

    /// <summary>Deletes a stored snapshot.</summary>
    public Task<DeleteSnapshotResponse> DeleteSnapshotAsync(DeleteSnapshotRequest request, CallOptions options = default) =>
        Api.DeleteSnapshotAsync(request, options).ResponseAsync;

    /// <summary>Creates a new network from a network's definition and one of its snapshots.</summary>
    public Task<Network> ForkNetworkAsync(ForkNetworkRequest request, CallOptions options = default) =>
        Api.ForkNetworkAsync(request, options).ResponseAsync;

    /// <summary>
    /// Creates a network from a NIR graph (a .nir file's bytes in <see cref="ImportNetworkRequest.Nir"/>); the
    /// reply holds the network and every conversion made. A malformed file fails with INVALID_ARGUMENT naming
    /// the node and the field; a lossy conversion under <c>strict</c> with FAILED_PRECONDITION.
    /// </summary>
    public Task<ImportNetworkResponse> ImportNetworkAsync(ImportNetworkRequest request, CallOptions options = default) =>
        Api.ImportNetworkAsync(request, options).ResponseAsync;

    /// <summary>
    /// Creates network <paramref name="name"/> from the NIR graph read from <paramref name="nir"/> (to its end),
    /// discretised as <paramref name="flavor"/>'s importer does ("generic", "snntorch", "norse", "sinabs";
    /// empty = generic) with <paramref name="dt"/> seconds per step (0 = 0.001). For instances, the clock and
    /// the rest, use the <see cref="ImportNetworkRequest"/> overload.
    /// </summary>
    public async Task<ImportNetworkResponse> ImportNetworkAsync(string name, Stream nir, string flavor = "", double dt = 0,
        bool strict = false, CallOptions options = default)
    {
        ArgumentNullException.ThrowIfNull(nir);
        var bytes = await ByteString.FromStreamAsync(nir, options.CancellationToken).ConfigureAwait(false);
        return await ImportNetworkAsync(new ImportNetworkRequest { Name = name, Nir = bytes, Flavor = flavor, Dt = dt, Strict = strict }, options)
            .ConfigureAwait(false);
    }

    /// <summary>Writes a network as a NIR graph: the .nir file's bytes and what each part became.</summary>
    public Task<ExportNetworkResponse> ExportNetworkAsync(ExportNetworkRequest request, CallOptions options = default) =>
        Api.ExportNetworkAsync(request, options).ResponseAsync;

    /// <summary>Writes network <paramref name="name"/> as a NIR graph: the .nir file's bytes and what each part became.</summary>
    public Task<ExportNetworkResponse> ExportNetworkAsync(string name, CallOptions options = default) =>
        ExportNetworkAsync(new ExportNetworkRequest { Name = name }, options);

    /// <summary>
    /// Starts a <c>Run</c> stream. Call <see cref="RunSession.OpenAsync"/> first; dispose the
    /// session to cancel the stream. <paramref name="options"/>' deadline and token cover the whole stream.
    /// </summary>
    public RunSession Run(CallOptions options = default) => new(Api.Run(options));

    /// <summary>Starts a <c>Run</c> stream and opens it: sends <paramref name="open"/> and waits for <c>opened</c>.</summary>
    public async Task<RunSession> OpenRunAsync(RunOpen open, CallOptions options = default)
    {
        var session = Run(options);
        try
        {
            await session.OpenAsync(open, options.CancellationToken).ConfigureAwait(false);
            return session;
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Watches an instance without driving it: yields the <c>opened</c> response, then step outputs
    /// and periodic statuses until the stream ends (or <paramref name="options"/>' token cancels it).
    /// </summary>
    /// <exception cref="RpcException">The stream ended with a status other than OK (e.g. RESOURCE_EXHAUSTED for a watcher that fell behind).</exception>
    public async IAsyncEnumerable<RunResponse> WatchAsync(WatchRequest request, CallOptions options = default)
    {
        using var call = Api.Watch(request, options);
        while (await call.ResponseStream.MoveNext(options.CancellationToken).ConfigureAwait(false))
        {
            yield return call.ResponseStream.Current;
        }
    }

    /// <summary>
    /// Asks <c>grpc.health.v1.Health/Check</c> about <paramref name="service"/> ("" = the server).
    /// A service the server does not know fails with NOT_FOUND.
    /// </summary>
    public async Task<HealthCheckResponse.Types.ServingStatus> HealthCheckAsync(string service = "", CallOptions options = default)
    {
        var response = await Health.CheckAsync(new HealthCheckRequest { Service = service }, options).ResponseAsync.ConfigureAwait(false);
        return response.Status;
    }

    /// <summary>Releases the channel if this instance created it.</summary>
    public void Dispose() => _ownedChannel?.Dispose();

    private static GrpcChannel CreateChannel(Uri address, GrpcChannelOptions? options)
    {
        ArgumentNullException.ThrowIfNull(address);
        options ??= new GrpcChannelOptions();
        options.MaxReceiveMessageSize ??= DefaultMaxMessageSize;
        options.MaxSendMessageSize ??= DefaultMaxMessageSize;
        return GrpcChannel.ForAddress(address, options);
    }

    /// <summary>The call's own headers, then the defaults, in a new collection (the caller's may be reused or shared).</summary>
    private Metadata AddDefaultHeaders(Metadata? headers)
    {
        if (DefaultHeaders.Count == 0)
        {
            return headers!;
        }

        var all = new Metadata();
        foreach (var entry in headers ?? [])
        {
            all.Add(entry);
        }

        foreach (var entry in DefaultHeaders)
        {
            all.Add(entry);
        }

        return all;
    }
}
