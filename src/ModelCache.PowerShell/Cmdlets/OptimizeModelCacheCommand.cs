using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Inference;
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
    /// Cache entries from Get-ModelCache or Save-Model: each is optimized in its own root and layout. A piped entry also
    /// binds -Name by its Name property; the entry wins, since its root may not be this command's.
    /// </summary>
    [Parameter(ValueFromPipeline = true)]
    [ValidateNotNull]
    public ModelCacheEntry[] InputObject { get; set; } = Array.Empty<ModelCacheEntry>();

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
            ThrowLayoutNotSupported(Layout, "optimizing (index repair, orphans, precompiled copies) is done for Native and Uniface caches only.", "Check a hub cache with 'Test-ModelHash -Layout HuggingFace', and clear what is broken with 'Clear-ModelCache -Layout HuggingFace'.");
        }
    }

    protected override void Process()
    {
        if (InputObject.Length > 0)
        {
            _piped.AddRange(InputObject);
            InputObject = Array.Empty<ModelCacheEntry>();
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

    private void Optimize(CacheStore store, ModelCatalog catalog)
    {
        var optimizer = new CacheOptimizer(store, catalog);
        var options = new CacheOptimizeOptions { Select = Selector(catalog), RemoveOrphans = RemoveOrphans, Quarantine = Quarantine };
        var plan = RunAsync((_, token) => optimizer.PlanAsync(options, token));
        foreach (var problem in plan.Problems)
        {
            WriteFailure(problem, store.Root);
        }

        foreach (var note in plan.Notes)
        {
            WriteVerbose(note);
        }

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
                var action = RunAsync((bridge, token) => optimizer.ExecuteAsync(step, message => bridge.Post(() => WriteWarning(message)), token));
                if (action is null)
                {
                    WriteVerbose($"{step.Name}: left as it is; what the plan found ({step.Detail}) no longer holds.");
                    continue;
                }

                if (action.Action is CacheOptimizeActionKind.RemovedCorrupt or CacheOptimizeActionKind.Quarantined or CacheOptimizeActionKind.RemovedOrphan)
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
            done += PrecompileModels(store, catalog, options, removed);
        }

        WriteVerbose($"Optimized '{store.Root}': {done} action(s), {freed} bytes ({freed / 1048576.0:0.0} MiB) freed.");
    }

    /// <summary>Writes an optimized copy of each selected, cached face detector that lacks an up-to-date one.</summary>
    private int PrecompileModels(CacheStore store, ModelCatalog catalog, CacheOptimizeOptions options, ISet<string> removed)
    {
        var models = catalog.Models
            .Where(m => string.Equals(m.Task, "face_detection", StringComparison.OrdinalIgnoreCase) && options.Select!(m.Family, m.Member) && !removed.Contains(m.Name))
            .Where(m => System.IO.File.Exists(store.GetModelPath(m)))
            .ToList();
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
        foreach (var model in models)
        {
            if (!ShouldProcess($"{model.Name} ({store.GetOptimizedModelPath(model)})", "Write ONNX Runtime-optimized copy"))
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

    /// <summary>
    /// No names select everything. A wildcard matches qualified or member names; a plain name selects the catalog
    /// model it resolves to, or else the orphan of exactly that name.
    /// </summary>
    private Func<string, string, bool> Selector(ModelCatalog catalog)
    {
        if (_names.Count == 0)
        {
            return (_, _) => true;
        }

        var patterns = new List<WildcardMatcher>();
        var exact = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in _names)
        {
            if (WildcardMatcher.HasWildcard(name))
            {
                patterns.Add(new WildcardMatcher(name));
            }
            else
            {
                exact.Add(ResolveOrSelf(catalog, name));
            }
        }

        return (family, member) =>
        {
            var qualified = family.Length == 0 ? member : family + "/" + member;
            return exact.Contains(qualified) || patterns.Any(p => p.IsMatch(qualified) || p.IsMatch(member));
        };
    }

    private static string ResolveOrSelf(ModelCatalog catalog, string name)
    {
        try
        {
            return catalog.Resolve(name).Name;
        }
        catch (ModelNameException)
        {
            return name; // Not a catalog model: an orphan's own name.
        }
    }
}
