using Snn.Server;
using Snn.Server.Observability;

if (args.Contains(HealthProbe.Switch))
{
    return await HealthProbe.RunAsync(args, Console.Out);
}

var app = ServerHost.Build(args);
await app.RunAsync();
return 0;
