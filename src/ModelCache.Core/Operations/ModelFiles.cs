using System.IO;
using ModelCache.Catalog;
using ModelCache.Store;

namespace ModelCache.Operations;

/// <summary>Where a catalog model's file lives in a cache, and whether it is there: what listings and warnings name.</summary>
public static class ModelFiles
{
    /// <summary>The path <paramref name="model"/>'s file has in <paramref name="store"/> (its per-model folder when the store has one).</summary>
    public static string PathIn(CacheStore store, ModelDefinition model) => store.GetModelPath(model);

    /// <summary>True when <paramref name="model"/>'s file is in <paramref name="store"/> (present, not checked).</summary>
    public static bool IsCached(CacheStore store, ModelDefinition model) => File.Exists(store.GetModelPath(model));
}
