using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Snn.Server.Engine;

namespace Snn.Server.Security;

/// <summary>
/// The API keys the server accepts, each mapped to its tenant, held as SHA-256 hashes only. Read at start
/// from <c>Snn:Auth:Keys</c> (a list of <c>{ Tenant, Key }</c> or <c>{ Tenant, KeySha256 }</c>) and from
/// <c>Snn:Auth:KeysFile</c> (one <c>tenant sha256hex</c> per line; blank lines and lines starting with
/// <c>#</c> are skipped). No keys at all: the server is one anonymous tenant.
/// </summary>
internal sealed class ApiKeys
{
    private readonly (string Tenant, byte[] Hash)[] _keys;

    private ApiKeys((string Tenant, byte[] Hash)[] keys) => _keys = keys;

    /// <summary>Whether keys are configured (callers must then present one).</summary>
    public bool Enabled => _keys.Length > 0;

    /// <summary>How many keys the server accepts.</summary>
    public int Count => _keys.Length;

    /// <summary>
    /// The tenant whose key <paramref name="key"/> is, or null. Every configured hash is compared, each in
    /// constant time, so the time taken says nothing about which key (or how much of one) matched.
    /// </summary>
    public string? Match(string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        string? tenant = null;
        foreach (var (owner, expected) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, expected))
            {
                tenant ??= owner;
            }
        }

        return tenant;
    }

    /// <summary>The SHA-256 of a key as lowercase hex, as <c>Snn:Auth:KeysFile</c> and <c>KeySha256</c> hold it.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Reads and checks the keys; a bad entry stops the start naming its key or file line.</summary>
    public static ApiKeys Load(IConfiguration config)
    {
        var keys = new List<(string Tenant, byte[] Hash)>();
        foreach (var entry in config.GetSection("Snn:Auth:Keys").GetChildren())
        {
            string at = $"Snn:Auth:Keys:{entry.Key}";
            string tenant = CheckTenant(entry["Tenant"], $"{at}:Tenant");
            string? key = entry["Key"];
            string? sha = entry["KeySha256"];
            if (string.IsNullOrEmpty(key) == string.IsNullOrEmpty(sha))
            {
                throw new InvalidOperationException($"{at} must set exactly one of Key (the key itself) and KeySha256 (its SHA-256 in hex)");
            }

            if (!string.IsNullOrEmpty(key) && key.Length < 16)
            {
                throw new InvalidOperationException($"{at}:Key has {key.Length} characters; a key needs at least 16 (e.g. 32 random bytes in base64)");
            }

            keys.Add((tenant, string.IsNullOrEmpty(key) ? ParseHash(sha!, $"{at}:KeySha256") : SHA256.HashData(Encoding.UTF8.GetBytes(key))));
        }

        string file = SnnConfiguration.Get(config, "Snn:Auth:KeysFile", "");
        if (file.Length > 0)
        {
            string path = Path.GetFullPath(file, Environment.CurrentDirectory);
            if (!File.Exists(path))
            {
                throw new InvalidOperationException($"Snn:Auth:KeysFile is '{file}'; no such file ({path})");
            }

            int number = 0;
            foreach (var raw in File.ReadLines(path))
            {
                number++;
                string line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }

                string at = $"Snn:Auth:KeysFile {path} line {number}";
                var parts = line.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length != 2)
                {
                    throw new InvalidOperationException($"{at} has {parts.Length} fields; write 'tenant sha256hex'");
                }

                keys.Add((CheckTenant(parts[0], at), ParseHash(parts[1], at)));
            }
        }

        for (int i = 0; i < keys.Count; i++)
        {
            for (int j = 0; j < i; j++)
            {
                if (keys[i].Hash.AsSpan().SequenceEqual(keys[j].Hash) && keys[i].Tenant != keys[j].Tenant)
                {
                    throw new InvalidOperationException(
                        $"one API key is given to both tenant '{keys[j].Tenant}' and tenant '{keys[i].Tenant}'; a key belongs to one tenant");
                }
            }
        }

        return new ApiKeys([.. keys]);
    }

    private static string CheckTenant(string? tenant, string at)
    {
        try
        {
            NetworkBuilder.CheckName(tenant, "tenant");
        }
        catch (EngineException e)
        {
            throw new InvalidOperationException($"{at}: {e.Message}");
        }

        return tenant!;
    }

    private static byte[] ParseHash(string hex, string at)
    {
        if (hex.Length != 2 * SHA256.HashSizeInBytes || !hex.All(Uri.IsHexDigit))
        {
            throw new InvalidOperationException(
                $"{at}: '{hex}' is not a SHA-256 in hex; write 64 hex digits, e.g. from: printf %s \"$KEY\" | sha256sum");
        }

        return Convert.FromHexString(hex);
    }

    internal static string Describe(ApiKeys keys) => keys.Enabled
        ? string.Create(CultureInfo.InvariantCulture, $"{keys.Count} API key(s) for {keys._keys.Select(k => k.Tenant).Distinct().Count()} tenant(s)")
        : "no API keys: one anonymous tenant";
}
