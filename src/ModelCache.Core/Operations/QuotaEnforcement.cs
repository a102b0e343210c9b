using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.Store;

namespace ModelCache.Operations;

/// <summary>
/// Quota eviction after saves (Save-Model, Sync-ModelCache): least recently used unpinned entries go until the cache is
/// within its quota, never one just saved or listed by the last sync manifest.
/// </summary>
public static class QuotaEnforcement
{
    /// <summary>
    /// A verbose line per eviction, a warning for the total, a failure per problem; null when no quota applies or the
    /// cache cannot be written.
    /// </summary>
    public static async Task<EvictionResult?> EnforceAsync(CacheStore store, ModelCatalog catalog, CacheQuota quota, IEnumerable<string> justSaved,
        IOperationEvents events, CancellationToken cancellationToken)
    {
        if (quota.MaxSize is not { } maxSize || store.CheckWritable() is not null)
        {
            return null;
        }

        var problems = new List<ModelCacheException>();
        EvictionResult? result = null;
        try
        {
            result = await new CacheEvictor(store).EnforceAsync(catalog, maxSize, justSaved,
                evicted => events.Verbose($"Evicted {evicted.Name} ({ByteSize.Format(evicted.Size)}) to stay under MaxSize {ByteSize.Format(maxSize)}."),
                problems, cancellationToken).ConfigureAwait(false);
            if (result.Evicted.Count > 0)
            {
                events.Warning($"Evicted {result.Evicted.Count} least recently used models ({ByteSize.Format(result.BytesFreed)}) to stay under MaxSize {quota}: {string.Join(", ", result.Evicted.Select(e => e.Name))}.");
            }
        }
        catch (ModelCacheException ex)
        {
            problems.Add(ex);
        }

        foreach (var problem in problems)
        {
            events.Failed(problem, store.Root);
        }

        return result;
    }
}
