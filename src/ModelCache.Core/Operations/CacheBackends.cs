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

        var root = _layouts.ResolveRoot(kind, explicitRoot);
        return new CatalogCacheBackend(new CacheStore(_layouts.Open(kind, root.Path, root.Source == CacheLocationSource.Parameter ? null : _layouts.ResolveModelLocations())));
    }

    /// <summary>The backend <paramref name="file"/> belongs to: its own root and layout (with per-model locations when that root is the default native one).</summary>
    public ICacheBackend For(CachedFile file)
    {
        if (file.Layout == CacheLayoutKind.HuggingFace)
        {
            return new HubCacheBackend(file.CacheRoot);
        }

        var isDefaultRoot = file.Layout == CacheLayoutKind.Native
            && string.Equals(Path.GetFullPath(_layouts.ResolveRoot(file.Layout, null).Path), Path.GetFullPath(file.CacheRoot), StringComparison.Ordinal);
        return new CatalogCacheBackend(new CacheStore(_layouts.Open(file.Layout, file.CacheRoot, isDefaultRoot ? _layouts.ResolveModelLocations() : null)));
    }

    /// <summary>
    /// The store of a catalog cache, for what only a catalog cache does (pins, quotas, moves, optimized copies, detection);
    /// the hub cache is refused with <c>LayoutNotSupported</c>, saying why.
    /// </summary>
    public CacheStore OpenStore(CacheLayoutKind kind, string? explicitRoot, string command) =>
        StoreOf(kind == CacheLayoutKind.HuggingFace ? throw CatalogOnly(command) : Open(kind, explicitRoot))!;

    /// <summary>The error for a command that works on catalog caches only, given the hub cache.</summary>
    public static ModelCacheException CatalogOnly(string command) => new("LayoutNotSupported", ModelCacheErrorKind.InvalidArgument,
        $"{command} works on catalog caches (-Layout Native or Uniface) only: the Hugging Face hub cache keeps files by repo and revision, with no catalog entries, pins, quotas, optimized copies or per-model folders.",
        "With -Layout HuggingFace use Get-ModelCache, Test-ModelHash, Clear-ModelCache, Export-ModelCache, Import-ModelCache, or Save-Model -HuggingFaceRepo.");

    /// <summary>The store under a catalog backend, for what only a catalog cache does; null for the hub cache.</summary>
    public static CacheStore? StoreOf(ICacheBackend backend) => (backend as CatalogCacheBackend)?.Store;
}
