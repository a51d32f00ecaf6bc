using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Snn.Protos.V1;

namespace Snn.Client.Tests;

/// <summary>
/// A stand-in snn.v1 server on loopback (h2c, Grpc.AspNetCore, the generated SnnBase) that records
/// every request's path and headers as they arrived, so tests see what the client really sent.
/// </summary>
internal sealed class FakeSnnServer : IAsyncDisposable
{
    /// <summary>The name GetNetwork answers with a network whose spec name is this many bytes.</summary>
    public const string BigNetwork = "big";

    public const int BigNetworkBytes = 5 << 20;

    private readonly WebApplication _app;

    private FakeSnnServer(WebApplication app, Uri address, ConcurrentQueue<Request> requests)
    {
        _app = app;
        Address = address;
        Requests = requests;
    }

    public Uri Address { get; }

    /// <summary>Every HTTP request the server received, in order of arrival.</summary>
    public ConcurrentQueue<Request> Requests { get; }

    public static async Task<FakeSnnServer> StartAsync()
    {
        var requests = new ConcurrentQueue<Request>();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));

        // Larger limits than the client's defaults, so that a refusal of a big message is the client's.
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = 64 << 20;
            o.MaxSendMessageSize = 64 << 20;
        });
        builder.Services.AddGrpcHealthChecks().AddCheck("fake", () => HealthCheckResult.Healthy());
        var app = builder.Build();
        app.Use(async (http, next) =>
        {
            requests.Enqueue(new Request(http.Request.Path, http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
            await next(http);
        });
        app.MapGrpcService<FakeSnn>();
        app.MapGrpcHealthChecksService();
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        return new FakeSnnServer(app, address, requests);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
    }

    internal sealed record Request(string Path, IReadOnlyDictionary<string, string> Headers)
    {
        public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
    }

    /// <summary>Answers every unary method with an empty reply, and Run and Watch like a tiny instance.</summary>
    private sealed class FakeSnn : Protos.V1.Snn.SnnBase
    {
        public override Task<ServerInfo> GetServerInfo(GetServerInfoRequest request, ServerCallContext context) =>
            Task.FromResult(new ServerInfo { Version = "fake" });

        public override Task<Network> CreateNetwork(CreateNetworkRequest request, ServerCallContext context) =>
            Task.FromResult(new Network { Spec = new NetworkSpec { Name = request.Spec?.Name ?? string.Empty } });

        public override Task<Network> GetNetwork(GetNetworkRequest request, ServerCallContext context) =>
            Task.FromResult(new Network { Spec = new NetworkSpec { Name = request.Name == BigNetwork ? new string('n', BigNetworkBytes) : request.Name } });

        public override Task<ListNetworksResponse> ListNetworks(ListNetworksRequest request, ServerCallContext context) =>
            Task.FromResult(new ListNetworksResponse());

        public override Task<DeleteNetworkResponse> DeleteNetwork(DeleteNetworkRequest request, ServerCallContext context) =>
            Task.FromResult(new DeleteNetworkResponse());

        public override Task<SetParametersResponse> SetParameters(SetParametersRequest request, ServerCallContext context) =>
            Task.FromResult(new SetParametersResponse());

        public override Task<ResetStateResponse> ResetState(ResetStateRequest request, ServerCallContext context) =>
            Task.FromResult(new ResetStateResponse());

        public override Task<GetStateResponse> GetState(GetStateRequest request, ServerCallContext context) =>
            Task.FromResult(new GetStateResponse { Step = 7 });

        /// <summary>Echoes what arrived: the network under the name, and one report line with the file's bytes, flavour, dt and strict.</summary>
        public override Task<ImportNetworkResponse> ImportNetwork(ImportNetworkRequest request, ServerCallContext context) =>
            Task.FromResult(new ImportNetworkResponse
            {
                Network = new Network { Spec = new NetworkSpec { Name = request.Name, Instances = request.Instances } },
                Report = { new NirConversion { Node = Convert.ToHexString(request.Nir.Span), Becomes = request.Flavor, Detail = FormattableString.Invariant($"dt={request.Dt} strict={request.Strict}") } },
            });

        /// <summary>The "file" is the network's name in UTF-8, with one lossy report line.</summary>
        public override Task<ExportNetworkResponse> ExportNetwork(ExportNetworkRequest request, ServerCallContext context) =>
            Task.FromResult(new ExportNetworkResponse
            {
                Nir = Google.Protobuf.ByteString.CopyFromUtf8(request.Name),
                Report = { new NirConversion { Node = request.Name, Becomes = "CubaLIF", Lossy = true } },
            });

        /// <summary>open → opened; advance N → one response with the next N steps; half-close → OK. Network "busy" is refused.</summary>
        public override async Task Run(IAsyncStreamReader<RunRequest> requestStream, IServerStreamWriter<RunResponse> responseStream, ServerCallContext context)
        {
            if (!await requestStream.MoveNext() || requestStream.Current.Open is not { } open)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "the first request must be open"));
            }

            if (open.Network == "busy")
            {
                throw new RpcException(new Status(StatusCode.AlreadyExists, "instance 0 has a driver"));
            }

            await responseStream.WriteAsync(new RunResponse { Opened = new RunOpened { Network = open.Network, Instance = open.Instance } });
            ulong step = 0;
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                var steps = new RunResponse();
                for (var i = 0u; i < request.Advance; i++)
                {
                    steps.Steps.Add(new StepOutput { Step = step++ });
                }

                await responseStream.WriteAsync(steps);
            }
        }

        /// <summary>opened, then three steps, then OK; network "gone" is NOT_FOUND after opened.</summary>
        public override async Task Watch(WatchRequest request, IServerStreamWriter<RunResponse> responseStream, ServerCallContext context)
        {
            await responseStream.WriteAsync(new RunResponse { Opened = new RunOpened { Network = request.Network, Instance = request.Instance } });
            if (request.Network == "gone")
            {
                throw new RpcException(new Status(StatusCode.NotFound, "network gone was deleted"));
            }

            for (ulong step = 0; step < 3; step++)
            {
                await responseStream.WriteAsync(new RunResponse { Steps = { new StepOutput { Step = step } } });
            }
        }
    }
}
