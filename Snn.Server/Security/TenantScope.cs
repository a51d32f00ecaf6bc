using Grpc.Core;

namespace Snn.Server.Security;

/// <summary>
/// Tenant isolation, as one mechanism at the RPC boundary. The engine knows nothing of tenants: it holds
/// networks under qualified names, <c>tenant:name</c> (a client's name never has a colon, so no two tenants'
/// names meet). Every name a client sends goes through <see cref="Qualify"/> before it reaches the engine,
/// and every name, list or message coming out goes through <see cref="Unqualify(ServerCallContext, string)"/>
/// or <see cref="Owns"/>. Another tenant's network is then simply not found: the same NOT_FOUND as a name
/// nobody uses. With no API keys configured every call is the anonymous tenant, whose names are unqualified.
/// <see cref="TenantInterceptor"/> sets the call's tenant before any handler runs.
/// </summary>
internal static class TenantScope
{
    /// <summary>The tenant of a server with no API keys: names are used as given.</summary>
    public const string Anonymous = "";

    private const string StateKey = "snn:tenant";

    private const char Separator = ':';

    /// <summary>Records the call's tenant (by <see cref="TenantInterceptor"/>, once authenticated).</summary>
    public static void Enter(ServerCallContext context, string tenant) => context.UserState[StateKey] = tenant;

    /// <summary>The call's tenant; a call that did not pass <see cref="TenantInterceptor"/> is a server fault.</summary>
    public static string Tenant(ServerCallContext context) =>
        context.UserState.TryGetValue(StateKey, out var tenant) && tenant is string name
            ? name
            : throw new InvalidOperationException("the call has no tenant: TenantInterceptor did not run");

    /// <summary>The engine's name for the caller's network <paramref name="name"/>.</summary>
    public static string Qualify(ServerCallContext context, string name) => Qualify(Tenant(context), name);

    public static string Qualify(string tenant, string name) => tenant.Length == 0 ? name : string.Concat(tenant, ":", name);

    /// <summary>The caller's name for the engine's network <paramref name="qualified"/> (one the caller owns).</summary>
    public static string Unqualify(ServerCallContext context, string qualified)
    {
        string tenant = Tenant(context);
        return tenant.Length == 0 ? qualified : Owns(tenant, qualified) ? qualified[(tenant.Length + 1)..]
            : throw new InvalidOperationException($"network '{qualified}' is not the caller's; filter with Owns first");
    }

    /// <summary>Whether the engine's network <paramref name="qualified"/> belongs to the caller.</summary>
    public static bool Owns(ServerCallContext context, string qualified) => Owns(Tenant(context), qualified);

    public static bool Owns(string tenant, string qualified) =>
        tenant.Length == 0
            ? !qualified.Contains(Separator, StringComparison.Ordinal)
            : qualified.Length > tenant.Length + 1 && qualified[tenant.Length] == Separator
                && qualified.StartsWith(tenant, StringComparison.Ordinal);

    /// <summary>
    /// A refusal's message as the caller should read it: the engine quotes its own names (<c>'tenant:net'</c>),
    /// the caller knows them as <c>'net'</c>. Calls without a tenant (refused before it was set) pass unchanged.
    /// </summary>
    public static string UnqualifyMessage(ServerCallContext context, string message) =>
        context.UserState.TryGetValue(StateKey, out var tenant) && tenant is string { Length: > 0 } name
            ? message.Replace($"'{name}{Separator}", "'", StringComparison.Ordinal)
            : message;
}
