using System.Globalization;
using System.Reflection;

namespace Snn.Server;

/// <summary>
/// Reads <c>Snn:*</c> settings so that a value that is not of the setting's type stops the start
/// naming the key, the value and what is allowed (configuration's own message names neither well),
/// and writes the effective configuration, secrets masked, for the start-up log.
/// </summary>
internal static class SnnConfiguration
{
    /// <summary>Settings whose default is computed on the machine, so appsettings.json leaves them out.</summary>
    public static readonly string[] ComputedDefaults = ["Snn:Limits:MaxMemoryBytes", "Snn:Cpu:Threads"];

    private static readonly string[] s_secretWords = ["Key", "Secret", "Password", "Token", "Certificate"];

    /// <summary>The value of <paramref name="key"/>, or <paramref name="fallback"/> when unset; throws naming the key when it does not parse.</summary>
    public static T Get<T>(IConfiguration config, string key, T fallback)
    {
        try
        {
            return config.GetValue(key, fallback)!;
        }
        catch (InvalidOperationException e)
        {
            throw Unparsable(key, config[key], typeof(T), e);
        }
    }

    /// <summary>Binds section <paramref name="section"/> onto a new <typeparamref name="T"/>; a value that does not parse throws naming its key.</summary>
    public static T Bind<T>(IConfiguration config, string section)
        where T : new()
    {
        var options = new T();
        var values = config.GetSection(section);
        foreach (var property in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            try
            {
                values.GetValue(property.PropertyType, property.Name);
            }
            catch (InvalidOperationException e)
            {
                string key = $"{section}:{property.Name}";
                throw Unparsable(key, config[key], property.PropertyType, e);
            }
        }

        values.Bind(options);
        return options;
    }

    private static InvalidOperationException Unparsable(string key, string? value, Type type, Exception inner) =>
        new($"{key} is '{value}'; it must be {Allowed(Nullable.GetUnderlyingType(type) ?? type)}", inner);

    private static string Allowed(Type type) =>
        type == typeof(int) ? $"a whole number from {int.MinValue} to {int.MaxValue}"
        : type == typeof(long) ? $"a whole number from {long.MinValue} to {long.MaxValue}"
        : type == typeof(double) ? "a number (e.g. 0.001 or 1e-3)"
        : type == typeof(bool) ? "true or false"
        : type == typeof(TimeSpan) ? "a time span as [d.]hh:mm:ss[.fff] (e.g. 00:00:10)"
        : $"a {type.Name}";

    /// <summary>Whether a key's value is masked in the log: its name has Key, Secret, Password, Token or Certificate in it.</summary>
    public static bool IsSecret(string key) =>
        s_secretWords.Any(word => key.Contains(word, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Every <c>Snn:*</c> key with its value, sorted, secrets that are set as <c>***</c>; <paramref name="computed"/>
    /// adds the values of settings whose default is computed (when they are not set), as they are.
    /// </summary>
    public static string Effective(IConfiguration config, IReadOnlyDictionary<string, string> computed)
    {
        var values = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in computed)
        {
            values[key] = value;
        }

        // A secret is masked when set; an empty one shows that none is set.
        foreach (var (key, value) in config.GetSection("Snn").AsEnumerable())
        {
            if (value is not null)
            {
                values[key] = IsSecret(key) && value.Length > 0 ? "***" : value;
            }
        }

        return string.Join(", ", values.Select(kv => $"{kv.Key}={kv.Value}"));
    }

    public static string Invariant(IFormattable value) => value.ToString(null, CultureInfo.InvariantCulture);
}
