using System;
using System.IO;
using ModelCache.Catalog;
using ModelCache.Locations;
using ModelCache.Store;
using ModelCache.Layouts;

namespace ModelCache.Operations;

/// <summary>
/// Which cache a command works on: the root given (a full path) or the layout's effective one, with per-model locations
/// (Set-ModelCacheLocation -Name) honoured unless a root is given; and the cache a listed entry came from.
/// </summary>
public sealed class CacheStores
{
    private readonly CacheLayoutResolver _layouts;

    public CacheStores(CacheLayoutResolver layouts) => _layouts = layouts;

    /// <summary>The effective root of <paramref name="layout"/>; <paramref name="explicitRoot"/> (a full path) when given.</summary>
    public CacheLocation ResolveRoot(string? explicitRoot, CacheLayoutKind layout = CacheLayoutKind.Native) => _layouts.ResolveRoot(layout, explicitRoot);

    /// <summary>
    /// Where <paramref name="model"/>'s file lives and the rule that chose it: its own folder when a per-model location
    /// is set (and no root is given), else its folder under the effective root.
    /// </summary>
    public CacheLocation ResolveModelLocation(ModelDefinition model, string? explicitRoot)
    {
        var root = ResolveRoot(explicitRoot);
        if (root.Source != CacheLocationSource.Parameter && _layouts.ResolveModelLocations().Find(model.Family, model.Member) is { } own)
        {
            return own;
        }

        return new CacheLocation(new NativeLayout(root.Path).GetEntryDirectory(model.Family, model.Member), root.Source, root.Detail + ", the model's folder under the cache root", model.Name);
    }

    /// <summary>The store over <paramref name="layout"/> at <paramref name="explicitRoot"/>, or at that layout's default root.</summary>
    public CacheStore Open(string? explicitRoot, CacheLayoutKind layout = CacheLayoutKind.Native)
    {
        var root = ResolveRoot(explicitRoot, layout);
        return new CacheStore(_layouts.Open(layout, root.Path, root.Source == CacheLocationSource.Parameter ? null : _layouts.ResolveModelLocations()));
    }

    /// <summary>The store a listed entry belongs to: its own root and layout (with per-model locations when that root is the default one).</summary>
    public CacheStore Of(ModelCacheEntry entry)
    {
        var isDefaultRoot = entry.Layout == CacheLayoutKind.Native
            && string.Equals(Path.GetFullPath(ResolveRoot(null, entry.Layout).Path), Path.GetFullPath(entry.CacheRoot), StringComparison.Ordinal);
        return new(_layouts.Open(entry.Layout, entry.CacheRoot, isDefaultRoot ? _layouts.ResolveModelLocations() : null));
    }
}
