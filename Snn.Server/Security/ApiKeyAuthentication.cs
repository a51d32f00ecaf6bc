using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Snn.Server.Security;

/// <summary>
/// The ASP.NET Core authentication handler every request passes (gRPC, gRPC-Web, the JSON API and
/// <c>/metrics</c>): <c>authorization: Bearer KEY</c> with a configured key makes the request's user the
/// key's tenant (claim <see cref="TenantClaim"/>). No header: no result; a key that is not configured: a
/// failure. Who must be authenticated is decided elsewhere: <see cref="TenantInterceptor"/> for gRPC calls,
/// an authorization policy for <c>/metrics</c>; <c>/healthz</c>, <c>/readyz</c> and gRPC health stay open.
/// </summary>
internal sealed class ApiKeyAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger,
    UrlEncoder encoder, ApiKeys keys) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "SnnApiKey";

    public const string TenantClaim = "snn:tenant";

    /// <summary>What a request without a key is told (gRPC status message, HTTP 401 body).</summary>
    public const string MissingKeyMessage = "this server needs an API key: send the header 'authorization: Bearer KEY'";

    /// <summary>What a request with a key that is not configured is told; it says nothing about which keys exist.</summary>
    public const string WrongKeyMessage = "the API key is not valid; send 'authorization: Bearer KEY' with a key this server was given";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!keys.Enabled || !Request.Headers.TryGetValue("authorization", out var values))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        string header = values.ToString();
        const string bearer = "Bearer ";
        if (!header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) || keys.Match(header[bearer.Length..].Trim()) is not { } tenant)
        {
            return Task.FromResult(AuthenticateResult.Fail(WrongKeyMessage));
        }

        var identity = new ClaimsIdentity([new Claim(TenantClaim, tenant)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        var result = await HandleAuthenticateOnceSafeAsync();
        await Response.WriteAsync(result.Failure is null ? MissingKeyMessage : WrongKeyMessage);
    }

    /// <summary>Whether the request presented a valid key, and if not, why (for the gRPC status).</summary>
    public static string? Refusal(HttpContext http) =>
        http.User.FindFirst(TenantClaim) is not null ? null
        : http.Request.Headers.ContainsKey("authorization") ? WrongKeyMessage
        : MissingKeyMessage;

    /// <summary>The tenant the request authenticated as, or null.</summary>
    public static string? Tenant(HttpContext http) => http.User.FindFirst(TenantClaim)?.Value;
}
