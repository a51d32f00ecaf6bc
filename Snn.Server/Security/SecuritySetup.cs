using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authorization;
using Snn.Server.Engine;
using Snn.Server.Rpc;

namespace Snn.Server.Security;

/// <summary>
/// The security composition: API keys and tenants (<c>Snn:Auth</c>), quotas (<c>Snn:Quotas</c>), TLS
/// (<c>Snn:Tls</c>) and the refusal to serve anonymously beyond loopback (<c>Snn:AllowAnonymous</c>).
/// </summary>
internal static class SecuritySetup
{
    /// <summary>The policy of HTTP endpoints that need a key when keys are configured (<c>/metrics</c>).</summary>
    public const string KeyPolicy = "snn-api-key";

    /// <summary>Reads and checks the settings and registers the services; returns what Kestrel needs.</summary>
    public static (ApiKeys Keys, X509Certificate2? Certificate) AddSnnSecurity(this WebApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var keys = ApiKeys.Load(config);
        var quotas = SnnConfiguration.Bind<QuotaOptions>(config, "Snn:Quotas");
        quotas.Validate();
        var certificate = TlsCertificate.Load(config);

        builder.Services.AddSingleton(keys);
        builder.Services.AddSingleton(quotas);
        builder.Services.AddSingleton(sp => new TenantQuotas(quotas, sp.GetRequiredService<StepLoop>(), sp.GetRequiredService<Storage.Durability>()));
        builder.Services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(KeyPolicy, p => p.AddAuthenticationSchemes(ApiKeyAuthentication.SchemeName).RequireClaim(ApiKeyAuthentication.TenantClaim));
        return (keys, certificate);
    }

    /// <summary>
    /// With no API keys, every address must be loopback unless <c>Snn:AllowAnonymous</c> is true: an open server
    /// is anyone's who can reach it, so it is reachable only from this machine unless the operator says otherwise.
    /// </summary>
    public static void CheckAnonymousBind(IConfiguration config, ApiKeys keys, IEnumerable<GrpcListenAddress> addresses)
    {
        if (keys.Enabled || SnnConfiguration.Get(config, "Snn:AllowAnonymous", false))
        {
            return;
        }

        foreach (var address in addresses)
        {
            if (!address.IsLocalhost && !(address.Address is { } ip && IPAddress.IsLoopback(ip)))
            {
                throw new InvalidOperationException(
                    $"the server would listen on {(address.Https ? "https" : "http")}://{address.Host}:{address.Port}, which is not a loopback address, " +
                    "with no API keys configured: anyone who reaches it could use it. Configure keys (Snn:Auth:Keys or Snn:Auth:KeysFile), " +
                    "listen on 127.0.0.1 or [::1], or set Snn:AllowAnonymous=true to serve without keys anyway");
            }
        }
    }

    /// <summary>What the start-up log says about security.</summary>
    public static string Describe(ApiKeys keys, X509Certificate2? certificate) =>
        $"{ApiKeys.Describe(keys)}; TLS {(certificate is null ? "off" : $"with certificate {certificate.Subject} (expires {certificate.NotAfter:yyyy-MM-dd})")}";
}
