using System;
using System.Collections.Generic;
using System.Text;

namespace ModelCache.Server;

/// <summary>
/// The path of a request, judged on the raw request target before anything is decoded: only origin-form paths of
/// printable ASCII, at most <see cref="MaxLength"/> characters, with no backslash, no encoded slash, backslash or
/// control character, and no empty, <c>.</c> or <c>..</c> segment (raw or encoded). Whatever passes is split into
/// decoded segments, none of which can name a folder; what fails is a 400 that never reaches a route.
/// </summary>
public sealed class RequestTarget
{
    public const int MaxLength = 1024;

    private RequestTarget(IReadOnlyList<string> segments)
    {
        Segments = segments;
    }

    /// <summary>The decoded path segments; empty for <c>/</c>.</summary>
    public IReadOnlyList<string> Segments { get; }

    /// <summary>The parsed target, or null with the reason it is refused.</summary>
    public static RequestTarget? Parse(string? raw, out string? rejection)
    {
        rejection = Check(raw);
        if (rejection is not null)
        {
            return null;
        }

        var query = raw!.IndexOf('?');
        var path = query >= 0 ? raw.Substring(0, query) : raw;
        var segments = new List<string>();
        if (path.Length > 1)
        {
            foreach (var part in path.Substring(1).Split('/'))
            {
                var segment = Decode(part);
                if (segment is null || segment.Length == 0 || segment == "." || segment == "..")
                {
                    rejection = "the path has an empty, '.' or '..' segment, or an invalid escape";
                    return null;
                }

                segments.Add(segment);
            }
        }

        return new RequestTarget(segments);
    }

    private static string? Check(string? raw)
    {
        if (string.IsNullOrEmpty(raw))
        {
            return "empty request target";
        }

        if (raw!.Length > MaxLength)
        {
            return $"the request target is longer than {MaxLength} characters";
        }

        if (raw[0] != '/')
        {
            return "only origin-form paths are served (no absolute URL or '*')";
        }

        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c <= 0x20 || c >= 0x7f)
            {
                return "the path holds a control, space or non-ASCII character";
            }

            if (c == '\\')
            {
                return "the path holds a backslash";
            }

            if (c == '%')
            {
                if (i + 2 >= raw.Length || HexValue(raw[i + 1]) < 0 || HexValue(raw[i + 2]) < 0)
                {
                    return "the path holds an invalid percent escape";
                }

                var value = (HexValue(raw[i + 1]) << 4) | HexValue(raw[i + 2]);
                if (value < 0x20 || value == 0x7f || value == '/' || value == '\\' || value == '%')
                {
                    return "the path holds an encoded slash, backslash, percent or control character";
                }
            }
        }

        return null;
    }

    /// <summary>A segment percent-decoded as UTF-8; null when the bytes are not valid UTF-8.</summary>
    private static string? Decode(string part)
    {
        if (part.IndexOf('%') < 0)
        {
            return part;
        }

        var bytes = new List<byte>(part.Length);
        for (var i = 0; i < part.Length; i++)
        {
            if (part[i] == '%')
            {
                bytes.Add((byte)((HexValue(part[i + 1]) << 4) | HexValue(part[i + 2])));
                i += 2;
            }
            else
            {
                bytes.Add((byte)part[i]);
            }
        }

        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.ToArray());
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static int HexValue(char c) =>
        c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}
