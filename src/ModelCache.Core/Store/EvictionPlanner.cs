using System;
using System.Collections.Generic;
using System.Linq;

namespace ModelCache.Store;

/// <summary>What eviction would remove to bring a cache under its quota, and where that leaves it.</summary>
public sealed class EvictionPlan
{
    internal EvictionPlan(IReadOnlyList<ModelCacheEntry> evict, long totalBytes, long maxSize)
    {
        Evict = evict;
        TotalBytes = totalBytes;
        MaxSize = maxSize;
        BytesAfter = totalBytes - evict.Sum(e => e.Size);
    }

    /// <summary>Least recently used first.</summary>
    public IReadOnlyList<ModelCacheEntry> Evict { get; }

    public long TotalBytes { get; }

    public long BytesAfter { get; }

    public long MaxSize { get; }

    /// <summary>False when what may not be evicted (pinned, protected) alone is over the quota.</summary>
    public bool Fits => BytesAfter <= MaxSize;
}

/// <summary>
/// Chooses entries to evict, least recently used first (LastUsed, else SavedAt; unknown counts as oldest), until the
/// cache holds at most the quota. Pinned entries and those the caller protects (the model just saved, the last sync
/// manifest's models, files another tool may own) are never chosen. Works on listed entries only: nothing here
/// touches the disk.
/// </summary>
public static class EvictionPlanner
{
    public static EvictionPlan Plan(IReadOnlyList<ModelCacheEntry> entries, long maxSize, Func<ModelCacheEntry, bool> isProtected)
    {
        var total = entries.Sum(e => e.Size);
        var evict = new List<ModelCacheEntry>();
        var remaining = total;
        var candidates = entries
            .Where(e => !e.Pinned && !isProtected(e))
            .OrderBy(e => e.LastActivity ?? DateTimeOffset.MinValue)
            .ThenBy(e => e.Name, StringComparer.Ordinal);
        foreach (var entry in candidates)
        {
            if (remaining <= maxSize)
            {
                break;
            }

            evict.Add(entry);
            remaining -= entry.Size;
        }

        return new EvictionPlan(evict, total, maxSize);
    }
}
