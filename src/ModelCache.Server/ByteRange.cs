using System;
using System.Globalization;

namespace ModelCache.Server;

/// <summary>One satisfiable byte range of a file: <see cref="Start"/> to <see cref="End"/>, inclusive.</summary>
public readonly struct ByteRange
{
    public ByteRange(long start, long end)
    {
        Start = start;
        End = end;
    }

    public long Start { get; }

    public long End { get; }

    public long Length => End - Start + 1;
}

/// <summary>What a Range header asks of a file of a given length.</summary>
public enum RangeRequestKind
{
    /// <summary>No usable Range header (absent, another unit, several ranges, malformed): the whole file, 200.</summary>
    Whole,

    /// <summary>One satisfiable range: 206.</summary>
    Partial,

    /// <summary>A well-formed single range that lies past the end: 416.</summary>
    Unsatisfiable,
}

/// <summary>Parses a single-range <c>Range: bytes=…</c> header (RFC 9110 §14.1.2); several ranges are answered whole, as the RFC allows.</summary>
public static class RangeHeader
{
    public static RangeRequestKind Parse(string? header, long length, out ByteRange range)
    {
        range = default;
        if (header is null)
        {
            return RangeRequestKind.Whole;
        }

        var value = header.Trim();
        const string unit = "bytes=";
        if (!value.StartsWith(unit, StringComparison.OrdinalIgnoreCase) || value.IndexOf(',') >= 0)
        {
            return RangeRequestKind.Whole;
        }

        var spec = value.Substring(unit.Length).Trim();
        var dash = spec.IndexOf('-');
        if (dash < 0)
        {
            return RangeRequestKind.Whole;
        }

        var first = spec.Substring(0, dash).Trim();
        var last = spec.Substring(dash + 1).Trim();
        if (first.Length == 0)
        {
            // bytes=-N: the last N bytes.
            if (!TryParse(last, out var suffix) || suffix == 0)
            {
                return suffix == 0 && last.Length > 0 ? RangeRequestKind.Unsatisfiable : RangeRequestKind.Whole;
            }

            if (length == 0)
            {
                return RangeRequestKind.Unsatisfiable;
            }

            range = new ByteRange(Math.Max(0, length - suffix), length - 1);
            return RangeRequestKind.Partial;
        }

        if (!TryParse(first, out var start))
        {
            return RangeRequestKind.Whole;
        }

        long end = length - 1;
        if (last.Length > 0)
        {
            if (!TryParse(last, out end) || end < start)
            {
                return RangeRequestKind.Whole;
            }
        }

        if (start >= length)
        {
            return RangeRequestKind.Unsatisfiable;
        }

        range = new ByteRange(start, Math.Min(end, length - 1));
        return RangeRequestKind.Partial;
    }

    private static bool TryParse(string digits, out long value)
    {
        value = 0;
        foreach (var c in digits)
        {
            if (c < '0' || c > '9')
            {
                return false;
            }
        }

        return digits.Length is > 0 and <= 18 && long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
