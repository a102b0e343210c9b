using System;
using ModelCache.Primitives;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// Human sizes and durations for the module's views. The Format.ps1xml scripts call this type because the libraries
/// load in the module's own assembly load context, where a type literal in a script cannot reach them.
/// </summary>
public static class DisplayFormat
{
    /// <summary>"1.7 MiB"; empty for null.</summary>
    public static string Size(object? bytes) => bytes is null ? string.Empty : ByteSize.Format(Convert.ToInt64(bytes, System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>"1.7 MiB (1,809,111 bytes)": the human size with the exact count, for list views.</summary>
    public static string SizeWithBytes(object? bytes) => bytes is null
        ? string.Empty
        : $"{Size(bytes)} ({Convert.ToInt64(bytes, System.Globalization.CultureInfo.InvariantCulture).ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} bytes)";

    /// <summary>"146 ms", "8.8 s", "2 min 5 s"; empty for null.</summary>
    public static string Time(object? duration) => duration is TimeSpan span ? Duration.Format(span) : string.Empty;

    /// <summary>The tail of a long path, from a separator on, after '…', so the file name stays whole; the object keeps the path.</summary>
    public static string PathTail(object? path, int width)
    {
        var text = path?.ToString() ?? string.Empty;
        if (text.Length <= width)
        {
            return text;
        }

        var tail = text.Substring(text.Length - (width - 1));
        var separator = tail.IndexOfAny(new[] { '/', '\\' });
        return "…" + (separator > 0 ? tail.Substring(separator) : tail);
    }
}
