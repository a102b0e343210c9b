using System;
using System.Linq;
using System.Management.Automation;
using ModelCache.PowerShell.Hosting;
using ModelCache.Operations;
using ModelCache.Registry;
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
    /// <summary>A .json or .psd1 desired-state manifest, or a bundle in a registry (oci://host[:port]/repository:tag or @sha256:&lt;digest&gt;).</summary>
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

    /// <summary>An account for the mirrors and a registry manifest (basic auth, or the registry's token flow); else $env:MODELCACHE_REGISTRY_USER/_PASSWORD or a Docker-style config.json.</summary>
    [Parameter, Credential, ValidateNotNull] public PSCredential? Credential { get; set; }

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

        var catalog = LoadCatalog(CatalogPath);
        var mirrors = Mirror;
        var account = Credential?.GetNetworkCredential();
        Transfer.NetworkOptions Network() => SourcePolicy.WithAccount(new Transfer.NetworkOptions { ConnectionsPerHost = ConnectionsPerHost }, account);
        SyncManifest manifest;
        if (RegistryManifest.IsRegistry(Manifest))
        {
            // The artifact's models are the desired state; its repository, where each layer is the blob of a model's hash, is the first source.
            var policy = ResolveSources(Mirror, BoundSwitch(nameof(Offline), Offline), BoundSwitch(nameof(MirrorOnly), MirrorOnly), Network());
            var (read, bundle) = RunAsync((_, token) => RegistryManifest.ReadAsync(Manifest, catalog, policy.Network, policy.Offline, Environment, token));
            manifest = read;
            foreach (var problem in RegistryManifest.LayerErrors(bundle))
            {
                WriteFailure(problem, bundle.Location);
            }

            mirrors = new[] { bundle.Repository.ToString() }.Concat(policy.Mirrors).ToArray();
        }
        else
        {
            manifest = SyncManifestFile.Read(this, Manifest);
        }

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
            ? CreateSourcePlanner(mirrors, BoundSwitch(nameof(Offline), Offline), BoundSwitch(nameof(MirrorOnly), MirrorOnly), Network())
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
