using System;
using System.IO;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Locations;
using ModelCache.Store;
using ModelCache.Layouts;

namespace ModelCache.Operations;

/// <summary>
/// Chooses the backend for a layout (the catalog cache for native and uniface roots, the hub cache for HuggingFace) and
/// its root (given, else the layout's default), or the backend a cached file came from.
/// </summary>
public sealed class CacheBackends
{
    private readonly CacheLayoutResolver _layouts;
    private readonly IEnvironment _environment;

    public CacheBackends(CacheLayoutResolver layouts, IEnvironment environment)
    {
        _layouts = layouts;
        _environment = environment;
    }

    /// <summary>
    /// The backend over <paramref name="kind"/> at <paramref name="explicitRoot"/> (a full path), or at that layout's default
    /// root. Without a root, the native layout honours per-model locations (Set-ModelCacheLocation -Name); an explicit root overrides them.
    /// </summary>
    public ICacheBackend Open(CacheLayoutKind kind, string? explicitRoot)
    {
        if (kind == CacheLayoutKind.HuggingFace)
        {
            return new HubCacheBackend(string.IsNullOrEmpty(explicitRoot) ? HubCacheLocation.Resolve(_environment) : explicitRoot!);
        }

        return new CatalogCacheBackend(new CacheStores(_layouts).Open(explicitRoot, kind));
    }

    /// <summary>The backend <paramref name="file"/> belongs to: its own root and layout (with per-model locations when that root is the default native one).</summary>
    public ICacheBackend For(CachedFile file)
    {
        if (file.Layout == CacheLayoutKind.HuggingFace)
        {
            return new HubCacheBackend(file.CacheRoot);
        }

        return new CatalogCacheBackend(new CacheStores(_layouts).Of((ModelCacheEntry)file));
    }

    /// <summary>The store under a catalog backend, for what only a catalog cache does; null for the hub cache.</summary>
    public static CacheStore? StoreOf(ICacheBackend backend) => (backend as CatalogCacheBackend)?.Store;
}
