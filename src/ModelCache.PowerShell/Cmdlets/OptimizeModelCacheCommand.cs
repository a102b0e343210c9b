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

        if (Precompile)
        {
            done += PrecompileModels(optimizer, options, removed);
        }

        WriteVerbose($"Optimized '{store.Root}': {done} action(s), {freed} bytes ({freed / 1048576.0:0.0} MiB) freed.");
    }

    /// <summary>Writes an optimized copy of each selected, cached face detector that lacks an up-to-date one.</summary>
    private int PrecompileModels(OptimizeOperation optimizer, CacheOptimizeOptions options, ISet<string> removed)
    {
        var store = optimizer.Store;
        var models = optimizer.PrecompileCandidates(options, removed);
        if (models.Count == 0)
        {
            WriteVerbose("-Precompile: no cached face-detection model is selected.");
            return 0;
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

        return done;
    }
}
