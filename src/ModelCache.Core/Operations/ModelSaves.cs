using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Transfer;

namespace ModelCache.Operations;

/// <summary>How a batch of saves runs.</summary>
public sealed class SaveExecution
{
    public int ThrottleLimit { get; set; } = 4;

    /// <summary>Fetch again even when a valid copy is cached.</summary>
    public bool Force { get; set; }

    /// <summary>Per-file transfer progress.</summary>
    public IProgress<TransferProgress>? Progress { get; set; }

    /// <summary>(done, total) of the batch.</summary>
    public Action<int, int>? BatchProgress { get; set; }
}

/// <summary>
/// Save-Model as an operation: the host confirms each model (ShouldProcess), then the confirmed ones are saved in parallel
/// (a valid cached copy is kept without a transfer), and the cache is brought within its quota afterwards.
/// </summary>
public static class ModelSaves
{
    /// <summary>Where <paramref name="model"/> is saved in <paramref name="store"/>, or why <paramref name="quota"/> refuses it (QuotaTooSmall).</summary>
    public static SaveTarget Admit(CacheStore store, CacheQuota quota, ModelDefinition model) =>
        new(model, store.GetModelPath(model), quota.CheckFits(model));

    /// <summary>
    /// Saves <paramref name="models"/>; <paramref name="onSaved"/> gets each entry or failure as it completes (on a worker
    /// thread). Then least recently used entries are evicted until the cache fits <paramref name="quota"/>, never a pinned
    /// one, one saved here, or one the last sync manifest listed; a warning says when the cache stays over it.
    /// </summary>
    public static async Task SaveAsync(CacheStore store, ModelCatalog catalog, CacheQuota quota, IReadOnlyList<ModelDefinition> models, SourcePlanner sources,
        SaveExecution execution, Action<ModelDefinition, ModelCacheEntry?, ModelCacheException?> onSaved, IOperationEvents events, CancellationToken cancellationToken)
    {
        var saved = new List<string>();
        var done = 0;
        execution.BatchProgress?.Invoke(0, models.Count);
        await new ModelSaver(store, sources).SaveAllAsync(models, execution.ThrottleLimit, execution.Force, execution.Progress, events.Warning,
            (model, entry, failure) =>
            {
                execution.BatchProgress?.Invoke(Interlocked.Increment(ref done), models.Count);
                if (entry is not null)
                {
                    lock (saved)
                    {
                        saved.Add(entry.Name);
                    }
                }

                onSaved(model, entry, failure);
            },
            cancellationToken).ConfigureAwait(false);
        if (saved.Count > 0 && await QuotaEnforcement.EnforceAsync(store, catalog, quota, saved, events, cancellationToken).ConfigureAwait(false) is { StillOver: true } result)
        {
            events.Warning($"The cache holds {ByteSize.Format(result.BytesAfter)}, over its MaxSize {quota}: what is left is pinned, was just saved or is listed by the last Sync-ModelCache manifest.");
        }
    }

    /// <summary>Saves hub files by repository through a downloader made from <paramref name="settings"/> and disposed afterwards.</summary>
    public static async Task SaveHubFilesAsync(HubSettings settings, NetworkOptions network, IEnvironment environment, IReadOnlyList<HubFileReference> files,
        SaveExecution execution, Action<HubFileReference, HubDownloadResult?, Exception?> onSaved, IOperationEvents events, CancellationToken cancellationToken)
    {
        using var downloader = new HubDownloader(settings, network, environment);
        await SaveHubFilesAsync(downloader, files, execution, onSaved, events, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Downloads (or, offline, serves from the hub cache) each file, at most ThrottleLimit at once; <paramref name="onSaved"/>
    /// gets each result or failure (any exception but cancellation) as it completes, on a worker thread.
    /// </summary>
    public static async Task SaveHubFilesAsync(HubDownloader downloader, IReadOnlyList<HubFileReference> files, SaveExecution execution,
        Action<HubFileReference, HubDownloadResult?, Exception?> onSaved, IOperationEvents events, CancellationToken cancellationToken)
    {
        var done = 0;
        execution.BatchProgress?.Invoke(0, files.Count);
        using var throttle = new SemaphoreSlim(execution.ThrottleLimit);
        await Task.WhenAll(files.Select(async file =>
        {
            await throttle.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                onSaved(file, await downloader.DownloadAsync(file, execution.Force, execution.Progress, events.Warning, cancellationToken).ConfigureAwait(false), null);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && ex is not OutOfMemoryException)
            {
                onSaved(file, null, ex);
            }
            finally
            {
                throttle.Release();
                execution.BatchProgress?.Invoke(Interlocked.Increment(ref done), files.Count);
            }
        })).ConfigureAwait(false);
    }
}

/// <summary>A model a host may confirm for saving: where it goes, or why the quota refuses it.</summary>
public sealed class SaveTarget
{
    public SaveTarget(ModelDefinition model, string path, ModelCacheException? refusal)
    {
        Model = model;
        Path = path;
        Refusal = refusal;
    }

    public ModelDefinition Model { get; }

    public string Path { get; }

    /// <summary>QuotaTooSmall when the model alone is bigger than the quota; null when it may be saved.</summary>
    public ModelCacheException? Refusal { get; }
}
