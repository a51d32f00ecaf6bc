using System.Net;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Snn.FunctionalTests.Api;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Nir;

/// <summary>
/// NIR import and export for clients without gRPC: <c>POST /v1/networks:import</c> with the file as base64 in
/// <c>nir</c> (proto3 JSON's bytes) and <c>GET /v1/networks/{name}:export</c>, over HTTP/1.1 with HttpClient.
/// </summary>
public sealed class NirJsonApiTests(ApiServerFixture server, NirTestFiles files) : ApiTest(server), IClassFixture<NirTestFiles>
{
    private HttpClient Http() => new() { BaseAddress = Server.HttpAddress, DefaultRequestVersion = HttpVersion.Version11 };

    private static StringContent Body(object request) =>
        new(JsonSerializer.Serialize(request), Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_malformed_file_posted_as_JSON_is_400_naming_node_and_field()
    {
        using var http = Http();
        string name = Names.Unique("nirjsonbad");
        using var response = await http.PostAsync("/v1/networks:import",
            Body(new { name, nir = Convert.ToBase64String(files.Bytes("wrong_shape")) })).Within();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await Json(response);
        Assert.Equal((int)StatusCode.InvalidArgument, body.GetProperty("code").GetInt32());
        Assert.StartsWith("NIR node 'lif', field 'v_threshold': ", body.GetProperty("message").GetString(), StringComparison.Ordinal);

        using var flavour = await http.PostAsync("/v1/networks:import",
            Body(new { name, flavor = "lava", nir = Convert.ToBase64String(files.Bytes("feedforward")) })).Within();
        Assert.Equal(HttpStatusCode.BadRequest, flavour.StatusCode);
        Assert.Contains("generic, snntorch, norse or sinabs", (await Json(flavour)).GetProperty("message").GetString(), StringComparison.Ordinal);

        using var missing = await http.GetAsync($"/v1/networks/{name}:export").Within();
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    /// <summary>Needs NirImporter, NirExporter and NirWriter.</summary>
    [Fact]
    public async Task A_file_posted_as_base64_JSON_imports_with_its_report_and_exports_as_base64()
    {
        using var http = Http();
        string name = Names.Unique("nirjson");
        using var imported = await http.PostAsync("/v1/networks:import",
            Body(new { name, flavor = "generic", dt = 0.0005, nir = Convert.ToBase64String(files.Bytes("feedforward")) })).Within();
        Assert.Equal(HttpStatusCode.OK, imported.StatusCode);
        var reply = await Json(imported);
        Assert.Equal(name, reply.GetProperty("network").GetProperty("spec").GetProperty("name").GetString());
        Assert.Equal(0.0005, reply.GetProperty("network").GetProperty("spec").GetProperty("dt").GetDouble());
        Assert.Contains(reply.GetProperty("report").EnumerateArray(), line => line.GetProperty("node").GetString() == "lif");

        using var exported = await http.GetAsync($"/v1/networks/{name}:export").Within();
        Assert.Equal(HttpStatusCode.OK, exported.StatusCode);
        var file = await Json(exported);
        var nir = Convert.FromBase64String(file.GetProperty("nir").GetString()!);
        Assert.Equal(Hdf5Signature.Bytes, nir[..8]);
        Assert.NotEqual(0, file.GetProperty("report").GetArrayLength());

        await Client.DeleteNetworkAsync(new DeleteNetworkRequest { Name = name }).Within();
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/json", $"{response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
