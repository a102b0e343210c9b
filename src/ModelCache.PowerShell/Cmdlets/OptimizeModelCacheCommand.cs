using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Inference;
using ModelCache.Operations;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Primitives;
using ModelCache.Store;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Tidies a cache: stale partial downloads, corrupt files (deleted or quarantined), lost metadata, duplicate
/// content (hard links), orphans with -RemoveOrphans, and ONNX Runtime–optimized copies with -Precompile. The
/// plan is made without writing; each step then asks ShouldProcess and runs under its model's lock.
/// </summary>
[Cmdlet(VerbsCommon.Optimize, "ModelCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(CacheOptimizeAction))]
public sealed class OptimizeModelCacheCommand : ModelCacheCmdlet
{
    private List<string> _names = new();
    private readonly List<ModelCacheEntry> _piped = new();

    /// <summary>Models to optimize (wildcards match qualified and member names); all when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>
    /// Cached files from Get-ModelCache or Save-Model: each is optimized in its own root and layout. A piped file also
    /// binds -Name by its Name property; the file wins, since its root may not be this command's. A hub cache's file is
    /// refused (LayoutNotSupported).
    /// </summary>
    [Parameter(ValueFromPipeline = true)]
    [ValidateNotNull]
    public CachedFile[] InputObject { get; set; } = Array.Empty<CachedFile>();

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    [Parameter]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    [Parameter]
    public SwitchParameter RemoveOrphans { get; set; }

    [Parameter]
    public SwitchParameter Quarantine { get; set; }

    [Parameter]
    public SwitchParameter Precompile { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    protected override void Begin()
    {
        if (IsHubLayout(Layout))
        {
            RefuseLayout(Layout);
        }
    }

    private void RefuseLayout(string layout) =>
        ThrowLayoutNotSupported(layout, "optimizing (index repair, orphans, precompiled copies) is done for Native and Uniface caches only.", "Check a hub cache with 'Test-ModelHash -Layout HuggingFace', and clear what is broken with 'Clear-ModelCache -Layout HuggingFace'.");

    protected override void Process()
    {
        if (InputObject.Length > 0)
        {
            foreach (var file in InputObject)
            {
                _piped.Add(file as ModelCacheEntry ?? RefusedFile(file));
            }

            InputObject = Array.Empty<CachedFile>();
        }
        else if (Name is not null)
        {
            _names.AddRange(Name);
        }
    }

    protected override void End()
    {
        var catalog = LoadCatalog(CatalogPath);
        if (_piped.Count == 0)
        {
            Optimize(OpenStore(CachePath, ParseLayout(Layout)), catalog);
            return;
        }

        // Piped entries are optimized root by root, each selecting only the models piped from it.
        foreach (var group in _piped.GroupBy(e => (e.CacheRoot, e.Layout)))
        {
            _names = group.Select(e => e.Name).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            Optimize(StoreOf(group.First()), catalog);
        }
    }

    // Only a hub cache's file is not a catalog entry; the command stops there.
    private ModelCacheEntry RefusedFile(CachedFile file)
    {
        RefuseLayout(file.Layout.ToString());
        throw new InvalidOperationException("unreachable: ThrowTerminatingError throws");
    }

    private void Optimize(CacheStore store, ModelCatalog catalog)
    {
        var optimizer = new OptimizeOperation(store, catalog);
        var options = new CacheOptimizeOptions { Select = OptimizeOperation.Selector(catalog, _names), RemoveOrphans = RemoveOrphans, Quarantine = Quarantine };
        var plan = RunAsync((bridge, token) => optimizer.PlanAsync(options, Reporter(bridge), token));

        long freed = 0;
        var done = 0;
        var removed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var step in plan.Steps)
        {
            if (!ShouldProcess(step.Target, step.Description))
            {
                continue;
            }

            try
            {
                var action = RunAsync((bridge, token) => optimizer.ExecuteAsync(step, Reporter(bridge), token));
                if (action is null)
                {
                    WriteVerbose($"{step.Name}: left as it is; what the plan found ({step.Detail}) no longer holds.");
                    continue;
                }

                if (OptimizeOperation.Removes(action))
                {
                    removed.Add(action.Name);
                }

                freed += action.BytesFreed;
                done++;
                WriteObject(action);
            }
            catch (ModelCacheException ex)
            {
                WriteFailure(ex, step.Name);
            }
        }

        var (precompiled, upToDate, candidates) = Precompile ? PrecompileModels(optimizer, options, removed) : (0, 0, 0);
        Conclude(store.Root, plan.Steps.Count, candidates, plan.Steps.Where(s => OptimizeOperation.Frees(s.Kind)).Sum(s => s.Bytes), done + precompiled, upToDate, freed);
    }

    // The last line says what was (or, under -WhatIf, would be) done, "nothing to do" included, so a clean run is not silent.
    private void Conclude(string root, int steps, int candidates, long wouldFree, int done, int upToDate, long freed)
    {
        var looked = RemoveOrphans ? "stale partial downloads, corrupt files, lost metadata, duplicates or orphans" : "stale partial downloads, corrupt files, lost metadata or duplicates";
        var current = upToDate > 0 ? $"; {upToDate} optimized {Plural(upToDate, "copy", "copies")} already up to date" : "";
        if (WhatIfMode)
        {
            var would = new List<string>();
            if (steps > 0)
            {
                would.Add($"make {steps} {Plural(steps, "change", "changes")} freeing up to {ByteSize.Format(wouldFree)}");
            }

            if (candidates > 0)
            {
                would.Add($"write {candidates} optimized {Plural(candidates, "copy", "copies")} where missing or out of date");
            }

            // The 3-argument ShouldProcess writes its description as it is under -WhatIf: "What if: ...".
            ShouldProcess(would.Count == 0
                ? $"Optimize-ModelCache: nothing to do in '{root}' (no {looked})."
                : $"Optimize-ModelCache would {string.Join(" and ", would)} in '{root}'.", null, null);
            return;
        }

        var said = steps == 0 && done == 0
            ? $"Optimize-ModelCache: nothing to do in '{root}' (no {looked}{current})."
            : $"Optimize-ModelCache: {done} {Plural(done, "change", "changes")} made in '{root}', {ByteSize.Format(freed)} freed{current}.";
        WriteInformation(new HostInformationMessage { Message = said }, new[] { "PSHOST" });
    }

    private static string Plural(int count, string one, string many) => count == 1 ? one : many;

    /// <summary>Writes an optimized copy of each selected, cached face detector that lacks an up-to-date one.</summary>
    /// <returns>Copies written, copies found up to date, and the candidates (each asked with ShouldProcess).</returns>
    private (int Done, int UpToDate, int Candidates) PrecompileModels(OptimizeOperation optimizer, CacheOptimizeOptions options, ISet<string> removed)
    {
        var store = optimizer.Store;
        var models = optimizer.PrecompileCandidates(options, removed);
        if (models.Count == 0)
        {
            WriteVerbose("-Precompile: no cached face-detection model is selected.");
            return (0, 0, 0);
        }

        try
        {
            NativeLibraryLoader.EnsureLoaded();
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, store.Root));
        }

        var done = 0;
        var upToDate = 0;
        foreach (var (model, optimizedPath) in models.Select(c => (c.Model, c.OptimizedPath)))
        {
            if (!ShouldProcess($"{model.Name} ({optimizedPath})", "Write ONNX Runtime-optimized copy"))
            {
                continue;
            }

            try
            {
                var action = RunAsync((_, token) => ModelUse.OptimizedCopies.PrecompileAsync(store, model, token));
                if (action is null)
                {
                    WriteVerbose($"{model.Name}: the optimized copy is up to date.");
                    upToDate++;
                    continue;
                }

                done++;
                WriteObject(action);
            }
            catch (ModelCacheException ex)
            {
                WriteFailure(ex, model.Name);
            }
            catch (Exception ex) when (NativeLibraryLoader.IsNativeLoadFailure(ex))
            {
                ThrowTerminatingError(ErrorRecords.From(NativeLibraryLoader.Missing(ex), model.Name));
            }
        }

        return (done, upToDate, models.Count);
    }
}
