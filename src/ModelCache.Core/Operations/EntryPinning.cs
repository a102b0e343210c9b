using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Store;

namespace ModelCache.Operations;

/// <summary>Pins or unpins a cached entry, so that quota eviction and Clear-ModelCache keep it (Set-ModelCacheEntry -Pinned).</summary>
public static class EntryPinning
{
    /// <summary>
    /// Records <paramref name="pinned"/> in the entry's metadata; the entry's model (from <paramref name="catalog"/>, or the
    /// definition the entry carries) is what its rewritten metadata is checked against. Returns the entry as it reads after.
    /// </summary>
    public static Task<ModelCacheEntry> SetAsync(CacheStore store, ModelCatalog catalog, ModelCacheEntry entry, bool pinned, CancellationToken cancellationToken) =>
        store.SetPinnedAsync(entry, pinned, catalog.DefinitionOf(entry), cancellationToken);
}
