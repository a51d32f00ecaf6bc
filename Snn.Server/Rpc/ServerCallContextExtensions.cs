using Microsoft.AspNetCore.Http;
using Snn.Server.Rpc.Internal;

namespace Snn.Server.Rpc;

/// <summary>Access to the underlying HTTP request, e.g. for authentication.</summary>
public static class ServerCallContextExtensions
{
    /// <summary>The <see cref="HttpContext"/> of the call. Throws for a context not created by this transport.</summary>
    public static HttpContext GetHttpContext(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context is HttpServerCallContext call
            ? call.HttpContext
            : throw new InvalidOperationException("This ServerCallContext does not come from the Kestrel gRPC transport.");
    }
}
