using System.Collections.Generic;

namespace ModelCache.HuggingFace;

/// <summary>What a scan of a hub cache found: the files of every cached revision, and what it refused to read.</summary>
public sealed class HubCacheScan
{
    internal HubCacheScan(string cacheRoot, IReadOnlyList<HubCacheEntry> entries, IReadOnlyList<HubCacheWarning> warnings)
    {
        CacheRoot = cacheRoot;
        Entries = entries;
        Warnings = warnings;
    }

    public string CacheRoot { get; }

    /// <summary>Ordered by repo, revision and path.</summary>
    public IReadOnlyList<HubCacheEntry> Entries { get; }

    public IReadOnlyList<HubCacheWarning> Warnings { get; }
}
