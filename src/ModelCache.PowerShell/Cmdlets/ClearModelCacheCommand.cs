using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Operations;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Primitives;
using ModelCache.Store;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Removes models from a cache: by name, from the pipeline, by filters (age, use, task, family, orphans, partial downloads,
/// combined with names as AND), or everything with -All. Pinned entries go only when named by a plain name with -Force.
/// With -Layout HuggingFace -Detached, the revisions no ref points at, as <c>hf cache prune</c> removes them.
/// </summary>
[Cmdlet(VerbsCommon.Clear, "ModelCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = NameParameterSet)]
[OutputType(typeof(ModelCacheEntry))]
[OutputType(typeof(HubRemovalResult))]
[OutputType(typeof(PartialFile))]
public sealed class ClearModelCacheCommand : ModelCacheCmdlet
{
    private const string NameParameterSet = "Name";
    private const string InputObjectParameterSet = "InputObject";
    private const string AllParameterSet = "All";
    private const string DetachedParameterSet = "Detached";

    // Piped files, grouped by cache in End, so that a hub repo's files make one plan and one ShouldProcess.
    private readonly List<CachedFile> _piped = new();

    // -Detached: repo names gathered over the pipeline (none: every repo).
    private readonly List<string> _detachedNames = new();

    // Pinned entries kept, and what -WhatIf would remove: said once, in End.
    private readonly List<string> _keptPinned = new();
    private int _wouldRemove;
    private long _wouldFree;

    /// <summary>
    /// Not mandatory, so that the filters alone (every entry of the root) bind to this set too: PowerShell would otherwise
    /// pick this default set for them and prompt for a name. Neither a name nor a filter is refused in Begin.
    /// </summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = NameParameterSet)]
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = DetachedParameterSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Cached files of any layout from Get-ModelCache or Save-Model, each removed from its own cache (a hub file stands for its revision).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectParameterSet)]
    [ValidateNotNull]
    public CachedFile[] InputObject { get; set; } = Array.Empty<CachedFile>();

    /// <summary>With -Layout HuggingFace: commit ids or ref names of the repo to remove; all of them when omitted.</summary>
    [Parameter(ParameterSetName = NameParameterSet)]
    [ValidateNotNullOrEmpty]
    public string[]? Revision { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = AllParameterSet)]
    public SwitchParameter All { get; set; }

    /// <summary>With -Layout HuggingFace: every revision no ref points at (of the repos -Name matches, or of all), one confirmation each.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DetachedParameterSet)]
    public SwitchParameter Detached { get; set; }

    /// <summary>Entries saved longer ago than this.</summary>
    [Parameter(ParameterSetName = NameParameterSet)]
    public TimeSpan OlderThan { get; set; }

    /// <summary>Entries last used (or, never used, saved) before this time.</summary>
    [Parameter(ParameterSetName = NameParameterSet)]
    public DateTime NotUsedSince { get; set; }

    [Parameter(ParameterSetName = NameParameterSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Task { get; set; }

    [Parameter(ParameterSetName = NameParameterSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Family { get; set; }

    /// <summary>Removes partial downloads that no process is writing, instead of cached models.</summary>
    [Parameter(ParameterSetName = NameParameterSet)]
    public SwitchParameter Partial { get; set; }

    /// <summary>Only entries no catalog knows.</summary>
    [Parameter(ParameterSetName = NameParameterSet)]
    public SwitchParameter Orphaned { get; set; }

    [Parameter(ParameterSetName = NameParameterSet)]
    [Parameter(ParameterSetName = AllParameterSet)]
    [Parameter(ParameterSetName = DetachedParameterSet)]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    /// <summary>Skips the extra confirmation -All asks for; with a plain -Name, also removes a pinned entry.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    [Parameter(ParameterSetName = NameParameterSet)]
    [Parameter(ParameterSetName = AllParameterSet)]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    /// <summary>How the root is arranged; each layout has its own default root. Piped entries carry their own.</summary>
    [Parameter(ParameterSetName = NameParameterSet)]
    [Parameter(ParameterSetName = AllParameterSet)]
    [Parameter(ParameterSetName = DetachedParameterSet)]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    protected override void Begin()
    {
        if (ParameterSetName == DetachedParameterSet && !IsHubLayout(Layout))
        {
            ThrowLayoutNotSupported(Layout, "-Detached removes revisions no ref points at, which only a Hugging Face hub cache has.",
                "Use 'Clear-ModelCache -Layout HuggingFace -Detached'; for this cache, select what to remove with -Name or a filter such as -NotUsedSince.");
        }

        if (ParameterSetName == NameParameterSet && !MyInvocation.BoundParameters.ContainsKey(nameof(Name)) && !MyInvocation.ExpectingInput && Filter() is null && !Partial)
        {
            ThrowTerminatingError(ErrorRecords.Create("SelectionRequired", ErrorCategory.InvalidArgument,
                "Clear-ModelCache needs to know what to remove.",
                "Name models with -Name, pipe entries from Get-ModelCache, give a filter (-OlderThan, -NotUsedSince, -Task, -Family, -Orphaned, -Partial), or use -All.", null));
        }
    }

    protected override void Process()
    {
        if (ParameterSetName == InputObjectParameterSet)
        {
            _piped.AddRange(InputObject);
            return;
        }

        if (ParameterSetName == DetachedParameterSet)
        {
            // Names piped one record at a time are gathered, so that each revision is planned (and confirmed) once.
            _detachedNames.AddRange(Name);
            return;
        }

        Clear(OpenBackend(CachePath, Layout), new RemovalRequest
        {
            Names = Name,
            Filter = Filter(),
            Partial = Partial,
            All = All,
            RemovePinnedNamed = Force,
            Revisions = Revision,
        });
    }

    protected override void End()
    {
        if (ParameterSetName == DetachedParameterSet)
        {
            Clear(OpenBackend(CachePath, Layout), new RemovalRequest { Names = _detachedNames, Detached = true });
        }

        foreach (var group in _piped.GroupBy(f => (f.Layout, Root: System.IO.Path.GetFullPath(f.CacheRoot))))
        {
            Clear(BackendOf(group.First()), new RemovalRequest { Files = group.ToList() });
        }

        if (_keptPinned.Count > 0)
        {
            WriteWarning($"Kept {_keptPinned.Count} pinned entries: {string.Join(", ", _keptPinned)}. A pinned entry is removed only when named with -Name (no wildcard or filter) and -Force; or unpin it with 'Set-ModelCacheEntry -Pinned $false'.");
        }

        if (WhatIfMode && _wouldRemove > 0)
        {
            // The 3-argument ShouldProcess writes its description as it is under -WhatIf: one summary line after the per-item ones.
            ShouldProcess($"Clear-ModelCache would remove {_wouldRemove} entries ({_wouldFree} bytes, {ByteSize.Format(_wouldFree)}).", null, null);
        }
    }

    /// <summary>The filters bound, or null when none is.</summary>
    private EntryFilter? Filter()
    {
        var bound = MyInvocation.BoundParameters;
        return ClearOperation.Filter(bound.ContainsKey(nameof(OlderThan)) ? OlderThan : null, bound.ContainsKey(nameof(NotUsedSince)) ? NotUsedSince : null, Task, Family, Orphaned);
    }

    /// <summary>Plans the removal (nothing touched), confirms each item (with -All, the whole plan, and once more), then removes.</summary>
    private void Clear(ICacheBackend backend, RemovalRequest request)
    {
        var clear = new ClearOperation(backend, LoadCatalog(CatalogPath));
        var plan = RunAsync((_, token) => clear.PlanAsync(request, token));
        plan.Problems.ToList().ForEach(problem => WriteFailure(problem.Error, problem.Input));
        if (plan.KeptUnnamed > 0)
        {
            WriteVerbose($"Keeping {plan.KeptUnnamed} files no catalog knows in '{plan.Root}'; name them to remove them.");
        }

        plan.KeptPinned.ToList().ForEach(KeepPinned);
        var whole = request.All && ShouldProcess(plan.Describe(), plan.WholeAction)
            && ConfirmHighImpact($"Remove all {plan.Items.Count} cached {plan.Unit} ({ByteSize.Format(plan.Bytes)}) from '{plan.Root}'?", "Clear model cache", Force);
        for (var i = 0; i < plan.Items.Count && (whole || !request.All || WhatIfMode); i++)
        {
            var item = plan.Items[i];
            if (whole)
            {
                WriteProgress(new ProgressRecord(1, "Clearing model cache", item.Target) { PercentComplete = 100 * i / plan.Items.Count });
            }

            if (whole || (!request.All && ShouldProcess(item.Target, item.Action)))
            {
                Execute(clear, item);
            }
            else if (WhatIfMode)
            {
                _wouldRemove++;
                _wouldFree += item.Bytes;
            }
        }

        if (whole && plan.SweepAbandoned && RunAsync((_, token) => clear.FinishAsync(plan, token)) is > 0 and var freed)
        {
            WriteVerbose($"Removed abandoned partial downloads: {freed} bytes.");
        }

        if (whole)
        {
            WriteProgress(new ProgressRecord(1, "Clearing model cache", "Done") { RecordType = ProgressRecordType.Completed });
        }
    }

    private void Execute(ClearOperation clear, RemovalItem item)
    {
        try
        {
            var outcome = RunAsync((_, token) => clear.ExecuteAsync(item, token));
            if (outcome.KeptPinned)
            {
                KeepPinned(((CachedFile)item.Subject).Name); // Pinned by another process since it was listed.
                return;
            }

            if ((outcome.Removed is null ? outcome.KeptBecause : outcome.Note) is { } said)
            {
                WriteVerbose(said);
            }

            if (PassThru && outcome.Removed is not null)
            {
                WriteObject(outcome.Removed);
            }
        }
        catch (ModelCacheException ex)
        {
            WriteFailure(ex, item.Input);
        }
    }

    private void KeepPinned(string name)
    {
        WriteVerbose($"Keeping {name}: it is pinned.");
        _keptPinned.Add(name);
    }
}
