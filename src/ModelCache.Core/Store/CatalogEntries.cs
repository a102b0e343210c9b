using ModelCache.Catalog;

namespace ModelCache.Store;

/// <summary>What a catalog says about a cache entry (the catalog knows nothing of the store).</summary>
public static class CatalogEntries
{
    /// <summary>
    /// The definition a cache entry stands for: this catalog's (exactly its family and member), else the one the entry
    /// carries from the catalog it was saved or listed with, so <c>Save-Model X -CatalogPath c.json | Test-ModelHash</c>
    /// checks X without being given c.json again. Null when neither knows what its bytes must hash to.
    /// </summary>
    public static ModelDefinition? DefinitionOf(this ModelCatalog catalog, ModelCacheEntry entry) =>
        catalog.TryGet(entry.Name, out var model) && model!.Family == entry.Family && model.Member == entry.Member ? model : entry.CarriedDefinition();
}
