using System;
using System.IO;

namespace ModelCache.IO;

/// <summary>How this OS compares paths: one rule for every containment and sameness check.</summary>
public static class PathRules
{
    /// <summary>Case-insensitive where the OS's usual file systems are (Windows), exact elsewhere.</summary>
    public static StringComparison Comparison { get; } =
        Path.DirectorySeparatorChar == '\\' ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    public static StringComparer Comparer { get; } =
        Path.DirectorySeparatorChar == '\\' ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

    /// <summary>The full path without a trailing separator (a file-system or drive root keeps its own).</summary>
    public static string FullPath(string path)
    {
        var full = Path.GetFullPath(path);
        var trimmed = full.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        return trimmed.Length == 0 || trimmed.EndsWith(":", StringComparison.Ordinal) ? full : trimmed;
    }

    /// <summary>True when <paramref name="path"/> lies strictly under <paramref name="folder"/> (no link resolved).</summary>
    public static bool IsInside(string path, string folder) => FullPath(path).StartsWith(WithSeparator(FullPath(folder)), Comparison);

    /// <summary>True when <paramref name="path"/> is <paramref name="folder"/> or lies under it (no link resolved).</summary>
    public static bool IsSameOrInside(string path, string folder) =>
        string.Equals(FullPath(path), FullPath(folder), Comparison) || IsInside(path, folder);

    /// <summary>True when both name the same place (no link resolved).</summary>
    public static bool IsSame(string a, string b) => string.Equals(FullPath(a), FullPath(b), Comparison);

    /// <summary><paramref name="folder"/> ending in one separator, so a prefix test cannot match a sibling (/a/bc under /a/b).</summary>
    public static string WithSeparator(string folder) =>
        folder.EndsWith(Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal) ? folder : folder + Path.DirectorySeparatorChar;
}
