using System;
using System.Globalization;

namespace ModelCache.Primitives;

/// <summary>Durations for people: the two largest units that matter, invariant culture ("146 ms", "8.8 s", "2 min 5 s").</summary>
public static class Duration
{
    public static string Format(TimeSpan duration)
    {
        var sign = duration < TimeSpan.Zero ? "-" : "";
        duration = duration.Duration();
        var text = duration.TotalSeconds switch
        {
            < 1 => duration.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms",
            < 60 => duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s",
            < 3600 => $"{(int)duration.TotalMinutes} min {duration.Seconds} s",
            < 86400 => $"{(int)duration.TotalHours} h {duration.Minutes} min",
            _ => $"{(int)duration.TotalDays} d {duration.Hours} h",
        };
        return sign + text;
    }
}
