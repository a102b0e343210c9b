using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.PowerShell.Hosting;
using ModelCache.Store;
using ModelCache.Sync;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Brings a cache to the state a manifest describes: saves what is missing, repairs what is corrupt and, with
/// -Prune, removes what is not listed. A second run transfers nothing and reports no change.
/// </summary>
[Cmdlet(VerbsData.Sync, "ModelCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SyncSummary))]
public sealed class SyncModelCacheCommand : ModelCacheCmdlet
{
    /// <summary>A .json or .psd1 desired-state manifest.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Manifest { get; set; } = string.Empty;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    [Parameter]
    public SwitchParameter Prune { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Mirror { get; set; }

    [Parameter]
    public SwitchParameter MirrorOnly { get; set; }

    [Parameter]
    public SwitchParameter Offline { get; set; }

    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = 4;

    /// <summary>How the cache root is arranged: Native (the default), Uniface or HuggingFace; each layout has its own default root.</summary>
    [Parameter]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    protected override void End()
    {
        if (IsHubLayout(Layout))
        {
            ThrowLayoutNotSupported(Layout, "a manifest names catalog models, which live in Native or Uniface caches; syncing a hub cache against one is not supported.", "Use -Layout Native or Uniface; check a hub cache with 'Test-ModelHash -Layout HuggingFace'.");
        }

        var manifest = SyncManifestFile.Read(this, Manifest);
        var (catalog, models) = manifest.Resolve(LoadCatalog(CatalogPath));
        var store = OpenStore(CachePath, ParseLayout(Layout));
        var before = ListEntries(store, catalog).ToDictionary(e => e.Name, StringComparer.OrdinalIgnoreCase);
        var summary = new SyncSummary { CacheRoot = store.Root, Manifest = manifest.Source, ManifestBytes = models.Sum(m => m.Size ?? 0) };
        var quota = CacheQuota.Resolve(null, Environment, ModuleState.ProcessMaxSize);
        if (quota.MaxSize is { } maxSize && summary.ManifestBytes > maxSize)
        {
            summary.QuotaExceeded = true;
            WriteWarning($"The manifest's {models.Count} models take {ByteSize.Format(summary.ManifestBytes)}, more than the cache's MaxSize {quota}. They are all kept, so the cache stays over its quota; raise it with Set-ModelCacheQuota.");
        }

        if (!WhatIfMode)
        {
            RecordSync(store, manifest.Source, models.Select(m => m.Name));
        }

        var toSave = models.Where(m => ShouldProcess($"{m.Name} ({store.GetModelPath(m)})", "Save or repair model")).ToList();
        if (toSave.Count > 0)
        {
            using var planner = CreateSourcePlanner(Mirror, BoundSwitch(nameof(Offline), Offline), BoundSwitch(nameof(MirrorOnly), MirrorOnly));
            var saver = new Transfer.ModelSaver(store, planner);
            var done = 0;
            RunAsync((bridge, token) =>
            {
                var progress = new ProgressWriter(this, bridge, "Syncing models");
                progress.ReportBatch(0, toSave.Count);
                return saver.SaveAllAsync(toSave, ThrottleLimit, false, progress, message => bridge.Post(() => WriteWarning(message)),
                    (model, entry, failure) =>
                    {
                        progress.ReportBatch(Interlocked.Increment(ref done), toSave.Count);
                        bridge.Post(() => Count(summary, model.Name, before.ContainsKey(model.Name), entry, failure));
                    },
                    token);
            });
        }

        if (Prune)
        {
            var listed = new HashSet<string>(models.Select(m => m.Name), StringComparer.OrdinalIgnoreCase);
            foreach (var extra in before.Values.Where(e => !listed.Contains(e.Name)))
            {
                if (!ShouldProcess($"{extra.Name} ({extra.Path})", "Remove model not in the manifest"))
                {
                    continue;
                }

                try
                {
                    if (RunAsync((_, token) => store.RemoveUnlessPinnedAsync(extra, token)))
                    {
                        summary.Removed++;
                    }
                    else
                    {
                        WriteVerbose($"Keeping {extra.Name}: it is pinned.");
                    }
                }
                catch (ModelCacheException ex)
                {
                    summary.Failed++;
                    WriteFailure(ex, extra);
                }
            }
        }

        if (toSave.Count > 0)
        {
            summary.Evicted = EnforceQuota(store, catalog, quota, models.Select(m => m.Name))?.Evicted.Count ?? 0;
        }

        WriteObject(summary);
    }

    /// <summary>Remembers the manifest's models for quota eviction; a cache that cannot be written is said, not fatal.</summary>
    private void RecordSync(CacheStore store, string manifest, IEnumerable<string> names)
    {
        try
        {
            LastSyncRecord.Write(store.Layout, manifest, names);
        }
        catch (ModelCacheException ex)
        {
            WriteFailure(ex, store.Root);
        }
    }

    private void Count(SyncSummary summary, string name, bool wasCached, ModelCacheEntry? entry, ModelCacheException? failure)
    {
        if (entry is null)
        {
            summary.Failed++;
            WriteFailure(failure!, name);
            return;
        }

        summary.BytesTransferred += entry.Transfer?.BytesTransferred ?? 0;
        if (entry.Source == TransferSource.Cache)
        {
            summary.Unchanged++;
        }
        else if (wasCached)
        {
            summary.Repaired++;
        }
        else
        {
            summary.Added++;
        }
    }
}
