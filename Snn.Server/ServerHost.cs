using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Serilog;
using Snn.Server.Backends;
using Snn.Server.Backends.Cpu;
using Snn.Server.Backends.Gpu;
using Snn.Server.Dashboard;
using Snn.Server.Engine;
using Snn.Server.Observability;
using Snn.Server.Rpc;
using Snn.Server.Security;
using Snn.Server.Services;
using Snn.Server.Storage;

namespace Snn.Server;

/// <summary>
/// Builds and runs the server: Kestrel with the gRPC transport, the step loop and the snn.v1
/// service. Used by Program (the executable), the functional tests and the conformance runner, so
/// all of them run the same composition.
/// </summary>
public sealed class ServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ServerHost(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>The first gRPC (h2c or TLS) address the server listens on (with the real port when port 0 was asked for).</summary>
    public Uri Address { get; }

    /// <summary>The first HTTP/1.1 address (JSON API, gRPC-Web), or null when <c>Snn:HttpUrls</c> is empty.</summary>
    public Uri? HttpAddress => _app.Services.GetRequiredService<ListenEndpoints>().Http.FirstOrDefault();

    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Builds the application from command-line arguments and configuration (appsettings.json,
    /// environment variables such as <c>Snn__Limits__MaxInstances</c>, <c>--urls</c>).
    /// Defaults: h2c on http://127.0.0.1:50051, data directory ./data, 4 MiB messages.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // --urls / ASPNETCORE_URLS become our explicit endpoints. Kept out of the host's own URL setting,
        // which the host snapshots at creation and Kestrel would then report as overridden.
        args = TakeUrls(args, out string? urls);

        // appsettings.json (in the output folder, the content root) is read once: settings are taken at start,
        // so watching the file would only cost an inotify instance per server. An argument after this one may still turn it on.
        args = ["--hostBuilder:reloadConfigOnChange=false", .. args];
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

        // Serilog writes the console; a provider that configure adds (tests) receives every event Serilog passes.
        builder.Logging.ClearProviders();
        configure?.Invoke(builder);
        var config = builder.Configuration;

        // Serilog is the logger factory; providers added to it later (e.g. by tests) get every event it passes.
        var providers = new Serilog.Extensions.Logging.LoggerProviderCollection();
        var logger = Logging.CreateLogger(config, providers);
        builder.Services.AddSerilog(logger, dispose: true, providers);
        builder.Services.AddSingleton(logger); // the request log writes to it (not to the static Log.Logger)

        // Every setting is read and checked here, before anything runs: a bad value stops the start naming its key.
        var limits = SnnConfiguration.Bind<EngineLimits>(config, "Snn:Limits");
        limits.Validate(); // at start, before the step loop exists
        int maxMessage = SnnConfiguration.Get(config, "Snn:MaxMessageBytes", 4 << 20);
        if (maxMessage < 1024)
        {
            throw new InvalidOperationException($"Snn:MaxMessageBytes is {maxMessage}; it must be at least 1024 bytes");
        }

        string dataDirectory = Path.GetFullPath(SnnConfiguration.Get(config, "Snn:DataDirectory", "data"), Environment.CurrentDirectory);
        var shutdownTimeout = SnnConfiguration.Get(config, "Snn:ShutdownTimeout", DefaultShutdownTimeout);
        if (shutdownTimeout < TimeSpan.Zero)
        {
            throw new InvalidOperationException($"Snn:ShutdownTimeout is {shutdownTimeout}; it must be 00:00:00 or longer");
        }

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout);

        var (keys, certificate) = builder.AddSnnSecurity();
        builder.ConfigureGrpcKestrel(certificate, urls ?? GrpcKestrelExtensions.DefaultUrl, maxMessage, tlsOnly: true,
            checkAddresses: addresses => SecuritySetup.CheckAnonymousBind(config, keys, addresses));
        builder.Services.AddSingleton(limits);
        var cpu = SnnConfiguration.Bind<CpuOptions>(config, "Snn:Cpu");
        var engine = SnnConfiguration.Bind<EngineOptions>(config, "Snn:Engine");
        engine.Validate();
        // A device backend is made now, so that one asked for and absent stops the start with its reason.
        var device = engine.Backend is null or "" || engine.Backend.Equals("cpu", StringComparison.OrdinalIgnoreCase)
            ? null
            : ComputeBackends.Create(engine, cpu);
        builder.Services.AddSingleton<IComputeBackend>(sp =>
        {
            if (device is GpuBackend gpu)
            {
                gpu.Logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger<GpuBackend>();
            }

            return device ?? new CpuBackend(cpu);
        });
        var realtime = SnnConfiguration.Bind<RealtimeOptions>(config, "Snn:Realtime");
        realtime.Validate(); // at start, before the step loop exists

        builder.Services.AddSingleton(realtime);
        builder.Services.AddSnnMetrics();
        builder.Services.AddSingleton(sp => new StepLoop(sp.GetRequiredService<IComputeBackend>(), limits, realtime,
            sp.GetRequiredService<SnnMetrics>(), sp.GetRequiredService<ILogger<StepLoop>>())
        {
            ChainSeconds = engine.ChainMilliseconds / 1000,
        });
        var snapshots = SnnConfiguration.Bind<SnapshotOptions>(config, "Snn:Snapshots");
        snapshots.Validate();
        builder.Services.AddSingleton(snapshots);
        builder.Services.AddSingleton<INetworkStore>(_ => new SqliteNetworkStore(dataDirectory));
        builder.Services.AddSingleton<Durability>();
        // Recovery starts before the snapshot scheduler and before Kestrel listens (hosted services start in order, the server last).
        builder.Services.AddSingleton<Recovery>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Recovery>());
        builder.Services.AddSingleton<SnapshotScheduler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SnapshotScheduler>());
        builder.Services.AddHostedService<GracefulStop>(); // Rpc/GracefulStop: snapshot, end the streams, let them send their status
        builder.Services.AddSingleton(sp => new SnnService(sp.GetRequiredService<StepLoop>(), sp.GetRequiredService<TenantQuotas>(),
            sp.GetRequiredService<Durability>(), sp.GetRequiredService<Recovery>(), sp.GetRequiredService<ILogger<SnnService>>())
        {
            MaxMessageBytes = maxMessage,
        });
        builder.Services.AddSingleton<RunHandler>();
        builder.Services.AddSingleton<WatchHandler>();
        builder.Services.AddSnnGrpc(config, maxMessage);

        var app = builder.Build();

        app.MapSnnGrpc(config);
        app.MapSnnObservation();
        app.MapSnnDashboard();
        var startup = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Snn.Server");
        string effective = SnnConfiguration.Effective(config, new Dictionary<string, string>
        {
            ["Snn:Limits:MaxMemoryBytes"] = SnnConfiguration.Invariant(limits.MaxMemoryBytes),
            ["Snn:Cpu:Threads"] = SnnConfiguration.Invariant(cpu.Threads),
        });
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            startup.LogInformation("effective configuration: {Configuration:l}", effective);
            var loop = app.Services.GetRequiredService<StepLoop>();
            startup.LogInformation("SnnService listening on {Addresses}; backend {Backend} ({Device}); data directory {DataDirectory}; {Security:l}",
                string.Join(", ", Addresses(app)), loop.Backend.Name, loop.Backend.Device, dataDirectory, SecuritySetup.Describe(keys, certificate));
            if (CpuBackend.NarrowVectors)
            {
                startup.LogWarning("this CPU has AVX-512 but the kernels run on 256-bit vectors; start the server with " +
                    "DOTNET_MaxVectorTBitWidth=512 in its environment for 512-bit kernels (up to 1.6x faster from 64k neurons)");
            }
        });
        return app;
    }

    /// <summary>How long a stopping server waits for calls to end (<c>Snn:ShutdownTimeout</c>).</summary>
    public static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Starts a server (e.g. on <c>--urls http://127.0.0.1:0</c>) and returns once it listens.</summary>
    public static async Task<ServerHost> StartAsync(string[] args, CancellationToken cancellationToken = default,
        Action<WebApplicationBuilder>? configure = null)
    {
        var app = Build(args, configure);
        await app.StartAsync(cancellationToken);
        return new ServerHost(app, app.Services.GetRequiredService<ListenEndpoints>().Grpc.First());
    }

    private static string[] TakeUrls(string[] args, out string? urls)
    {
        urls = Environment.GetEnvironmentVariable("ASPNETCORE_URLS");
        Environment.SetEnvironmentVariable("ASPNETCORE_URLS", null);
        var rest = new List<string>(args.Length);
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] is "--urls" or "/urls" && i + 1 < args.Length)
            {
                urls = args[++i];
            }
            else if (args[i].StartsWith("--urls=", StringComparison.Ordinal))
            {
                urls = args[i]["--urls=".Length..];
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        return [.. rest];
    }

    private static IEnumerable<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
