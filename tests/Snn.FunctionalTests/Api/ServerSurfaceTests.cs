using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using Microsoft.Extensions.DependencyInjection;
using Snn.Client;
using Snn.FunctionalTests.Infrastructure;
using Snn.Protos.V1;
using Snn.Server;

namespace Snn.FunctionalTests.Api;

/// <summary>What generic gRPC tools see: server reflection, health, and the message limit of <c>Snn:MaxMessageBytes</c>.</summary>
public sealed class ServerSurfaceTests(ApiServerFixture server) : ApiTest(server)
{
    [Fact]
    public async Task Server_reflection_lists_the_services_and_describes_snn_v1_Snn_for_a_generic_client()
    {
        using var channel = GrpcChannel.ForAddress(Server.Address);
        var reflection = new ServerReflection.ServerReflectionClient(channel);
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" }).Within();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).Within());
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("snn.v1.Snn", services);
        Assert.Contains("grpc.health.v1.Health", services);

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "snn.v1.Snn" }).Within();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).Within());
        var file = Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(
            call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto[0]);
        Assert.Equal("snn/v1/snn.proto", file.Name);
        Assert.Equal(["GetServerInfo", "CreateNetwork", "GetNetwork", "ListNetworks", "DeleteNetwork", "Run", "Watch", "SetParameters", "ResetState", "GetState",
            "SaveSnapshot", "ListSnapshots", "RestoreSnapshot", "DeleteSnapshot", "ForkNetwork", "ImportNetwork", "ExportNetwork"],
            file.Service.Single().Method.Select(m => m.Name));
        await call.RequestStream.CompleteAsync().Within();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).Within());
    }

    [Fact]
    public void A_python_client_lists_and_calls_the_service_through_reflection_alone()
    {
        Python.RequireGrpc();
        var (code, stdout, stderr) = Python.Run(
            [Path.Combine(Python.OutputDir, "interop", "reflection_client.py"), "--port", Server.Address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            TimeSpan.FromSeconds(120));
        Assert.True(code == 0, $"reflection client failed ({code}):\n{stdout}\n{stderr}");
        Assert.Contains("PASS reflection", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_is_SERVING_for_the_server_and_the_API_and_NOT_FOUND_for_other_services()
    {
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await Client.HealthCheckAsync().Within());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await Client.HealthCheckAsync("snn.v1.Snn").Within());
        await Rpc.FailsAsync(StatusCode.NotFound, () => Client.HealthCheckAsync("no.such.Service"));
    }
}

/// <summary>Settings that change the surface; each test runs its own server.</summary>
public sealed class ServerSettingsTests
{
    [Fact]
    public async Task Reflection_can_be_turned_off()
    {
        await using var host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "", "--Snn:Reflection", "false"]).Within();
        using var channel = GrpcChannel.ForAddress(host.Address);
        using var call = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();
        // Only read: the call's headers are on the wire once it starts, and the server answers UNIMPLEMENTED
        // without reading a request. A request written meanwhile races that answer: when the answer comes
        // first, the write fails CANCELLED (the server reset the request side), which says nothing here.
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).Within());
        Assert.Equal(StatusCode.Unimplemented, e.StatusCode);
        Assert.Null(host.HttpAddress);
    }

    [Fact]
    public async Task A_browser_origin_listed_in_Snn_Cors_Origins_may_call_gRPC_Web_and_the_JSON_API_and_others_may_not()
    {
        await using var host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "http://127.0.0.1:0",
            "--Snn:Cors:Origins", "http://dashboard.test"]).Within();
        using var http = new HttpClient { BaseAddress = host.HttpAddress };

        async Task<HttpResponseMessage> Preflight(string origin, string path)
        {
            var request = new HttpRequestMessage(HttpMethod.Options, path);
            request.Headers.Add("Origin", origin);
            request.Headers.Add("Access-Control-Request-Method", "POST");
            request.Headers.Add("Access-Control-Request-Headers", "content-type,x-grpc-web");
            return await http.SendAsync(request).Within();
        }

        using var allowed = await Preflight("http://dashboard.test", "/snn.v1.Snn/GetServerInfo");
        Assert.Equal("http://dashboard.test", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        using var allowedJson = await Preflight("http://dashboard.test", "/v1/networks");
        Assert.Equal("http://dashboard.test", allowedJson.Headers.GetValues("Access-Control-Allow-Origin").Single());
        using var refused = await Preflight("http://elsewhere.test", "/snn.v1.Snn/GetServerInfo");
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Health_turns_NOT_SERVING_when_the_step_loop_stops_ticking()
    {
        await using var host = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", ""]).Within();
        using var client = new SnnClient(host.Address);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await client.HealthCheckAsync("snn.v1.Snn").Within());

        host.Services.GetRequiredService<Snn.Server.Engine.StepLoop>().Dispose();
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, await client.HealthCheckAsync().Within());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, await client.HealthCheckAsync("snn.v1.Snn").Within());
    }

    [Fact]
    public async Task A_unary_request_over_Kestrel_s_30_MB_default_works_when_Snn_MaxMessageBytes_allows_it_and_is_RESOURCE_EXHAUSTED_when_not()
    {
        // 3,000 x 3,000 dense weights: 36 MB of floats in one CreateNetwork.
        const int size = 3000;
        var spec = new NetworkSpec
        {
            Name = "big",
            Populations = { Specs.Population("a", "input", size), Specs.Population("b", "sinabs.IAF", size) },
            Projections = { Specs.Dense("w", "a", "b", new float[size * size]) },
        };
        var request = new CreateNetworkRequest { Spec = spec };
        Assert.True(request.CalculateSize() > 30_000_000);
        var sender = new GrpcChannelOptions { MaxSendMessageSize = 64 << 20 };

        await using (var roomy = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "", "--Snn:MaxMessageBytes", $"{64 << 20}"]).Within())
        {
            using var client = new SnnClient(roomy.Address, sender);
            var created = await client.CreateNetworkAsync(request).Within();
            Assert.Equal((ulong)size * size, created.Synapses);
            Assert.Equal((ulong)(64 << 20), (await client.GetServerInfoAsync().Within()).Limits.MaxMessageBytes);
        }

        await using var strict = await ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "", "--Snn:MaxMessageBytes", $"{32 << 20}"]).Within();
        using var refused = new SnnClient(strict.Address, new GrpcChannelOptions { MaxSendMessageSize = 64 << 20 });
        await Rpc.FailsAsync(StatusCode.ResourceExhausted, () => refused.CreateNetworkAsync(request));
        Assert.Empty((await refused.ListNetworksAsync().Within()).Networks);
    }
}
