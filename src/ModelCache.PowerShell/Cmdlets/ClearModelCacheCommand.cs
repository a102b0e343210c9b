using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Catalog;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Primitives;
using ModelCache.Store;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Removes models from a cache: by name, from the pipeline, by filters (age, use, task, family, orphans, partial downloads,
/// combined with names as AND), or everything with -All. Pinned entries go only when named by a plain name with -Force.
/// </summary>
[Cmdlet(VerbsCommon.Clear, "ModelCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = NameParameterSet)]
[OutputType(typeof(ModelCacheEntry))]
[OutputType(typeof(HubRemovalResult))]
[OutputType(typeof(PartialFile))]
public sealed class ClearModelCacheCommand : ModelCacheCmdlet
{
    private const string NameParameterSet = "Name";
    private const string InputObjectParameterSet = "InputObject";
    private const string HubEntryParameterSet = "HubEntry";
    private const string AllParameterSet = "All";
    private const string RemoveHubAction = "Remove from the Hugging Face hub cache";

    // Piped hub entries, grouped by (root, repo) in End so that each repo gets one plan and one ShouldProcess.
    private readonly List<HubCacheEntry> _hubEntries = new();

    // Pinned entries kept, and what -WhatIf would remove: said once, in End.
    private readonly List<string> _keptPinned = new();
    private int _wouldRemove;
    private long _wouldFree;

    /// <summary>
    /// Not mandatory, so that the filters alone (every entry of the root) bind to this set too: PowerShell would otherwise
    /// pick this default set for them and prompt for a name. Neither a name nor a filter is refused in Begin.
    /// </summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = NameParameterSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectParameterSet)]
    [ValidateNotNull]
    public ModelCacheEntry[] InputObject { get; set; } = Array.Empty<ModelCacheEntry>();

    /// <summary>
    /// Hugging Face hub cache entries; the revisions they belong to are removed. Also in the Name set: PowerShell
    /// binds piped objects to the default set first, where an entry's Name property would otherwise bind -Name.
    /// Not mandatory in either set, because the help format (and its test) cannot say "mandatory in one set only";
    /// the HubEntry set with nothing bound is refused in Begin.
    /// </summary>
    [Parameter(ValueFromPipeline = true, ParameterSetName = HubEntryParameterSet)]
    [Parameter(ValueFromPipeline = true, ParameterSetName = NameParameterSet)]
    [ValidateNotNull]
    public HubCacheEntry[] HubEntry { get; set; } = Array.Empty<HubCacheEntry>();

    /// <summary>With -Layout HuggingFace: commit ids or ref names of the repo to remove; all of them when omitted.</summary>
    [Parameter(ParameterSetName = NameParameterSet)]
    [ValidateNotNullOrEmpty]
    public string[]? Revision { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = AllParameterSet)]
    public SwitchParameter All { get; set; }

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
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    protected override void Begin()
    {
        if (ParameterSetName == HubEntryParameterSet && !MyInvocation.BoundParameters.ContainsKey(nameof(HubEntry)) && !MyInvocation.ExpectingInput)
        {
            ThrowTerminatingError(ErrorRecords.Create("HubEntryRequired", ErrorCategory.InvalidArgument,
                "No Hugging Face hub cache entry was given.", "Pipe entries from 'Get-ModelCache -Layout HuggingFace', or pass them with -HubEntry.", null));
        }

        if (Revision is not null && !IsHubLayout(Layout))
        {
            ThrowTerminatingError(ErrorRecords.Create("RevisionRequiresHubLayout", ErrorCategory.InvalidArgument,
                "-Revision applies to Hugging Face hub caches only.", "Add -Layout HuggingFace, or leave out -Revision.", Revision));
        }

        if (ParameterSetName == NameParameterSet && !MyInvocation.BoundParameters.ContainsKey(nameof(Name)) && !MyInvocation.ExpectingInput
            && Filter() is null && !Partial && !MyInvocation.BoundParameters.ContainsKey(nameof(HubEntry)))
        {
            ThrowTerminatingError(ErrorRecords.Create("SelectionRequired", ErrorCategory.InvalidArgument,
                "Clear-ModelCache needs to know what to remove.",
                "Name models with -Name, pipe entries from Get-ModelCache, give a filter (-OlderThan, -NotUsedSince, -Task, -Family, -Orphaned, -Partial), or use -All.", null));
        }

        if ((Filter() is not null || Partial) && IsHubLayout(Layout))
        {
            ThrowTerminatingError(ErrorRecords.Create("LayoutNotSupported", ErrorCategory.InvalidArgument,
                "-OlderThan, -NotUsedSince, -Task, -Family, -Partial and -Orphaned are not available for the Hugging Face hub cache.",
                "Name the repositories or revisions to remove with -Name and -Revision.", Layout));
        }
    }

    protected override void Process()
    {
        if (MyInvocation.BoundParameters.ContainsKey(nameof(HubEntry)) && HubEntry.Length > 0)
        {
            _hubEntries.AddRange(HubEntry);
            return;
        }

        switch (ParameterSetName)
        {
            case NameParameterSet when IsHubLayout(Layout):
                RemoveHubNames();
                break;
            case AllParameterSet when IsHubLayout(Layout):
                ClearAllHub();
                break;
            case HubEntryParameterSet:
                _hubEntries.AddRange(HubEntry);
                break;
            case NameParameterSet when Partial:
                RemovePartials();
                break;
            case NameParameterSet:
                RemoveSelected();
                break;
            case InputObjectParameterSet:
                foreach (var entry in InputObject)
                {
                    Remove(entry, entry, named: false);
                }

                break;
            case AllParameterSet:
                ClearAll();
                break;
            default:
                throw new PSInvalidOperationException($"Unknown parameter set '{ParameterSetName}'.");
        }
    }

    protected override void End()
    {
        // Each piped entry stands for its revision: one plan per repo, for the revisions its entries belong to.
        foreach (var group in _hubEntries.GroupBy(e => (Root: e.CacheRoot, e.RepoId)))
        {
            var revisions = group.Select(e => e.Revision).Distinct(StringComparer.Ordinal).ToList();
            RemoveHub(group.Key.Root, group.Key.RepoId, revisions, group.First());
        }

        if (_keptPinned.Count > 0)
        {
            WriteWarning($"Kept {_keptPinned.Count} pinned entries: {string.Join(", ", _keptPinned)}. A pinned entry is removed only when named with -Name (no wildcard or filter) and -Force; or unpin it with 'Set-ModelCacheEntry -Pinned $false'.");
        }

        if (WhatIfMode && _wouldRemove > 0)
        {
            // The 3-argument ShouldProcess writes its description as it is under -WhatIf: one summary line after the per-entry ones.
            ShouldProcess($"Clear-ModelCache would remove {_wouldRemove} entries ({_wouldFree} bytes, {ByteSize.Format(_wouldFree)}).", null, null);
        }
    }

    /// <summary>The filters bound, or null when none is.</summary>
    private EntryFilter? Filter()
    {
        var bound = MyInvocation.BoundParameters;
        var filter = new EntryFilter
        {
            OlderThan = bound.ContainsKey(nameof(OlderThan)) ? OlderThan : null,
            NotUsedSince = bound.ContainsKey(nameof(NotUsedSince)) ? new DateTimeOffset(NotUsedSince.ToUniversalTime(), TimeSpan.Zero) : null,
            Tasks = Task,
            Families = Family,
            OrphansOnly = Orphaned,
        };
        return filter.IsEmpty ? null : filter;
    }

    /// <summary>-Name and the filters, AND: each name's entries (every entry without names) that pass every filter.</summary>
    private void RemoveSelected()
    {
        var catalog = LoadCatalog(CatalogPath);
        var store = OpenStore(CachePath, ParseLayout(Layout));
        var entries = ListEntries(store, catalog);
        var filter = Filter();
        var now = DateTimeOffset.UtcNow;
        var selected = Name.Length > 0
            ? Name.SelectMany(name => SelectEntries(catalog, entries, name, store.Root).Select(entry => (Entry: entry, Target: (object)name, Named: filter is null && !WildcardMatcher.HasWildcard(name))))
            : entries.Select(entry => (Entry: entry, Target: (object)entry, Named: false));
        foreach (var (entry, target, named) in selected.ToList())
        {
            if (filter is null || filter.Matches(entry, now))
            {
                Remove(entry, target, named);
            }
        }
    }

    /// <summary>-Partial: partial downloads of the named models (all without names) that pass the filters, each only while no process writes it.</summary>
    private void RemovePartials()
    {
        var catalog = LoadCatalog(CatalogPath);
        var store = OpenStore(CachePath, ParseLayout(Layout));
        var filter = Filter();
        var now = DateTimeOffset.UtcNow;
        foreach (var partial in store.ListPartials(catalog).Where(p => (Name.Length == 0 || Name.Any(n => Names(catalog, n, p))) && (filter is null || filter.Matches(p, now))))
        {
            if (!ShouldProcess($"{partial.Name} partial download ({partial.Path}, {ByteSize.Format(partial.Size)})", "Remove partial download"))
            {
                CountWhatIf(partial.Size);
                continue;
            }

            try
            {
                if (RunAsync((_, token) => store.RemovePartialAsync(partial, token)) is null)
                {
                    WriteVerbose($"Keeping the partial download of {partial.Name}: a process is writing it (its lock is held).");
                }
                else if (PassThru)
                {
                    WriteObject(partial);
                }
            }
            catch (ModelCacheException ex)
            {
                WriteFailure(ex, partial.Path);
            }
        }
    }

    /// <summary>A name selects a partial by pattern (qualified or member name), or, plain, by the catalog model it resolves to.</summary>
    private static bool Names(ModelCatalog catalog, string name, PartialFile partial)
    {
        var pattern = new WildcardMatcher(name);
        return pattern.IsMatch(partial.Name) || pattern.IsMatch(partial.Member) ||
            (!WildcardMatcher.HasWildcard(name) && NameSelector.SelectModels(catalog, name).Items.Any(m => string.Equals(m.Name, partial.Name, StringComparison.OrdinalIgnoreCase)));
    }

    private void CountWhatIf(long bytes)
    {
        if (WhatIfMode)
        {
            _wouldRemove++;
            _wouldFree += bytes;
        }
    }

    private void RemoveHubNames()
    {
        var root = ResolveHubRoot(CachePath);
        foreach (var name in Name)
        {
            if (WildcardMatcher.HasWildcard(name))
            {
                var matcher = new WildcardMatcher(name);
                foreach (var repo in ScanHub(root).Select(e => e.RepoId).Distinct().Where(r => matcher.IsMatch(r.Id)).ToList())
                {
                    RemoveHub(root, repo, Revision, name);
                }
            }
            else if (HubRepoId.TryParse(name, HubRepoType.Model, out var repo))
            {
                RemoveHub(root, repo!, Revision, name);
            }
            else
            {
                WriteFailure(new ModelCacheException("HubRepoNameInvalid", ModelCacheErrorKind.InvalidArgument,
                    $"'{name}' is not a Hugging Face repository id.", "Name the repository as 'org/name', or use a wildcard such as 'org/*'."), name);
            }
        }
    }

    /// <summary>Plans the removal, asks (once, with the plan's files and bytes), then removes. Failures are per repo.</summary>
    private void RemoveHub(string root, HubRepoId repo, IReadOnlyCollection<string>? revisions, object target)
    {
        try
        {
            var plan = HubCacheRemover.Plan(root, repo, revisions);
            if (ShouldProcess(plan.Describe(), RemoveHubAction))
            {
                ExecuteHub(plan);
            }
        }
        catch (ModelCacheException ex)
        {
            WriteFailure(ex, target);
        }
    }

    private void ExecuteHub(HubRemovalPlan plan)
    {
        var result = RunAsync((_, token) => HubCacheRemover.ExecuteAsync(plan, null, token));
        WriteVerbose($"Removed {plan.Describe()}: {result.FilesRemoved} files, {result.BytesFreed} bytes freed" + (result.BlobsKept > 0 ? $", {result.BlobsKept} blobs kept (linked by a revision saved meanwhile)." : "."));
        if (PassThru)
        {
            WriteObject(result);
        }
    }

    /// <summary>-All -Layout HuggingFace: every repo folder of the root; other folders (and .locks) are left alone.</summary>
    private void ClearAllHub()
    {
        var root = ResolveHubRoot(CachePath);
        var plans = new List<HubRemovalPlan>();
        var repos = System.IO.Directory.Exists(root)
            ? System.IO.Directory.EnumerateDirectories(root).Select(System.IO.Path.GetFileName)
                .Select(name => HubRepoId.TryParseFolderName(name, out var repo) ? repo : null).Where(r => r is not null).Select(r => r!).ToList()
            : new List<HubRepoId>();
        foreach (var repo in repos)
        {
            try
            {
                plans.Add(HubCacheRemover.Plan(root, repo));
            }
            catch (ModelCacheException ex)
            {
                WriteFailure(ex, repo.Id);
            }
        }

        var bytes = plans.Sum(p => p.Bytes);
        if (!ShouldProcess($"{root} ({plans.Count} repos, {bytes / 1048576.0:0.0} MiB)", "Remove every cached Hugging Face repo") ||
            !ConfirmClearAll($"Remove all {plans.Count} cached repos ({bytes / 1048576.0:0.0} MiB) from the hub cache '{root}'?"))
        {
            return;
        }

        for (var i = 0; i < plans.Count; i++)
        {
            WriteProgress(new ProgressRecord(1, "Clearing Hugging Face hub cache", plans[i].Repo) { PercentComplete = 100 * i / Math.Max(1, plans.Count) });
            try
            {
                ExecuteHub(plans[i]);
            }
            catch (ModelCacheException ex)
            {
                WriteFailure(ex, plans[i].Repo);
            }
        }

        WriteProgress(new ProgressRecord(1, "Clearing Hugging Face hub cache", "Done") { RecordType = ProgressRecordType.Completed });
    }

    /// <summary>
    /// Clearing everything is high impact: unless -Force, -Confirm:$false or $ConfirmPreference of None, ask once
    /// more even though the cmdlet's own impact is Medium.
    /// </summary>
    private bool ConfirmClearAll(string query)
    {
        var confirmPreference = GetVariableValue("ConfirmPreference") is ConfirmImpact preference ? preference : ConfirmImpact.High;
        var confirmBound = MyInvocation.BoundParameters.ContainsKey("Confirm");
        return Force || confirmBound || confirmPreference == ConfirmImpact.None || ShouldContinue(query, "Clear model cache");
    }

    private void ClearAll()
    {
        var store = OpenStore(CachePath, ParseLayout(Layout));
        var catalog = LoadCatalog(CatalogPath);
        var listed = ListEntries(store, catalog);

        // Files another tool's folder holds that no catalog knows may be that tool's own: only removed when named.
        var entries = listed.Where(store.MayRemoveUnnamed).ToList();
        if (entries.Count < listed.Count)
        {
            WriteVerbose($"Keeping {listed.Count - entries.Count} files no catalog knows in '{store.Root}'; name them to remove them.");
        }

        foreach (var pinned in entries.Where(e => e.Pinned))
        {
            KeepPinned(pinned);
        }

        entries = entries.Where(e => !e.Pinned).ToList();
        if (!ShouldProcess($"{store.Root} ({entries.Count} models, {ByteSize.Format(entries.Sum(e => e.Size))})", "Remove every cached model"))
        {
            entries.ForEach(e => CountWhatIf(e.Size));
            return;
        }

        if (!ConfirmClearAll($"Remove all {entries.Count} cached models from '{store.Root}'?"))
        {
            return;
        }

        for (var i = 0; i < entries.Count; i++)
        {
            WriteProgress(new ProgressRecord(1, "Clearing model cache", entries[i].Name) { PercentComplete = 100 * i / Math.Max(1, entries.Count) });
            Delete(entries[i], entries[i], removePinned: false);
        }

        var freed = RunAsync((_, token) => store.RemoveAbandonedDownloadsAsync(catalog, token));
        if (freed > 0)
        {
            WriteVerbose($"Removed abandoned partial downloads: {freed} bytes.");
        }

        WriteProgress(new ProgressRecord(1, "Clearing model cache", "Done") { RecordType = ProgressRecordType.Completed });
    }

    /// <param name="named">Chosen by a plain name with no filter: only then may -Force remove a pinned entry.</param>
    private void Remove(ModelCacheEntry entry, object target, bool named)
    {
        var removePinned = named && Force;
        if (entry.Pinned && !removePinned)
        {
            KeepPinned(entry);
            return;
        }

        if (ShouldProcess($"{entry.Name} ({entry.Path}, {ByteSize.Format(entry.Size)})", "Remove cached model"))
        {
            Delete(entry, target, removePinned);
        }
        else
        {
            CountWhatIf(entry.Size);
        }
    }

    private void KeepPinned(ModelCacheEntry entry)
    {
        WriteVerbose($"Keeping {entry.Name}: it is pinned.");
        _keptPinned.Add(entry.Name);
    }

    private void Delete(ModelCacheEntry entry, object target, bool removePinned)
    {
        try
        {
            var store = StoreOf(entry);
            if (removePinned)
            {
                RunAsync((_, token) => store.RemoveAsync(entry, token));
            }
            else if (!RunAsync((_, token) => store.RemoveUnlessPinnedAsync(entry, token)))
            {
                KeepPinned(entry); // Pinned by another process since it was listed.
                return;
            }

            if (PassThru)
            {
                WriteObject(entry);
            }
        }
        catch (ModelCacheException ex)
        {
            WriteFailure(ex, target);
        }
    }
}
