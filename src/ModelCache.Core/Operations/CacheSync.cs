using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Sync;
using ModelCache.Transfer;

namespace ModelCache.Operations;

/// <summary>How a confirmed sync plan is carried out.</summary>
public sealed class SyncExecution
{
    /// <summary>Models saved at the same time.</summary>
    public int ThrottleLimit { get; set; } = 4;

    /// <summary>False under -WhatIf: the last sync record is not written.</summary>
    public bool RecordSync { get; set; } = true;

    /// <summary>The sources to save from; needed only when something is to be saved. The caller disposes it.</summary>
    public SourcePlanner? Sources { get; set; }

    /// <summary>Per-model transfer progress.</summary>
    public IProgress<TransferProgress>? Progress { get; set; }

    /// <summary>(done, total) of the models to save.</summary>
    public Action<int, int>? BatchProgress { get; set; }

    /// <summary>This session's quota (Set-ModelCacheQuota -Scope Process), which no settings file holds.</summary>
    public long? SessionMaxSize { get; set; }
}

/// <summary>
/// Sync-ModelCache as an operation: <see cref="SyncPlanner"/> says how each model stands and what would be done; the
/// host confirms the items it wants (ShouldProcess) and <see cref="ExecuteAsync"/> does exactly those: saves what is
/// missing, repairs what is corrupt, removes the extra models confirmed for removal, then enforces the quota.
/// </summary>
public sealed class CacheSync
{
    private readonly CacheStore _store;
    private readonly IEnvironment _environment;
    private readonly IOperationEvents _events;

    public CacheSync(CacheStore store, IEnvironment environment, IOperationEvents events)
    {
        _store = store;
        _environment = environment;
        _events = events;
    }

    /// <summary>The plan; whatever the cache listing skipped or did not trust is one failure each, and the plan goes on.</summary>
    public async Task<SyncPlan> PlanAsync(SyncManifest manifest, ModelCatalog catalog, SyncPlanOptions options, CancellationToken cancellationToken)
    {
        var problems = new List<ModelCacheException>();
        var plan = await SyncPlanner.PlanAsync(_store, manifest, catalog, options, problems, cancellationToken).ConfigureAwait(false);
        foreach (var problem in problems)
        {
            _events.Failed(problem, _store.Root);
        }

        return plan;
    }

    /// <summary>The quota that applies, after warning when the manifest alone is bigger than it (its models are kept regardless).</summary>
    public CacheQuota CheckQuota(SyncPlan plan, SyncSummary summary, long? sessionMaxSize = null)
    {
        var quota = QuotaSettings.Effective(_environment, sessionMaxSize);
        summary.ManifestBytes = plan.ManifestBytes;
        if (quota.MaxSize is { } maxSize && plan.ManifestBytes > maxSize)
        {
            summary.QuotaExceeded = true;
            _events.Warning($"The manifest's {plan.Models.Count} models take {ByteSize.Format(plan.ManifestBytes)}, more than the cache's MaxSize {quota}. They are all kept, so the cache stays over its quota; raise it with Set-ModelCacheQuota.");
        }

        return quota;
    }

    /// <summary>Carries out <paramref name="confirmed"/> (items of <paramref name="plan"/> the host confirmed); models in their desired state count as unchanged.</summary>
    public async Task<SyncSummary> ExecuteAsync(SyncPlan plan, IReadOnlyCollection<ModelDrift> confirmed, SyncExecution execution, CancellationToken cancellationToken)
    {
        var summary = new SyncSummary { CacheRoot = plan.CacheRoot, Manifest = plan.Manifest };
        var quota = CheckQuota(plan, summary, execution.SessionMaxSize);
        if (execution.RecordSync)
        {
            RecordSync(plan);
        }

        foreach (var ok in plan.Items.Where(i => i.State == DriftState.Ok))
        {
            if (execution.RecordSync)
            {
                await RecordCheckAsync(ok, cancellationToken).ConfigureAwait(false);
            }

            summary.Unchanged++;
        }

        var toSave = confirmed.Where(i => i.Action is SyncAction.Save or SyncAction.Repair).ToList();
        if (toSave.Count > 0)
        {
            await SaveAsync(toSave, summary, execution, cancellationToken).ConfigureAwait(false);
        }

        foreach (var extra in confirmed.Where(i => i.Action == SyncAction.Remove))
        {
            await RemoveAsync(extra, summary, cancellationToken).ConfigureAwait(false);
        }

        if (toSave.Count > 0)
        {
            summary.Evicted = (await QuotaEnforcement.EnforceAsync(_store, plan.Catalog, quota, plan.Models.Select(m => m.Name), _events, cancellationToken).ConfigureAwait(false))?.Evicted.Count ?? 0;
        }

        return summary;
    }

