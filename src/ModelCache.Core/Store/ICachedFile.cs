using ModelCache.Store.Layouts;

namespace ModelCache.Store;

/// <summary>
/// A file a cache holds, whatever its layout: a catalog entry (native, uniface) or a hub file. Every cache cmdlet takes
/// it by pipeline (-InputObject), and it carries its root and layout so that a piped file acts on the cache it came from.
/// </summary>
public interface ICachedFile
{
    /// <summary>The name that selects exactly this file in its cache (<c>Family/Member</c>, <c>org/name@commit:path</c>).</summary>
    string Name { get; }

    /// <summary>The shorter name a wildcard also matches: the catalog member, or the hub repo id.</summary>
    string ShortName { get; }

    /// <summary>Full path of the file as a reader opens it.</summary>
    string Path { get; }

    long Size { get; }

    /// <summary>The hash the bytes must have (SHA-256, or a hub blob id); null when nothing says what they should be.</summary>
    string? ExpectedHash { get; }

    CacheLayoutKind Layout { get; }

    /// <summary>The cache root the file was listed from.</summary>
    string CacheRoot { get; }
}
