using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Snn.Client;
using Snn.FunctionalTests.Transport;
using Snn.Server;
using Snn.Server.Storage;
using Snn.Server.Backends.Cpu;
using Snn.Server.Backends.Gpu;
using Snn.Server.Engine;
using Snn.Server.Rpc;
using Snn.Server.Security;
using Snn.FunctionalTests.Infrastructure;

namespace Snn.FunctionalTests.Configuration;

/// <summary>
/// Environment variables are process-wide: the override test sets one, so this collection runs
/// alone, after the parallel ones, and no other server sees it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConfigurationCollection
{
    public const string Name = "configuration (environment variables)";
}

/// <summary>Snn.Server/appsettings.json, the overrides, the effective-configuration log and the start-time checks.</summary>
[Collection(ConfigurationCollection.Name)]
public sealed class ConfigurationTests
{
    private static readonly string[] s_ports = ["--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "http://127.0.0.1:0"];

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SnnService.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("SnnService.sln not found above " + AppContext.BaseDirectory);
    }

    private static string SourceFile => Path.Combine(RepositoryRoot(), "Snn.Server", "appsettings.json");

    /// <summary>The file's settings as configuration keys (Snn:Limits:MaxInstances) with their values as text.</summary>
    private static Dictionary<string, string> FileSettings()
    {
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        void Walk(JsonElement e, string prefix)
        {
            if (e.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in e.EnumerateObject())
                {
                    Walk(p.Value, prefix.Length == 0 ? p.Name : $"{prefix}:{p.Name}");
                }
            }
            else if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 0)
            {
                settings[prefix] = ""; // configuration reads an empty list ("Keys": []) as an empty value
            }
            else
            {
                settings[prefix] = e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText();
            }
        }

        using var json = JsonDocument.Parse(File.ReadAllText(SourceFile));
        Walk(json.RootElement, "");
        return settings;
    }

    /// <summary>What the code uses when a setting is absent, as configuration text.</summary>
    private static Dictionary<string, string> CodeDefaults()
    {
        var defaults = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Snn:HttpUrls"] = GrpcKestrelExtensions.DefaultHttpUrl,
            ["Snn:Cors:Origins"] = "",
            ["Snn:MaxMessageBytes"] = (4 << 20).ToString(CultureInfo.InvariantCulture),
            ["Snn:MaxStreamsPerConnection"] = GrpcKestrelExtensions.DefaultMaxStreamsPerConnection.ToString(CultureInfo.InvariantCulture),
            ["Snn:ShutdownTimeout"] = ServerHost.DefaultShutdownTimeout.ToString(),
            ["Snn:Reflection"] = "true",
            ["Snn:DetailedErrors"] = "false",
            ["Snn:DataDirectory"] = "data",
            ["Snn:Logging:Json"] = "false",
            ["Snn:AllowAnonymous"] = "false",
            ["Snn:Auth:Keys"] = "",
            ["Snn:Auth:KeysFile"] = "",
            ["Snn:Tls:Certificate"] = "",
            ["Snn:Tls:Key"] = "",
            ["Snn:Tls:Password"] = "",
        };
        void Add(string section, object options)
        {
            foreach (var p in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                var value = p.GetValue(options);
                defaults[$"{section}:{p.Name}"] = value is bool b ? (b ? "true" : "false") : Convert.ToString(value, CultureInfo.InvariantCulture)!;
            }
        }

        Add("Snn:Limits", new EngineLimits());
        Add("Snn:Cpu", new CpuOptions());
        Add("Snn:Engine", new EngineOptions());
        Add("Snn:Realtime", new RealtimeOptions());
        Add("Snn:Quotas", new QuotaOptions());
        Add("Snn:Snapshots", new SnapshotOptions());
        foreach (var computed in SnnConfiguration.ComputedDefaults)
        {
            defaults.Remove(computed);
        }

        return defaults;
    }

    private static bool SameValue(string expected, string actual) =>
        string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase)
        || (double.TryParse(expected, CultureInfo.InvariantCulture, out var x) && double.TryParse(actual, CultureInfo.InvariantCulture, out var y) && x == y);

    [Fact]
    public void The_file_holds_every_code_default_with_its_value_and_nothing_else()
    {
        var file = FileSettings();
        var defaults = CodeDefaults();
        Assert.Equal(defaults.Keys.Order(StringComparer.OrdinalIgnoreCase), file.Keys.Order(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in defaults)
        {
            Assert.True(SameValue(value, file[key]), $"{key}: the file says '{file[key]}', the code's default is '{value}'");
        }

        foreach (var computed in SnnConfiguration.ComputedDefaults)
        {
            Assert.DoesNotContain(computed, file.Keys);
        }
    }

    [Fact]
    public void The_file_is_copied_next_to_the_server()
    {
        string copy = Path.Combine(Path.GetDirectoryName(typeof(ServerHost).Assembly.Location)!, "appsettings.json");
        Assert.True(File.Exists(copy), copy);
        Assert.Equal(File.ReadAllText(SourceFile), File.ReadAllText(copy));
    }

    [Fact]
    public void Every_Snn_key_in_the_source_is_in_the_file_or_a_computed_default()
    {
        var known = FileSettings().Keys.Concat(SnnConfiguration.ComputedDefaults).ToList();
        var missing = new List<string>();
        string server = Path.Combine(RepositoryRoot(), "Snn.Server");
        var files = Directory.EnumerateFiles(server, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(files);
        int seen = 0;
        foreach (var file in files)
        {
            foreach (Match m in Regex.Matches(File.ReadAllText(file), "\"(Snn(?::[A-Za-z]+)+)"))
            {
                seen++;
                string key = m.Groups[1].Value;

                // A section ("Snn:Limits", or "Snn:Limits:" before an interpolated name) is known when a key lies in it.
                bool found = known.Any(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase)
                    || k.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase));
                if (!found)
                {
                    missing.Add($"{key} ({Path.GetRelativePath(server, file)})");
                }
            }
        }

        Assert.True(seen > 10, $"only {seen} \"Snn: literals found");
        Assert.True(missing.Count == 0, "read by the code but not in appsettings.json: " + string.Join(", ", missing.Distinct()));
    }

    [Fact]
    public async Task A_server_without_settings_reports_the_files_values()
    {
        var logs = new CapturedLogs();
        // Only the ports are set (the file's 127.0.0.1:8080 may be taken on a test machine).
        await using var host = await ServerHost.StartAsync(s_ports,
            new CancellationTokenSource(TestTimeouts.Default).Token, b => b.Logging.AddProvider(logs));
        using var client = new SnnClient(host.Address);
        var limits = (await client.GetServerInfoAsync().WithTimeout()).Limits;
        var file = FileSettings();
        Assert.Equal(ulong.Parse(file["Snn:MaxMessageBytes"], CultureInfo.InvariantCulture), limits.MaxMessageBytes);
        Assert.Equal(uint.Parse(file["Snn:Limits:MaxNeuronsPerPopulation"], CultureInfo.InvariantCulture), limits.MaxNeuronsPerPopulation);
        Assert.Equal(ulong.Parse(file["Snn:Limits:MaxNeuronsPerNetwork"], CultureInfo.InvariantCulture), limits.MaxNeuronsPerNetwork);
        Assert.Equal(ulong.Parse(file["Snn:Limits:MaxSynapsesPerNetwork"], CultureInfo.InvariantCulture), limits.MaxSynapsesPerNetwork);
        Assert.Equal(uint.Parse(file["Snn:Limits:MaxInstances"], CultureInfo.InvariantCulture), limits.MaxInstances);
        Assert.Equal(uint.Parse(file["Snn:Limits:MaxNetworks"], CultureInfo.InvariantCulture), limits.MaxNetworks);
        Assert.Equal(uint.Parse(file["Snn:Limits:MaxInputHorizon"], CultureInfo.InvariantCulture), limits.MaxInputHorizon);
        Assert.Equal(uint.Parse(file["Snn:Limits:MaxDelaySteps"], CultureInfo.InvariantCulture), limits.MaxDelaySteps);
        Assert.Equal((ulong)EngineLimits.DefaultMaxMemoryBytes(), limits.MaxMemoryBytes); // computed, not in the file

        var effective = await EffectiveConfigurationAsync(logs);
        Assert.Equal("http://127.0.0.1:0", effective["Snn:HttpUrls"]); // the switch's value
        foreach (var (key, value) in file.Where(kv => kv.Key != "Snn:HttpUrls"))
        {
            Assert.True(effective.TryGetValue(key, out var logged), $"{key} is not in the effective-configuration log");
            Assert.True(SameValue(value, logged), $"{key}: logged '{logged}', the file says '{value}'");
        }

        foreach (var computed in SnnConfiguration.ComputedDefaults)
        {
            Assert.True(effective.ContainsKey(computed), $"{computed} (computed) is not in the effective-configuration log");
        }

        Assert.Equal(EngineLimits.DefaultMaxMemoryBytes().ToString(CultureInfo.InvariantCulture), effective["Snn:Limits:MaxMemoryBytes"]);
        Assert.Equal(Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), effective["Snn:Cpu:Threads"]);
    }

    /// <summary>The one information event "effective configuration: Snn:A=1, Snn:B=2", as a dictionary.</summary>
    private static async Task<Dictionary<string, string>> EffectiveConfigurationAsync(CapturedLogs logs)
    {
        const string Prefix = "effective configuration: ";
        var until = DateTime.UtcNow + TestTimeouts.Default;
        List<(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception)> events;
        while ((events = logs.Entries.Where(e => e.Message.StartsWith(Prefix, StringComparison.Ordinal)).ToList()).Count == 0)
        {
            Assert.True(DateTime.UtcNow < until, "no effective-configuration log event");
            await Task.Delay(10);
        }

        var single = Assert.Single(events);
        Assert.Equal(LogLevel.Information, single.Level);
        var effective = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in single.Message[Prefix.Length..].Split(", "))
        {
            int eq = entry.IndexOf('=', StringComparison.Ordinal);
            effective[entry[..eq]] = entry[(eq + 1)..];
        }

        return effective;
    }

    [Fact]
    public async Task An_environment_variable_beats_the_file_and_a_switch_beats_both()
    {
        Environment.SetEnvironmentVariable("Snn__Limits__MaxInstances", "77");
        Environment.SetEnvironmentVariable("Snn__Limits__MaxNetworks", "66");
        try
        {
            await using var host = await ServerHost.StartAsync([.. TestData.Args(), .. s_ports, "--Snn:Limits:MaxNetworks", "55"],
                new CancellationTokenSource(TestTimeouts.Default).Token);
            using var client = new SnnClient(host.Address);
            var limits = (await client.GetServerInfoAsync().WithTimeout()).Limits;
            Assert.Equal(77u, limits.MaxInstances); // environment over the file's 1024
            Assert.Equal(55u, limits.MaxNetworks);  // switch over the environment's 66 and the file's 1000
        }
        finally
        {
            Environment.SetEnvironmentVariable("Snn__Limits__MaxInstances", null);
            Environment.SetEnvironmentVariable("Snn__Limits__MaxNetworks", null);
        }
    }

    [Theory]
    [InlineData("Snn:Limits:MaxInstances", "-5", "it must be 0 or more")]
    [InlineData("Snn:MaxMessageBytes", "100", "it must be at least 1024 bytes")]
    [InlineData("Snn:MaxMessageBytes", "lots", "'lots'; it must be a whole number")]
    [InlineData("Snn:Limits:MaxDt", "one", "'one'; it must be a number")]
    [InlineData("Snn:Reflection", "maybe", "'maybe'; it must be true or false")]
    [InlineData("Snn:ShutdownTimeout", "soon", "'soon'; it must be a time span")]
    [InlineData("Snn:MaxStreamsPerConnection", "0", "it must be 1 or more")]
    [InlineData("Snn:Realtime:Priority", "120", "1..99")]
    [InlineData("Snn:Quotas:MaxNetworks", "0", "it must be 1 or more")]
    [InlineData("Snn:Quotas:MaxMessageBytes", "10", "it must be at least 1024 bytes")]
    [InlineData("Snn:Quotas:MaxInputsPerSecond", "fast", "'fast'; it must be a whole number")]
    [InlineData("Snn:Auth:KeysFile", "/no/such/keys", "no such file")]
    [InlineData("Snn:Tls:Certificate", "/no/such/cert.pfx", "no such file")]
    public void An_invalid_value_stops_the_start_naming_the_key_and_what_is_allowed(string key, string value, string allowed)
    {
        var e = Assert.Throws<InvalidOperationException>(() => ServerHost.Build([.. s_ports, $"--{key}", value]));
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
        Assert.Contains(allowed, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_effective_configuration_log_masks_secrets()
    {
        var logs = new CapturedLogs();
        await using var host = await ServerHost.StartAsync(
            [.. TestData.Args(), .. s_ports, "--Snn:Tenants:ApiKey", "hunter2", "--Snn:Tls:CertificatePassword", "s3cret", "--Snn:Limits:MaxInstances", "33"],
            new CancellationTokenSource(TestTimeouts.Default).Token, b => b.Logging.AddProvider(logs));
        var effective = await EffectiveConfigurationAsync(logs);
        Assert.Equal("***", effective["Snn:Tenants:ApiKey"]);
        Assert.Equal("***", effective["Snn:Tls:CertificatePassword"]);
        Assert.Equal("33", effective["Snn:Limits:MaxInstances"]);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("hunter2", StringComparison.Ordinal) || e.Message.Contains("s3cret", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Snn:Tenants:ApiKey", true)]
    [InlineData("Snn:Auth:ClientSecret", true)]
    [InlineData("Snn:Db:Password", true)]
    [InlineData("Snn:Auth:TokenIssuer", true)]
    [InlineData("Snn:Tls:Certificate", true)]
    [InlineData("Snn:Limits:MaxInstances", false)]
    [InlineData("Snn:HttpUrls", false)]
    public void Secret_like_keys_are_the_ones_masked(string key, bool secret) => Assert.Equal(secret, SnnConfiguration.IsSecret(key));
}
