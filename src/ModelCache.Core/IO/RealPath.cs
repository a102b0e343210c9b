using System;
using System.Collections.Generic;
using System.IO;
using ModelCache.HuggingFace;
using ModelCache.Store;

namespace ModelCache.IO;

/// <summary>
/// A path with every link on the way replaced by its target (realpath), for the parts that exist; the rest is kept
/// as written. Lets two paths that reach the same folder through links be compared. netstandard2.0 has no API for it.
/// </summary>
internal static class RealPath
{
    private const int MaxLinks = 40;

    public static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        var current = Path.GetPathRoot(full)!;
        var parts = new List<string>(Split(full));
        var links = 0;
        while (parts.Count > 0)
        {
            var next = Path.Combine(current, parts[0]);
            parts.RemoveAt(0);
            if (CacheFiles.IsLink(next) && FileLinks.ReadTarget(next) is { } target)
            {
                if (++links > MaxLinks)
                {
                    return full; // A loop of links: nothing real to compare, so the path as written.
                }

                var resolved = Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(current, target));
                parts.InsertRange(0, Split(resolved));
                current = Path.GetPathRoot(resolved)!;
            }
            else
            {
                current = next;
            }
        }

        return current;
    }

    private static string[] Split(string fullPath) =>
        fullPath.Substring(Path.GetPathRoot(fullPath)!.Length).Split(new[] { Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar }, StringSplitOptions.RemoveEmptyEntries);
}
