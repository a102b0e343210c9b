using System;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Store;
using ModelCache.Transfer;

namespace ModelCache.Operations;

/// <summary>
/// Import-Model as an operation: plan the file's definition (hash, name, catalog entry) and where it goes, let the host
/// confirm, then place it through the saver (lock, stage, verify, promote; a valid cached copy is kept) with no network source.
/// </summary>
public sealed class ModelFileImport
{
    private readonly ModelFileImporter _importer;
    private readonly CacheStore _store;

    public ModelFileImport(ModelCatalog catalog, UserCatalogFile userCatalog, CacheStore store)
    {
        _importer = new ModelFileImporter(catalog, userCatalog);
        _store = store;
    }

    /// <exception cref="Errors.ModelCacheException">The file or name cannot be imported.</exception>
    public Task<ModelFilePlan> PlanAsync(string file, string name, string? task, Uri? url, string? license, CancellationToken cancellationToken) =>
        _importer.PlanAsync(file, name, task, url, license, cancellationToken);

    /// <summary>Where the planned model's file is placed in this cache.</summary>
    public string TargetPath(ModelFilePlan plan) => _store.GetModelPath(plan.Model);

    /// <summary>Places the confirmed file; the entry's <c>Transfer.Source</c> is Cache when a valid copy was already there.</summary>
    public async Task<ModelCacheEntry> ImportAsync(ModelFilePlan plan, IProgress<TransferProgress>? progress, IOperationEvents events, CancellationToken cancellationToken)
    {
        using var planner = new SourcePlanner(Array.Empty<string>(), mirrorOnly: true, offline: true);
        return await _importer.ImportAsync(plan, new ModelSaver(_store, planner), progress, events.Warning, cancellationToken).ConfigureAwait(false);
    }
}
