using System;
using System.IO;
using ModelCache.Errors;

namespace ModelCache.IO;

/// <summary>
/// The one containment rule for a cache root that may be a copy from a stranger, used by the catalog layouts and the hub
/// code alike: a path is contained when it lies under the root, compared as this OS compares paths (<see cref="PathRules"/>),
/// and neither it nor any folder between it and the root is a link (the root itself may be one: where the user keeps the
/// cache is the user's choice). What is read there is opened as a regular file only (<see cref="RegularFile"/>), and small
/// files are read with a bound (<see cref="ReadBounded"/>).
/// </summary>
public sealed class RootGuard
{
    /// <summary>The error id for a link where the cache expects a real file or folder, wherever it is found.</summary>
    public const string LinkErrorId = "CacheFolderIsLink";

    public RootGuard(string root)
    {
        Root = PathRules.FullPath(root);
    }

    /// <summary>The root's full path, without a trailing separator.</summary>
    public string Root { get; }

    /// <summary>
    /// True when <paramref name="path"/> is a symbolic link, junction or other reparse point (checked on the link itself,
    /// not its target), so that nothing is read, written or deleted through it.
    /// </summary>
    public static bool IsLink(string path)
    {
        try
        {
            return (File.GetAttributes(path) & FileAttributes.ReparsePoint) != 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false; // Absent (or unreadable): nothing to follow.
        }
    }

    /// <summary>True when <paramref name="path"/> is the root or lies under it and no folder between them, nor the path itself, is a link.</summary>
    public bool IsContained(string path)
    {
        var full = PathRules.FullPath(path);
        if (string.Equals(full, Root, PathRules.Comparison))
        {
            return true;
        }

        var prefix = PathRules.WithSeparator(Root);
        if (!full.StartsWith(prefix, PathRules.Comparison))
        {
            return false;
        }

        for (var current = full; current.Length > prefix.Length; current = Path.GetDirectoryName(current)!)
        {
            if (IsLink(current))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Throws <see cref="LinkErrorId"/> unless <paramref name="path"/> is contained (see <see cref="IsContained"/>).</summary>
    public void EnsureContained(string path)
    {
        if (!IsContained(path))
        {
            throw LinkRefused(path);
        }
    }

    /// <summary>The error for a path that is, or lies behind, a link, or lies outside the root.</summary>
    public static ModelCacheException LinkRefused(string path) => new(LinkErrorId, ModelCacheErrorKind.SecurityError,
        $"'{path}' or a folder above it in the cache is a link, or lies outside the cache root; the cache reads and writes nothing through links.",
        "Replace the link with a real folder, or choose another cache root.");

    /// <summary>A link found while walking a root: skipped, and said.</summary>
    public static ModelCacheException LinkSkipped(string path, string? detail = null) => new(LinkErrorId, ModelCacheErrorKind.SecurityError,
        detail ?? $"'{path}' is a link; the cache lists, reads and removes nothing through links, so it was skipped.",
        "Replace the link with the real folder or file if it belongs in the cache, or remove it by hand after checking where it points.");

    /// <summary>
    /// Up to <paramref name="maxBytes"/> bytes of a small file (a ref, a key), read as a regular file only; null when it is
    /// larger than that. Throws <see cref="NotARegularFileException"/> for a FIFO or folder in its place.
    /// </summary>
    public static byte[]? ReadBounded(string path, int maxBytes)
    {
        var buffer = new byte[maxBytes + 1];
        var read = 0;
        using (var stream = RegularFile.Open(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            int count;
            while (read < buffer.Length && (count = stream.Read(buffer, read, buffer.Length - read)) > 0)
            {
                read += count;
            }
        }

        if (read > maxBytes)
        {
            return null;
        }

        Array.Resize(ref buffer, read);
        return buffer;
    }

}
