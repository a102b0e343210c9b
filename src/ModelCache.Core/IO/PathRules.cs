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

    /// <summary>True when <paramref name="path"/> is <paramref name="folder"/> or lies under it (no link resolved).</summary>
    public static bool IsSameOrInside(string path, string folder)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        var outer = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
        return string.Equals(full, outer, Comparison) || full.StartsWith(outer + Path.DirectorySeparatorChar, Comparison);
    }

    /// <summary>True when both name the same place (no link resolved).</summary>
    public static bool IsSame(string a, string b) => IsSameOrInside(a, b) && IsSameOrInside(b, a);
}
