using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Snn.FunctionalTests.Transport;

/// <summary>An https:// endpoint: TLS with ALPN negotiating HTTP/2, HTTP/1.1 also offered.</summary>
public sealed class TlsTests
{
    private const string Echo = "/" + EchoTestService.Name + "/";

    private static X509Certificate2 CreateCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null);
    }

    [Fact]
    public async Task Https_ServesGrpcOverHttp2_AndStreams()
    {
        using var certificate = CreateCertificate();
        await using var host = await TransportTestHost.StartAsync(certificate: certificate);
        Assert.Equal("https", host.Address.Scheme);

        var reply = await host.Client.EchoAsync(new StringValue { Value = "over tls" }).ResponseAsync.WithTimeout();
        Assert.Equal("over tls", reply.Value);

        using var call = host.Client.PingPong();
        await call.RequestStream.WriteAsync(new StringValue { Value = "1" }).WithTimeout();
        Assert.True(await call.ResponseStream.MoveNext().WithTimeout());
        Assert.Equal("pong:1", call.ResponseStream.Current.Value);
        await call.RequestStream.CompleteAsync().WithTimeout();
        Assert.False(await call.ResponseStream.MoveNext().WithTimeout());
    }

    [Fact]
    public async Task Https_AlsoAnswersHttp11_ButGrpcNeedsHttp2()
    {
        using var certificate = CreateCertificate();
        await using var host = await TransportTestHost.StartAsync(certificate: certificate);
        using var request = new HttpRequestMessage(HttpMethod.Post, Echo + "Echo")
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(TransportTestHost.Frame([])) { Headers = { ContentType = new("application/grpc") } },
        };
        using var response = await host.Http.SendAsync(request).WithTimeout();
        Assert.Equal(new Version(1, 1), response.Version);
        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
    }

    [Fact]
    public async Task Https_RefusesAClientThatDoesNotTrustTheCertificate()
    {
        using var certificate = CreateCertificate();
        await using var host = await TransportTestHost.StartAsync(certificate: certificate);
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(host.Address);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            new Protos.Echo.EchoClient(channel).EchoAsync(new StringValue()).ResponseAsync.WithTimeout());
        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Contains("SSL", error.Status.Detail, StringComparison.Ordinal);
    }
}
