using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// Picks cached entries by a user-typed name: a wildcard matches qualified or member names
/// silently; a plain name is resolved like everywhere else and reports an error when not cached.
/// </summary>
internal static class CachedEntrySelector
{
    public static IEnumerable<ModelCacheEntry> Select(Cmdlet cmdlet, ModelCatalog catalog, IReadOnlyList<ModelCacheEntry> entries, string name, string cacheRoot)
    {
        if (WildcardMatcher.HasWildcard(name))
        {
            var pattern = new WildcardMatcher(name);
            return entries.Where(e => pattern.IsMatch(e.Name) || pattern.IsMatch(e.Member)).ToList();
        }

        // Orphans (no longer in the catalog) can still be named exactly.
        var orphan = entries.FirstOrDefault(e => !e.InCatalog && string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));
        if (orphan is not null)
        {
            return new[] { orphan };
        }

        ModelDefinition model;
        try
        {
            model = catalog.Resolve(name);
        }
        catch (ModelNameException ex)
        {
            cmdlet.WriteError(ErrorRecords.From(ex, name));
            return Array.Empty<ModelCacheEntry>();
        }

        var match = entries.Where(e => string.Equals(e.Name, model.Name, StringComparison.OrdinalIgnoreCase)).ToList();
        if (match.Count == 0)
        {
            cmdlet.WriteError(ErrorRecords.Create("ModelNotCached", ErrorCategory.ObjectNotFound,
                $"{model.Name} is not in the cache at '{cacheRoot}'.", $"Run 'Save-Model {model.Name}' to add it.", name));
        }

        return match;
    }
}
