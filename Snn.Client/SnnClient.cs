using Snn.Client.Internal;
using Snn.Grpc;
using Snn.Grpc.Health.V1;
using Snn.Protos.V1;

namespace Snn.Client;

/// <summary>
/// A typed client for the <c>snn.v1.Snn</c> service (and <c>grpc.health.v1.Health</c>) over
/// HTTP/2. Thread-safe: share one instance. Failed calls throw <see cref="RpcException"/>.
/// </summary>
public sealed class SnnClient : IDisposable
{
    private const string Service = "/snn.v1.Snn/";
    private readonly GrpcConnection _connection;

    /// <summary>Connects to <paramref name="address"/> (<c>http://host:port</c> for h2c, <c>https://</c> for TLS).</summary>
    public SnnClient(Uri address)
        : this(GrpcConnection.CreateHttpClient(address), disposeHttpClient: true)
    {
    }

    /// <summary>Connects through <paramref name="handler"/> (not disposed by the client), e.g. a handler with client certificates.</summary>
    public SnnClient(Uri address, HttpMessageHandler handler)
        : this(GrpcConnection.CreateHttpClient(address, handler ?? throw new ArgumentNullException(nameof(handler)), disposeHandler: false), disposeHttpClient: true)
    {
    }

    /// <summary>
    /// Uses <paramref name="httpClient"/> (not disposed by the client). It needs a
    /// <see cref="HttpClient.BaseAddress"/> and an infinite <see cref="HttpClient.Timeout"/>
    /// (streams last); every request is sent as HTTP/2 exactly.
    /// </summary>
    public SnnClient(HttpClient httpClient)
        : this(httpClient, disposeHttpClient: false)
    {
    }

    private SnnClient(HttpClient httpClient, bool disposeHttpClient)
    {
        _connection = new GrpcConnection(httpClient, disposeHttpClient);
    }

    /// <summary>Metadata sent with every call, e.g. <c>authorization: Bearer KEY</c>.</summary>
    public Metadata DefaultHeaders => _connection.DefaultHeaders;

    /// <summary>The largest response message accepted. Defaults to 4 MiB.</summary>
    public int MaxReceiveMessageSize
    {
        get => _connection.MaxReceiveMessageSize;
        set => _connection.MaxReceiveMessageSize = value;
    }

    /// <summary>The largest request message sent. Defaults to 4 MiB.</summary>
    public int MaxSendMessageSize
    {
        get => _connection.MaxSendMessageSize;
        set => _connection.MaxSendMessageSize = value;
    }

    /// <summary>Describes the server: version, backend, limits and neuron models.</summary>
    public Task<ServerInfo> GetServerInfoAsync(GetServerInfoRequest? request = null, CallOptions options = default) =>
        _connection.UnaryAsync(Service + "GetServerInfo", request ?? new GetServerInfoRequest(), ServerInfo.Parser, options);

    /// <summary>Creates a network from a spec.</summary>
    public Task<Network> CreateNetworkAsync(CreateNetworkRequest request, CallOptions options = default) =>
        _connection.UnaryAsync(Service + "CreateNetwork", request, Network.Parser, options);

    /// <summary>Returns one network.</summary>
    public Task<Network> GetNetworkAsync(GetNetworkRequest request, CallOptions options = default) =>
        _connection.UnaryAsync(Service + "GetNetwork", request, Network.Parser, options);

    /// <summary>Lists all networks (without weights).</summary>
    public Task<ListNetworksResponse> ListNetworksAsync(ListNetworksRequest? request = null, CallOptions options = default) =>
        _connection.UnaryAsync(Service + "ListNetworks", request ?? new ListNetworksRequest(), ListNetworksResponse.Parser, options);

    /// <summary>Deletes a network.</summary>
    public Task<DeleteNetworkResponse> DeleteNetworkAsync(DeleteNetworkRequest request, CallOptions options = default) =>
        _connection.UnaryAsync(Service + "DeleteNetwork", request, DeleteNetworkResponse.Parser, options);

    /// <summary>Changes population parameters or projection weights.</summary>
    public Task<SetParametersResponse> SetParametersAsync(SetParametersRequest request, CallOptions options = default) =>
        _connection.UnaryAsync(Service + "SetParameters", request, SetParametersResponse.Parser, options);

    /// <summary>Resets the state of one instance (or all).</summary>
    public Task<ResetStateResponse> ResetStateAsync(ResetStateRequest request, CallOptions options = default) =>
        _connection.UnaryAsync(Service + "ResetState", request, ResetStateResponse.Parser, options);

    /// <summary>Reads state variables of a population for one instance.</summary>
    public Task<GetStateResponse> GetStateAsync(GetStateRequest request, CallOptions options = default) =>
        _connection.UnaryAsync(Service + "GetState", request, GetStateResponse.Parser, options);

    /// <summary>
    /// Starts a <c>Run</c> stream. Call <see cref="RunSession.OpenAsync"/> first; dispose the
    /// session to cancel the stream. <paramref name="options"/>' deadline and token cover the whole stream.
    /// </summary>
    public RunSession Run(CallOptions options = default) =>
        new(_connection.Streaming<RunRequest, RunResponse>(Service + "Run", RunResponse.Parser, options));

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
        using var call = _connection.ServerStreaming<WatchRequest, RunResponse>(Service + "Watch", request, RunResponse.Parser, options);
        while (await call.MoveNextAsync(options.CancellationToken).ConfigureAwait(false))
        {
            yield return call.Current;
        }
    }

    /// <summary>
    /// Asks <c>grpc.health.v1.Health/Check</c> about <paramref name="service"/> ("" = the server).
    /// A service the server does not know fails with NOT_FOUND.
    /// </summary>
    public async Task<HealthCheckResponse.Types.ServingStatus> HealthCheckAsync(string service = "", CallOptions options = default)
    {
        var response = await _connection.UnaryAsync("/grpc.health.v1.Health/Check", new HealthCheckRequest { Service = service }, HealthCheckResponse.Parser, options).ConfigureAwait(false);
        return response.Status;
    }

    /// <summary>Releases the HTTP client if this instance created it.</summary>
    public void Dispose() => _connection.Dispose();
}
