using System.Globalization;
using Snn.InteropServer;

// Usage: Snn.InteropServer [--port N]   (N = 0 picks a free port; default 10000)
// Prints "listening on PORT" once the server accepts connections.
var port = 10000;
for (var i = 0; i < args.Length; i++)
{
    var arg = args[i];
    string? value = null;
    if (arg == "--port" && i + 1 < args.Length)
    {
        value = args[++i];
    }
    else if (arg.StartsWith("--port=", StringComparison.Ordinal))
    {
        value = arg["--port=".Length..];
    }
    else if (arg.StartsWith("--use_tls", StringComparison.Ordinal))
    {
        if (arg.EndsWith("=true", StringComparison.OrdinalIgnoreCase))
        {
            Console.Error.WriteLine("--use_tls=true is not supported by this interop server.");
            return 2;
        }

        continue;
    }
    else
    {
        Console.Error.WriteLine($"Unknown argument '{arg}'. Usage: Snn.InteropServer [--port N]");
        return 2;
    }

    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port > 65535)
    {
        Console.Error.WriteLine($"Invalid port '{value}'.");
        return 2;
    }
}

var app = InteropServerApp.Build(port);
await app.StartAsync();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"listening on {InteropServerApp.GetPort(app)}"));
await app.WaitForShutdownAsync();
return 0;
