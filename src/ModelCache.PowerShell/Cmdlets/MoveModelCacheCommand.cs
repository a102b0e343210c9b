using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Locations;
using ModelCache.Moves;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Store;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Moves a cache root, or some of its models, to another folder: each model is copied and verified at the
/// destination, the location settings that named the old root are switched when the whole root moves, and only then
/// are the old copies deleted. Interrupted at any point, the same command run again finishes the move.
/// </summary>
[Cmdlet(VerbsCommon.Move, "ModelCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = NameParameterSet)]
[OutputType(typeof(ModelMoveResult))]
public sealed class MoveModelCacheCommand : ModelCacheCmdlet
{
    private const string NameParameterSet = "Name";
    private const string InputObjectParameterSet = "InputObject";
    private readonly List<ModelCacheEntry> _piped = new();
    private const string HubNotMoved = "moving a Hugging Face hub cache is not supported.";
    private const string MoveHubInstead = "Move the hub folder with Move-Item and point HF_HUB_CACHE (or HF_HOME) at it; Move-ModelCache moves Native and Uniface caches.";

    /// <summary>The new cache root: a new or empty folder, or a cache root of the same layout to merge into.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = string.Empty;

    /// <summary>Models to move (wildcards); the whole root when omitted.</summary>
    [Parameter(ParameterSetName = NameParameterSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Cache entries from Get-ModelCache; each moves from its own root.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectParameterSet)]
    [ValidateNotNull]
    public CachedFile[] InputObject { get; set; } = Array.Empty<CachedFile>();

    [Parameter(ParameterSetName = NameParameterSet)]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    [Parameter(ParameterSetName = NameParameterSet)]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    /// <summary>
    /// Leaves this session's $env:MODELCACHE_HOME as it is when it names the moved root (by default a whole-root move
    /// points it at the destination, for this session only, and says so).
    /// </summary>
    [Parameter(ParameterSetName = NameParameterSet)]
    public SwitchParameter NoSessionUpdate { get; set; }

    protected override void Process()
    {
        if (ParameterSetName == InputObjectParameterSet)
        {
            foreach (var file in InputObject)
            {
                // A cached file of any layout binds, so that a hub file is refused by name rather than by a binding failure.
                if (file is not ModelCacheEntry entry)
                {
                    ThrowLayoutNotSupported(file.Layout.ToString(), $"'{file.Name}' is in a Hugging Face hub cache; {HubNotMoved}", MoveHubInstead);
                    return;
                }

                _piped.Add(entry);
            }
        }
    }

    protected override void End()
    {
        var catalog = LoadCatalog(CatalogPath);
        switch (ParameterSetName)
        {
            case NameParameterSet:
                MoveFromRoot(catalog);
                break;
            case InputObjectParameterSet:
                foreach (var group in _piped.GroupBy(e => (e.CacheRoot, e.Layout)))
                {
                    var source = StoreOf(group.First());
                    Move(catalog, source, OpenStore(Destination, source.Layout.Kind), group.GroupBy(e => e.Name).Select(g => g.First()).ToList(), wholeRoot: false);
                }

                break;
            default:
                throw new PSInvalidOperationException($"Unknown parameter set '{ParameterSetName}'.");
        }
    }

    private void MoveFromRoot(ModelCatalog catalog)
    {
        if (IsHubLayout(Layout))
        {
            ThrowLayoutNotSupported(Layout, HubNotMoved, MoveHubInstead);
        }

        var layout = ParseLayout(Layout);
        var destination = OpenStore(Destination, layout);
        var source = OpenStore(CachePath, layout);
        if (string.IsNullOrEmpty(CachePath))
        {
            // A move killed after it switched the location setting: the setting names the destination now, the journal the old root.
            var resolved = Journal().ResolveSource(source.Root, destination.Root);
            source = OpenStore(resolved, layout);
        }

        var entries = ListEntries(source, catalog);
        var selected = Name is null ? entries : Name.SelectMany(name => SelectEntries(catalog, entries, name, source.Root)).GroupBy(e => e.Name).Select(g => g.First()).ToList();
        if (Name is not null && selected.Count == 0)
        {
            WriteWarning($"No cached model to move from '{source.Root}'.");
            return;
        }

        Move(catalog, source, destination, selected, wholeRoot: Name is null);
    }

    private void Move(ModelCatalog catalog, CacheStore source, CacheStore destination, IReadOnlyList<ModelCacheEntry> selected, bool wholeRoot)
    {
        var mover = new CacheMover(source, destination, catalog);
        CacheMovePlan plan;
        try
        {
            plan = mover.Plan(selected, wholeRoot);
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, Destination));
            return;
        }

        var what = $"{plan.Count} models, {plan.Bytes / 1048576.0:N1} MiB ({plan.BytesToCopy / 1048576.0:N1} MiB to copy)";
        if (!ShouldProcess($"'{source.Root}' to '{destination.Root}' ({what})", wholeRoot ? "Move the model cache" : "Move cached models"))
        {
            return;
        }

        var settings = SettingsStore.ForUser(Environment);
        CacheMoveOutcome outcome;
        try
        {
            outcome = RunAsync((bridge, token) =>
            {
                var progress = new ProgressWriter(this, bridge, "Moving models");
                var copied = 0;
                progress.ReportBatch(0, plan.Count);
                return mover.MoveAsync(plan, new CacheMoveOptions
                {
                    Settings = NoSessionUpdate
                        ? new ICacheRootSetting[] { settings, new ProcessCacheRootSetting() }
                        : new ICacheRootSetting[] { settings, new ProcessCacheRootSetting(), new SessionEnvironmentCacheRootSetting() },
                    Environment = Environment,
                    Journal = Journal(),
                    Progress = progress,
                    Warn = message => bridge.Post(() => WriteWarning(message)),
                    OnStep = (step, name) =>
                    {
                        if (step == MoveStep.Copied)
                        {
                            progress.ReportBatch(++copied, plan.Count);
                        }

                        bridge.Post(() => WriteVerbose($"{step}: {(name.Length == 0 ? "no setting named the old root" : name)}"));
                    },
                }, token);
            });
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, Destination));
            return;
        }

        if (outcome.SwitchedSettings.Contains(SessionEnvironmentCacheRootSetting.SettingDescription))
        {
            WriteWarning($"$env:{EnvironmentVariables.Home} named the moved root '{source.Root}': this session (and what it starts) now uses '{destination.Root}'. "
                + $"Change $env:{EnvironmentVariables.Home} where it is defined (a profile, a service unit) so new sessions use it too; -NoSessionUpdate leaves the session's variable alone.");
        }

        foreach (var result in outcome.Results)
        {
            WriteObject(result);
            foreach (var failure in outcome.Failures.Where(f => ReferenceEquals(f.Result, result)))
            {
                WriteFailure(failure.Error, result.Name);
            }
        }
    }

    private static MoveJournal Journal() => new(SettingsStore.ForUser(Environment).UserDirectory);
}
