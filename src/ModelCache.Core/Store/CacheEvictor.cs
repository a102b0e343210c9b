using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;

namespace ModelCache.Store;

/// <summary>What enforcing a quota did.</summary>
public sealed class EvictionResult
{
    internal EvictionResult(IReadOnlyList<ModelCacheEntry> evicted, long bytesAfter, long maxSize)
    {
        Evicted = evicted;
        BytesAfter = bytesAfter;
        MaxSize = maxSize;
    }

    public IReadOnlyList<ModelCacheEntry> Evicted { get; }

    public long BytesFreed => Evicted.Sum(e => e.Size);

    /// <summary>The cache's size after eviction, as listed.</summary>
    public long BytesAfter { get; }

    public long MaxSize { get; }

    /// <summary>True when what may not be evicted kept the cache over its quota.</summary>
    public bool StillOver => BytesAfter > MaxSize;
}

/// <summary>
/// Brings a cache under its quota: plans with <see cref="EvictionPlanner"/>, protecting pinned entries, the models just
/// saved, the last sync manifest's models and files another tool may own, then removes each chosen entry through the
/// store under its lock, where a pin set meanwhile still keeps it.
/// </summary>
public sealed class CacheEvictor
{
    private readonly CacheStore _store;

    public CacheEvictor(CacheStore store)
    {
        _store = store;
    }

    /// <param name="catalog">Names the entries.</param>
    /// <param name="maxSize">The quota, in bytes.</param>
    /// <param name="justSaved">Qualified names of the models this command saved.</param>
    /// <param name="onEvicted">Called after each removal, on the calling task.</param>
    /// <param name="problems">Receives what was not trusted while listing and each removal that failed.</param>
    /// <param name="cancellationToken">Stops between removals.</param>
    /// <exception cref="ModelCacheException">LastSyncRecordInvalid: nothing is evicted.</exception>
    public async Task<EvictionResult> EnforceAsync(ModelCatalog catalog, long maxSize, IEnumerable<string> justSaved, Action<ModelCacheEntry>? onEvicted,
        ICollection<ModelCacheException>? problems, CancellationToken cancellationToken)
    {
        var synced = LastSyncRecord.Read(_store.Layout);
        var saved = new HashSet<string>(justSaved, StringComparer.OrdinalIgnoreCase);
        var entries = await _store.ListAsync(catalog, problems, cancellationToken).ConfigureAwait(false);
        var plan = EvictionPlanner.Plan(entries, maxSize, e => saved.Contains(e.Name) || synced.Contains(e.Name) || !_store.MayRemoveUnnamed(e));
        var evicted = new List<ModelCacheEntry>();
        foreach (var entry in plan.Evict)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                if (await _store.RemoveUnlessPinnedAsync(entry, cancellationToken).ConfigureAwait(false))
                {
                    evicted.Add(entry);
                    onEvicted?.Invoke(entry);
                }
            }
            catch (ModelCacheException ex)
            {
                problems?.Add(ex);
            }
        }

        return new EvictionResult(evicted, plan.TotalBytes - evicted.Sum(e => e.Size), maxSize);
    }
}
