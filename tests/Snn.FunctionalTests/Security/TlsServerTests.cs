using Snn.FunctionalTests.Infrastructure;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Snn.Client;
using Snn.FunctionalTests.Api;
using Snn.Protos.V1;
using Snn.Server;

namespace Snn.FunctionalTests.Security;

/// <summary>
/// <c>Snn:Tls</c>: the server loads a certificate (PFX with a password, or PEM certificate and key) and serves
/// gRPC (HTTP/2 over TLS, ALPN) and the HTTP endpoint over TLS; a client that trusts that certificate gets in.
/// </summary>
public sealed class TlsServerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("snn-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static X509Certificate2 SelfSigned(RSA key)
    {
        var request = new CertificateRequest("CN=snn-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
    }

    /// <summary>A handler that trusts exactly <paramref name="thumbprint"/> (a self-signed certificate no store knows).</summary>
    private static SocketsHttpHandler Trusting(string thumbprint) => new()
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && string.Equals(certificate.GetCertHashString(), thumbprint, StringComparison.OrdinalIgnoreCase),
        },
    };

    private static async Task ServesOverTlsAsync(string[] tls, string thumbprint)
    {
        await using var host = await ServerHost.StartAsync(
            [.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "http://127.0.0.1:0", .. tls], new CancellationTokenSource(ApiTimeouts.Default).Token);
        Assert.Equal("https", host.Address.Scheme);   // with a certificate every endpoint is TLS, http:// URLs too
        Assert.Equal("https", host.HttpAddress!.Scheme);

        using var handler = Trusting(thumbprint);
        using var client = new SnnClient(host.Address, handler);
        Assert.Equal("cpu", (await client.GetServerInfoAsync().Within()).Backend);

        // A stream over TLS, both ways.
        string name = Names.Unique("tls");
        await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = Specs.Relay(name) }).Within();
        await using (var run = await client.OpenRunAsync(new RunOpen { Network = name, SpikesFrom = { "out" } }).Within())
        {
            var step = await run.StepAsync(Specs.Events("in", [2]));
            Assert.Equal([2u], step.SpikesOf().Indices);
            await run.EndAsync();
        }

        // The HTTP endpoint: HTTP/1.1 over TLS, and HTTP/2 through ALPN.
        using var http = new HttpClient(Trusting(thumbprint)) { BaseAddress = host.HttpAddress };
        foreach (var version in new[] { HttpVersion.Version11, HttpVersion.Version20 })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz") { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            using var response = await http.SendAsync(request).Within();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(version, response.Version);
        }

        // A client that does not trust the certificate does not get in; nor does one speaking cleartext.
        using var untrusting = new SnnClient(host.Address);
        var refused = await Assert.ThrowsAsync<RpcException>(() => untrusting.GetServerInfoAsync().Within());
        Assert.Contains("SSL", refused.Status.Detail, StringComparison.Ordinal);
        using var cleartext = new SnnClient(new UriBuilder(host.Address) { Scheme = "http" }.Uri);
        await Assert.ThrowsAsync<RpcException>(() => cleartext.GetServerInfoAsync().Within());
    }

    [Fact]
    public async Task A_PFX_with_a_password_serves_gRPC_and_HTTP_over_TLS()
    {
        using var key = RSA.Create(2048);
        using var certificate = SelfSigned(key);
        string pfx = Path.Combine(_directory, "server.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "pfx-password"));
        await ServesOverTlsAsync(["--Snn:Tls:Certificate", pfx, "--Snn:Tls:Password", "pfx-password"], certificate.Thumbprint);
    }

    [Fact]
    public async Task A_PEM_certificate_and_key_serve_gRPC_over_TLS()
    {
        using var key = RSA.Create(2048);
        using var certificate = SelfSigned(key);
        string cert = Path.Combine(_directory, "server.crt");
        string pem = Path.Combine(_directory, "server.key");
        await File.WriteAllTextAsync(cert, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(pem, key.ExportPkcs8PrivateKeyPem());
        await ServesOverTlsAsync(["--Snn:Tls:Certificate", cert, "--Snn:Tls:Key", pem], certificate.Thumbprint);
    }

    [Fact]
    public async Task A_certificate_that_does_not_load_stops_the_start_naming_the_setting()
    {
        string pfx = Path.Combine(_directory, "wrong.pfx");
        using var key = RSA.Create(2048);
        using var certificate = SelfSigned(key);
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "right"));
        var e = Assert.Throws<InvalidOperationException>(() => ServerHost.Build(
            ["--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "", "--Snn:Tls:Certificate", pfx, "--Snn:Tls:Password", "wrong"]));
        Assert.Contains("Snn:Tls:Certificate", e.Message, StringComparison.Ordinal);
        Assert.Contains("does not load", e.Message, StringComparison.Ordinal);

        string certOnly = Path.Combine(_directory, "only.crt");
        await File.WriteAllBytesAsync(certOnly, certificate.Export(X509ContentType.Cert));
        e = Assert.Throws<InvalidOperationException>(() => ServerHost.Build(
            ["--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "", "--Snn:Tls:Certificate", certOnly]));
        Assert.Contains("Snn:Tls:Certificate", e.Message, StringComparison.Ordinal);
    }
}
