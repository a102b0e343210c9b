using ModelCache.Layouts;
using Newtonsoft.Json;

namespace ModelCache.Store;

/// <summary>
/// A file a cache holds, whatever its layout: a catalog entry (native, uniface) or a hub file. Every cache cmdlet takes
/// it by pipeline (-InputObject), and it carries its root and layout so that a piped file acts on the cache it came from.
/// An abstract class rather than an interface: PowerShell binds a piped object to a parameter typed as an array of an
/// interface only by coercion, after a string -Name has taken it.
/// </summary>
public abstract class CachedFile
{
    /// <summary>The name that selects exactly this file in its cache (<c>Family/Member</c>, <c>org/name@commit:path</c>).</summary>
    public abstract string Name { get; }

    /// <summary>The shorter name a wildcard also matches: the catalog member, or the hub repo id.</summary>
    [JsonIgnore]
    public abstract string ShortName { get; }

    /// <summary>Full path of the file as a reader opens it.</summary>
    public abstract string Path { get; }

    public abstract long Size { get; }

    /// <summary>The hash the bytes must have (SHA-256, or a hub blob id); null when nothing says what they should be.</summary>
    [JsonIgnore]
    public abstract string? ExpectedHash { get; }

    public abstract CacheLayoutKind Layout { get; }

    /// <summary>The cache root the file was listed from.</summary>
    public abstract string CacheRoot { get; }
}
