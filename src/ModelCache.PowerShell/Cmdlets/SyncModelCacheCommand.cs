using System;
using System.Linq;
using System.Management.Automation;
using ModelCache.PowerShell.Hosting;
using ModelCache.Operations;
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

    /// <summary>Most connections open at once to one host (segmented downloads and parallel models share them); see Save-Model.</summary>
    [Parameter, ValidateRange(1, Operations.SourcePolicy.MaxConnectionsPerHost)] public int ConnectionsPerHost { get; set; }

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
        var catalog = LoadCatalog(CatalogPath);
        var store = OpenStore(CachePath, ParseLayout(Layout));
        var plan = RunAsync((bridge, token) => new CacheSync(store, Environment, Reporter(bridge)).PlanAsync(manifest, catalog, new SyncPlanOptions { Prune = Prune }, token));

        // The plan says what each model needs; each change is confirmed on its own.
        var confirmed = plan.Items.Where(item => item.Action switch
        {
            SyncAction.Save or SyncAction.Repair => ShouldProcess($"{item.Name} ({item.Path})", "Save or repair model"),
            SyncAction.Remove => ShouldProcess($"{item.Name} ({item.Path})", "Remove model not in the manifest"),
            _ => false,
        }).ToList();
        using var sources = confirmed.Any(i => i.Action != SyncAction.Remove)
            ? CreateSourcePlanner(Mirror, BoundSwitch(nameof(Offline), Offline), BoundSwitch(nameof(MirrorOnly), MirrorOnly), new Transfer.NetworkOptions { ConnectionsPerHost = ConnectionsPerHost })
            : null;
        var summary = RunAsync((bridge, token) =>
        {
            var progress = new ProgressWriter(this, bridge, "Syncing models");
            var execution = new SyncExecution { SessionMaxSize = ModuleState.ProcessMaxSize, ThrottleLimit = ThrottleLimit, RecordSync = !WhatIfMode, Sources = sources, Progress = progress, BatchProgress = progress.ReportBatch };
            return new CacheSync(store, Environment, Reporter(bridge)).ExecuteAsync(plan, confirmed, execution, token);
        });
        WriteObject(summary);
    }
}
