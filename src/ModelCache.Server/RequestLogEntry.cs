using System;
using System.Globalization;
using System.Text;

namespace ModelCache.Server;

/// <summary>One request as the log line shows it: never a header, a query string or a body, so never a token.</summary>
public sealed class RequestLogEntry
{
    private const int MaxShownPath = 200;

    public RequestLogEntry(string method, string path, int status, long bytes, TimeSpan elapsed)
    {
        Method = method;
        Path = path;
        Status = status;
        Bytes = bytes;
        Elapsed = elapsed;
    }

    public string Method { get; }

    /// <summary>The raw path without its query string, control characters escaped and cut at 200 characters.</summary>
    public string Path { get; }

    public int Status { get; }

    /// <summary>Body bytes sent.</summary>
    public long Bytes { get; }

    public TimeSpan Elapsed { get; }

    public override string ToString() =>
        string.Format(CultureInfo.InvariantCulture, "{0} {1} {2} {3} {4}ms", Method, Path, Status, Bytes, (long)Elapsed.TotalMilliseconds);

    /// <summary>What of a raw request target may be logged: the path only, printable, bounded.</summary>
    public static string Printable(string? rawTarget)
    {
        var target = rawTarget ?? string.Empty;
        var query = target.IndexOf('?');
        var path = query >= 0 ? target.Substring(0, query) : target;
        var shown = new StringBuilder(Math.Min(path.Length, MaxShownPath) + 8);
        foreach (var c in path)
        {
            if (shown.Length >= MaxShownPath)
            {
                shown.Append("...");
                break;
            }

            shown.Append(c < 0x20 || c == 0x7f || c == ' ' ? "%" + ((int)c).ToString("X2", CultureInfo.InvariantCulture) : c.ToString());
        }

        return shown.ToString();
    }
}