    private async Task SaveAsync(IReadOnlyList<ModelDrift> items, SyncSummary summary, SyncExecution execution, CancellationToken cancellationToken)
    {
        var planner = execution.Sources ?? throw new InvalidOperationException("No sources to save models from.");
        var saver = new ModelSaver(_store, planner);
        var repairing = new HashSet<string>(items.Where(i => i.State == DriftState.Corrupt).Select(i => i.Name), StringComparer.OrdinalIgnoreCase);
        var done = 0;
        var gate = new object();
        execution.BatchProgress?.Invoke(0, items.Count);
        await saver.SaveAllAsync(items.Select(i => i.Model!).ToList(), execution.ThrottleLimit, false, execution.Progress, _events.Warning,
            (model, entry, failure) =>
            {
                execution.BatchProgress?.Invoke(Interlocked.Increment(ref done), items.Count);
                lock (gate)
                {
                    Count(summary, model.Name, repairing.Contains(model.Name), entry, failure);
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    private void Count(SyncSummary summary, string name, bool repairing, ModelCacheEntry? entry, ModelCacheException? failure)
    {
        if (entry is null)
        {
            summary.Failed++;
            _events.Failed(failure!, name);
            return;
        }

        summary.BytesTransferred += entry.Transfer?.BytesTransferred ?? 0;
        if (entry.Source == TransferSource.Cache)
        {
            summary.Unchanged++;
        }
        else if (repairing)
        {
            summary.Repaired++;
        }
        else
        {
            summary.Added++;
        }
    }

    private async Task RemoveAsync(ModelDrift extra, SyncSummary summary, CancellationToken cancellationToken)
    {
        try
        {
            if (await _store.RemoveUnlessPinnedAsync(extra.Entry!, cancellationToken).ConfigureAwait(false))
            {
                summary.Removed++;
            }
            else
            {
                _events.Verbose($"Keeping {extra.Name}: it is pinned.");
            }
        }
        catch (ModelCacheException ex)
        {
            summary.Failed++;
            _events.Failed(ex, extra.Entry);
        }
    }

    /// <summary>
    /// What the saver records for a valid cached file (the check, and that the model was wanted), so the plan's hash
    /// is not repeated; best effort, under the model's lock when it is free at once.
    /// </summary>
    private async Task RecordCheckAsync(ModelDrift ok, CancellationToken cancellationToken)
    {
        if (_store.CheckWritable() is not null)
        {
            return;
        }

        try
        {
            using (await _store.LockAsync(ok.Model!.Family, ok.Model.Member, TimeSpan.Zero, null, cancellationToken).ConfigureAwait(false))
            {
                // As a save of a valid cached model does: a partial another process left behind is waste.
                _store.RemoveWorkFiles(ok.Model);
                _store.RecordVerification(ok.Model, ok.Check!, used: true);
            }
        }
        catch (ModelCacheException ex) when (ex.ErrorId is "LockTimeout" or "CacheFolderIsLink" or "CacheRootNotWritable")
        {
        }
    }

    /// <summary>Remembers the manifest's models for quota eviction; a cache that cannot be written is said, not fatal.</summary>
    private void RecordSync(SyncPlan plan)
    {
        try
        {
            LastSyncRecord.Write(_store.Layout, plan.Manifest, plan.Models.Select(m => m.Name));
        }
        catch (ModelCacheException ex)
        {
            _events.Failed(ex, _store.Root);
        }
    }
}
