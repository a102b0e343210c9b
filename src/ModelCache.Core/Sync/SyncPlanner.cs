using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Integrity;
using ModelCache.Store;

namespace ModelCache.Sync;

/// <summary>What a plan looks at besides the manifest.</summary>
public sealed class SyncPlanOptions
{
    /// <summary>Extra models are to be removed (Sync-ModelCache -Prune).</summary>
    public bool Prune { get; set; }

    /// <summary>Cached models the manifest does not list are left out of the plan: they are not drift (Test-ModelCache -IgnoreExtra).</summary>
    public bool IgnoreExtra { get; set; }
}

/// <summary>
/// Compares a cache with a manifest: every listed model is hashed against the catalog, every cached model the manifest
/// does not list is an extra. Nothing is written.
/// </summary>
public static class SyncPlanner
{
    /// <param name="store">The cache.</param>
    /// <param name="manifest">The desired state.</param>
    /// <param name="catalog">The catalog the manifest's names resolve in.</param>
    /// <param name="options">Prune and IgnoreExtra.</param>
    /// <param name="problems">Receives what the listing skipped or did not trust (a link, tampered metadata).</param>
    /// <param name="cancellationToken">Stops hashing.</param>
    public static async Task<SyncPlan> PlanAsync(CacheStore store, SyncManifest manifest, ModelCatalog catalog, SyncPlanOptions options,
        ICollection<Errors.ModelCacheException>? problems, CancellationToken cancellationToken)
    {
        var (merged, models) = manifest.Resolve(catalog);
        var cached = await store.ListAsync(merged, problems, cancellationToken).ConfigureAwait(false);
        var items = new List<ModelDrift>();
        foreach (var model in models)
        {
            var path = store.GetModelPath(model);
            // A check of the desired state always hashes (and records what it found, so a later use is vouched for).
            var check = (await store.VerifyAsync(model, VerifyPolicy.HashAlways, cancellationToken: cancellationToken).ConfigureAwait(false)).Result;
            var entry = cached.FirstOrDefault(e => string.Equals(e.Name, model.Name, StringComparison.OrdinalIgnoreCase));
            var size = check.Status == HashStatus.Missing ? (long?)null : SizeOf(path);
            var (state, action) = check.IsValid ? (DriftState.Ok, SyncAction.None)
                : check.Status == HashStatus.Missing ? (DriftState.Missing, SyncAction.Save)
                : (DriftState.Corrupt, SyncAction.Repair);
            items.Add(new ModelDrift(model.Name, state, action, path, model.Sha256, check.Actual, model.Size, size, model, entry) { Check = check.IsValid ? check : null });
        }

        if (!options.IgnoreExtra)
        {
            var listed = new HashSet<string>(models.Select(m => m.Name), StringComparer.OrdinalIgnoreCase);
            foreach (var extra in cached.Where(e => !listed.Contains(e.Name)))
            {
                items.Add(new ModelDrift(extra.Name, DriftState.Extra, options.Prune ? SyncAction.Remove : SyncAction.None, extra.Path, null, null, null, extra.Size, null, extra));
            }
        }

        return new SyncPlan(store.Root, manifest.Source, models, merged, items);
    }

    private static long? SizeOf(string path)
    {
        var file = new FileInfo(path);
        return file.Exists ? file.Length : null;
    }
}
