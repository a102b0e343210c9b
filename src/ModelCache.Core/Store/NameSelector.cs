using System;
using System.Collections.Generic;
using System.Linq;
using ModelCache.Catalog;
using ModelCache.Errors;

namespace ModelCache.Store;

/// <summary>What a user-typed name selected, or why it selected nothing.</summary>
public sealed class Selection<T>
{
    public Selection(IReadOnlyList<T> items, ModelCacheException? error)
    {
        Items = items;
        Error = error;
    }

    public IReadOnlyList<T> Items { get; }

    /// <summary>Set when a plain name selected nothing (unknown, ambiguous, not cached); wildcards never fail.</summary>
    public ModelCacheException? Error { get; }
}

/// <summary>
/// The one rule for names every cmdlet takes: a wildcard matches qualified or member names silently; a plain
/// name is resolved like everywhere else (<c>Family/Member</c>, a unique member, a family default) and says why
/// when it selects nothing.
/// </summary>
public static class NameSelector
{
    /// <summary>Catalog models selected by <paramref name="name"/>.</summary>
    public static Selection<ModelDefinition> SelectModels(ModelCatalog catalog, string name)
    {
        if (WildcardMatcher.HasWildcard(name))
        {
            var pattern = new WildcardMatcher(name);
            return new Selection<ModelDefinition>(catalog.Models.Where(m => pattern.IsMatch(m.Name) || pattern.IsMatch(m.Member)).ToList(), null);
        }

        try
        {
            return new Selection<ModelDefinition>(new[] { catalog.Resolve(name) }, null);
        }
        catch (ModelNameException ex)
        {
            return new Selection<ModelDefinition>(Array.Empty<ModelDefinition>(), ex);
        }
    }

    /// <summary>Cached entries selected by <paramref name="name"/>; orphans (not in the catalog) only by their exact name.</summary>
    public static Selection<ModelCacheEntry> SelectEntries(ModelCatalog catalog, IReadOnlyList<ModelCacheEntry> entries, string name, string cacheRoot)
    {
        if (WildcardMatcher.HasWildcard(name))
        {
            var pattern = new WildcardMatcher(name);
            return new Selection<ModelCacheEntry>(entries.Where(e => pattern.IsMatch(e.Name) || pattern.IsMatch(e.Member)).ToList(), null);
        }

        var orphan = entries.FirstOrDefault(e => !e.InCatalog && string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));
        if (orphan is not null)
        {
            return new Selection<ModelCacheEntry>(new[] { orphan }, null);
        }

        var models = SelectModels(catalog, name);
        if (models.Error is not null)
        {
            return new Selection<ModelCacheEntry>(Array.Empty<ModelCacheEntry>(), models.Error);
        }

        var model = models.Items[0];
        var match = entries.Where(e => string.Equals(e.Name, model.Name, StringComparison.OrdinalIgnoreCase)).ToList();
        return new Selection<ModelCacheEntry>(match, match.Count > 0 ? null : new ModelCacheException("ModelNotCached", ModelCacheErrorKind.NotFound,
            $"{model.Name} is not in the cache at '{cacheRoot}'.", $"Run 'Save-Model {model.Name}' to add it."));
    }

    /// <summary>
    /// The one rule for cached files of any layout: a wildcard matches the full or short name (<see cref="CachedFile.ShortName"/>)
    /// silently; a plain name selects the file of exactly that name, else what <paramref name="resolvePlain"/> makes of it
    /// (the catalog's resolution, or a hub repo id), which says why when it selects nothing.
    /// </summary>
    public static Selection<CachedFile> SelectFiles(IReadOnlyList<CachedFile> files, string name, Func<string, Selection<CachedFile>> resolvePlain)
    {
        if (WildcardMatcher.HasWildcard(name))
        {
            var pattern = new WildcardMatcher(name);
            return new Selection<CachedFile>(files.Where(f => pattern.IsMatch(f.Name) || pattern.IsMatch(f.ShortName)).ToList(), null);
        }

        var exact = files.Where(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase)).ToList();
        return exact.Count > 0 ? new Selection<CachedFile>(exact, null) : resolvePlain(name);
    }

    /// <summary>A selection of <paramref name="items"/>, or of nothing with <paramref name="error"/> when there are none.</summary>
    public static Selection<CachedFile> Selected(IReadOnlyList<CachedFile> items, Func<ModelCacheException> error) =>
        new(items, items.Count > 0 ? null : error());

    public static Selection<CachedFile> Failed(ModelCacheException error) => new(Array.Empty<CachedFile>(), error);
}
