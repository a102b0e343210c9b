using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store;

namespace ModelCache.Operations;

/// <summary>
/// Optimize-ModelCache as an operation: plan without writing (problems and notes go to the host's events), let the host
/// confirm each step (ShouldProcess), then execute step by step under each model's lock. Also names the face detectors
/// an inference host may precompile, since writing ONNX Runtime's optimized copy is above this layer.
/// </summary>
public sealed class OptimizeOperation
{
    private readonly CacheStore _store;
    private readonly ModelCatalog _catalog;
    private readonly CacheOptimizer _optimizer;

    public OptimizeOperation(CacheStore store, ModelCatalog catalog)
    {
        _store = store;
        _catalog = catalog;
        _optimizer = new CacheOptimizer(store, catalog);
    }

    /// <summary>The cache optimized; an inference host writes its optimized copies here.</summary>
    public CacheStore Store => _store;

    public string Root => _store.Root;

    /// <summary>What optimizing would do; changes nothing. Each problem found is a failure event, each note a verbose one.</summary>
    public async Task<CacheOptimizePlan> PlanAsync(CacheOptimizeOptions options, IOperationEvents events, CancellationToken cancellationToken)
    {
        var plan = await _optimizer.PlanAsync(options, cancellationToken).ConfigureAwait(false);
        foreach (var problem in plan.Problems)
        {
            events.Failed(problem, _store.Root);
        }

        foreach (var note in plan.Notes)
        {
            events.Verbose(note);
        }

        return plan;
    }

    /// <summary>One confirmed step; null when what the plan found no longer holds (nothing was changed then).</summary>
    public Task<CacheOptimizeAction?> ExecuteAsync(CacheOptimizeStep step, IOperationEvents events, CancellationToken cancellationToken) =>
        _optimizer.ExecuteAsync(step, events.Warning, cancellationToken);

    /// <summary>Cached face detectors the options select and no executed step removed, each with where its optimized copy goes.</summary>
    public IReadOnlyList<PrecompileCandidate> PrecompileCandidates(CacheOptimizeOptions options, ICollection<string> removed) =>
        _catalog.Models
            .Where(m => string.Equals(m.Task, ModelTasks.FaceDetection, StringComparison.OrdinalIgnoreCase)
                && (options.Select?.Invoke(m.Family, m.Member) ?? true) && !removed.Contains(m.Name))
            .Where(m => File.Exists(_store.GetModelPath(m)))
            .Select(m => new PrecompileCandidate(m, _store.GetOptimizedModelPath(m)))
            .ToList();

    /// <summary>True for a kind of step that gives disk space back (a quarantine moves the file, a rebuild or a copy adds).</summary>
    public static bool Frees(CacheOptimizeActionKind kind) =>
        kind is CacheOptimizeActionKind.RemovedPartial or CacheOptimizeActionKind.RemovedCorrupt or CacheOptimizeActionKind.RemovedOrphan or CacheOptimizeActionKind.Deduplicated;

    /// <summary>True for a step whose file is gone afterwards, so no optimized copy is written for it.</summary>
    public static bool Removes(CacheOptimizeAction action) =>
        action.Action is CacheOptimizeActionKind.RemovedCorrupt or CacheOptimizeActionKind.Quarantined or CacheOptimizeActionKind.RemovedOrphan;

    /// <summary>
    /// No names select everything. A wildcard matches qualified or member names; a plain name selects the catalog
    /// model it resolves to, or else the orphan of exactly that name.
    /// </summary>
    public static Func<string, string, bool> Selector(ModelCatalog catalog, IReadOnlyCollection<string> names)
    {
        if (names.Count == 0)
        {
            return (_, _) => true;
        }

        var patterns = new List<WildcardMatcher>();
        var exact = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in names)
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

/// <summary>A cached face detector and the path of its ONNX Runtime–optimized copy.</summary>
public sealed class PrecompileCandidate
{
    public PrecompileCandidate(ModelDefinition model, string optimizedPath)
    {
        Model = model;
        OptimizedPath = optimizedPath;
    }

    public ModelDefinition Model { get; }

    public string OptimizedPath { get; }
}
