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

    /// <summary>The files of a cache of any layout; each thing skipped on the way is a failure targeting its path when known.</summary>
    public async Task<IReadOnlyList<CachedFile>> ListFilesAsync(ICacheBackend backend, ModelCatalog catalog, IOperationEvents events, CancellationToken cancellationToken)
    {
        var problems = new List<ModelCacheException>();
        var files = await backend.ListAsync(catalog, problems, cancellationToken).ConfigureAwait(false);
        Report(backend, problems, events);
        return files;
    }

    /// <summary>Cached files a name selects (the one rule, <see cref="NameSelector.SelectFiles"/>); a plain name that selects nothing is a failure, unless already reported.</summary>
    public IReadOnlyList<CachedFile> SelectFiles(ICacheBackend backend, ModelCatalog catalog, IReadOnlyList<CachedFile> files, string name, IOperationEvents events) =>
        Selected(catalog, backend.Select(catalog, files, name), name, events);

    /// <summary>The files a plain name selects, found without listing the whole cache (<see cref="ICacheBackend.FindAsync"/>).</summary>
    public async Task<IReadOnlyList<CachedFile>> FindFilesAsync(ICacheBackend backend, ModelCatalog catalog, string name, IOperationEvents events, CancellationToken cancellationToken)
    {
        var problems = new List<ModelCacheException>();
        var selection = await backend.FindAsync(catalog, name, problems, cancellationToken).ConfigureAwait(false);
        Report(backend, problems, events);
        return Selected(catalog, selection, name, events);
    }

    private IReadOnlyList<CachedFile> Selected(ModelCatalog catalog, Selection<CachedFile> selection, string name, IOperationEvents events)
    {
        if (selection.Error is not null && !AlreadyReported(catalog, name, selection.Error))
        {
            events.Failed(selection.Error, name);
        }

        return selection.Items;
    }

    private void Report(ICacheBackend backend, IEnumerable<ModelCacheException> problems, IOperationEvents events)
    {
        foreach (var problem in problems)
        {
            if (problem.Data[CacheStore.ProblemModelKey] is string model)
            {
                lock (_gate)
                {
                    _reportedModels.Add(model);
                }
            }

            events.Failed(problem, problem.Data["Path"] as string ?? backend.Root);
        }
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
