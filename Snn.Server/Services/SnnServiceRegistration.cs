using Snn.Protos.V1;
using Snn.Server.Rpc;

namespace Snn.Server.Services;

/// <summary>Binds the <c>snn.v1.Snn</c> methods to their handlers on the transport's route table.</summary>
internal static class SnnServiceRegistration
{
    public static void Register(GrpcRouter router, SnnService service, RunHandler run, WatchHandler watch)
    {
        const string s = SnnService.ServiceName;
        router.AddUnary<GetServerInfoRequest, ServerInfo>(s, "GetServerInfo", GetServerInfoRequest.Parser, service.GetServerInfo);
        router.AddUnary<CreateNetworkRequest, Protos.V1.Network>(s, "CreateNetwork", CreateNetworkRequest.Parser, service.CreateNetwork);
        router.AddUnary<GetNetworkRequest, Protos.V1.Network>(s, "GetNetwork", GetNetworkRequest.Parser, service.GetNetwork);
        router.AddUnary<ListNetworksRequest, ListNetworksResponse>(s, "ListNetworks", ListNetworksRequest.Parser, service.ListNetworks);
        router.AddUnary<DeleteNetworkRequest, DeleteNetworkResponse>(s, "DeleteNetwork", DeleteNetworkRequest.Parser, service.DeleteNetwork);
        router.AddUnary<SetParametersRequest, SetParametersResponse>(s, "SetParameters", SetParametersRequest.Parser, service.SetParameters);
        router.AddUnary<ResetStateRequest, ResetStateResponse>(s, "ResetState", ResetStateRequest.Parser, service.ResetState);
        router.AddUnary<GetStateRequest, GetStateResponse>(s, "GetState", GetStateRequest.Parser, service.GetState);
        router.AddDuplexStreaming<RunRequest, FrameBatch>(s, "Run", RunRequest.Parser, run.Run);
        router.AddServerStreaming<WatchRequest, FrameBatch>(s, "Watch", WatchRequest.Parser, watch.Watch);
    }
}
