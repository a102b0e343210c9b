using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store;

namespace ModelCache.Operations;

/// <summary>
/// Listing a cache and selecting in it by user-typed names, for one command: whatever the listing skipped or did not
/// trust is one failure each, and a model already reported so (a FIFO or folder in place of its file) is not also
/// reported as "not cached" when a name selects it.
/// </summary>
public sealed class CacheQuery
{
    private readonly HashSet<string> _reportedModels = new(StringComparer.OrdinalIgnoreCase);
    private readonly object _gate = new();

    /// <summary>The cache's entries; each thing skipped on the way (a link, tampered metadata) is a failure, and the listing goes on.</summary>
    public async Task<IReadOnlyList<ModelCacheEntry>> ListAsync(CacheStore store, ModelCatalog catalog, IOperationEvents events, CancellationToken cancellationToken)
    {
        var problems = new List<ModelCacheException>();
        var entries = await store.ListAsync(catalog, problems, cancellationToken).ConfigureAwait(false);
        foreach (var problem in problems)
        {
            if (problem.Data[CacheStore.ProblemModelKey] is string model)
            {
                lock (_gate)
                {
                    _reportedModels.Add(model);
                }
            }

            events.Failed(problem, store.Root);
        }

        return entries;
    }

    /// <summary>Catalog models a name selects (see <see cref="NameSelector"/>); a plain name that selects nothing is a failure.</summary>
    public IReadOnlyList<ModelDefinition> SelectModels(ModelCatalog catalog, string name, IOperationEvents events)
    {
        var selection = NameSelector.SelectModels(catalog, name);
        if (selection.Error is not null)
        {
            events.Failed(selection.Error, name);
        }

        return selection.Items;
    }

    /// <summary>Cached entries a name selects; a plain name that selects nothing is a failure, unless the listing already reported that model.</summary>
    public IReadOnlyList<ModelCacheEntry> SelectEntries(ModelCatalog catalog, IReadOnlyList<ModelCacheEntry> entries, string name, string cacheRoot, IOperationEvents events)
    {
        var selection = NameSelector.SelectEntries(catalog, entries, name, cacheRoot);
        if (selection.Error is not null && !AlreadyReported(catalog, name, selection.Error))
        {
            events.Failed(selection.Error, name);
        }

        return selection.Items;
    }

    private bool AlreadyReported(ModelCatalog catalog, string name, ModelCacheException error)
    {
        if (error.ErrorId != "ModelNotCached" || NameSelector.SelectModels(catalog, name).Items is not { Count: 1 } models)
        {
            return false;
        }

        lock (_gate)
        {
            return _reportedModels.Contains(models[0].Name);
        }
    }
}
