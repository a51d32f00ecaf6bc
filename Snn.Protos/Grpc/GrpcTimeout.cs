using System.Globalization;

namespace Snn.Grpc;

/// <summary>
/// The <c>grpc-timeout</c> header: 1 to 8 ASCII digits followed by a unit,
/// H (hours), M (minutes), S (seconds), m (milliseconds), u (microseconds) or n (nanoseconds).
/// </summary>
public static class GrpcTimeout
{
    /// <summary>The largest value the header can hold (8 digits).</summary>
    public const long MaxValue = 99_999_999;

    private static readonly (long TicksPerUnit, char Unit)[] Units =
    [
        (TimeSpan.TicksPerMicrosecond, 'u'),
        (TimeSpan.TicksPerMillisecond, 'm'),
        (TimeSpan.TicksPerSecond, 'S'),
        (TimeSpan.TicksPerMinute, 'M'),
        (TimeSpan.TicksPerHour, 'H'),
    ];

    /// <summary>Parses a header value. Nanoseconds and microseconds round up to the next 100 ns tick.</summary>
    public static bool TryParse(ReadOnlySpan<char> value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.Length < 2 || value.Length > 9)
        {
            return false;
        }

        long amount = 0;
        var digits = value[..^1];
        foreach (var c in digits)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            amount = (amount * 10) + (c - '0');
        }

        long ticks;
        switch (value[^1])
        {
            case 'H': ticks = amount * TimeSpan.TicksPerHour; break;
            case 'M': ticks = amount * TimeSpan.TicksPerMinute; break;
            case 'S': ticks = amount * TimeSpan.TicksPerSecond; break;
            case 'm': ticks = amount * TimeSpan.TicksPerMillisecond; break;
            case 'u': ticks = amount * TimeSpan.TicksPerMicrosecond; break;
            case 'n': ticks = (amount + 99) / 100; break;
            default: return false;
        }

        timeout = TimeSpan.FromTicks(ticks);
        return true;
    }

    /// <summary>
    /// Formats a timeout with the finest unit whose value fits in 8 digits, rounding up so a
    /// deadline is never shortened. Negative values format as "0n"; huge values clamp to 99999999H.
    /// </summary>
    public static string Format(TimeSpan timeout)
    {
        var ticks = timeout.Ticks;
        if (ticks <= 0)
        {
            return "0n";
        }

        // Nanoseconds first: 1 tick = 100 ns.
        if (ticks <= MaxValue / 100)
        {
            return Make(ticks * 100, 'n');
        }

        foreach (var (perUnit, unit) in Units)
        {
            var amount = (ticks / perUnit) + (ticks % perUnit == 0 ? 0 : 1);
            if (amount <= MaxValue)
            {
                return Make(amount, unit);
            }
        }

        return Make(MaxValue, 'H');
    }

    private static string Make(long amount, char unit) => string.Create(CultureInfo.InvariantCulture, $"{amount}{unit}");
}
