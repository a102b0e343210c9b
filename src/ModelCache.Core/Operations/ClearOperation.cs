using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store;

namespace ModelCache.Operations;

/// <summary>
/// Clearing a cache, for every host: plan what the request selects (nothing touched), let the host confirm each item
/// (Clear-ModelCache asks ShouldProcess; the admin API was confirmed by its request), then remove item by item. The
/// same code under Clear-ModelCache and the server's admin clear, for every layout.
/// </summary>
public sealed class ClearOperation
{
    private readonly ICacheBackend _backend;
    private readonly ModelCatalog _catalog;

    public ClearOperation(ICacheBackend backend, ModelCatalog catalog)
    {
        _backend = backend;
        _catalog = catalog;
    }

    public ICacheBackend Backend => _backend;

    /// <summary>
    /// The filter a clear's criteria make (Clear-ModelCache -OlderThan, -NotUsedSince, -Task, -Family, -Orphaned), or null when
    /// none is given; <paramref name="notUsedSince"/> is taken as universal time.
    /// </summary>
    public static EntryFilter? Filter(TimeSpan? olderThan, DateTime? notUsedSince, IReadOnlyList<string>? tasks, IReadOnlyList<string>? families, bool orphansOnly)
    {
        var filter = new EntryFilter
        {
            OlderThan = olderThan,
            NotUsedSince = notUsedSince is { } since ? new DateTimeOffset(since.ToUniversalTime(), TimeSpan.Zero) : null,
            Tasks = tasks,
            Families = families,
            OrphansOnly = orphansOnly,
        };
        return filter.IsEmpty ? null : filter;
    }

    /// <exception cref="ModelCacheException">The request asks for what this cache cannot select by.</exception>
    public Task<RemovalPlan> PlanAsync(RemovalRequest request, CancellationToken cancellationToken) => _backend.PlanRemovalAsync(_catalog, request, cancellationToken);

    /// <summary>Removes one confirmed item. A failure is a <see cref="ModelCacheException"/> about that item only.</summary>
    public async Task<RemovalOutcome> ExecuteAsync(RemovalItem item, CancellationToken cancellationToken)
    {
        try
        {
            return await _backend.RemoveAsync(item, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex) && !cancellationToken.IsCancellationRequested)
        {
            throw CacheIOFailure.From(ex, item.Target);
        }
    }

    /// <summary>After the items of a plan that cleared everything: abandoned work files. Returns the bytes freed.</summary>
    public Task<long> FinishAsync(RemovalPlan plan, CancellationToken cancellationToken) =>
        plan.SweepAbandoned ? _backend.SweepAbandonedAsync(_catalog, cancellationToken) : Task.FromResult(0L);

    /// <summary>Plans and removes every item, for a host whose request was the confirmation (the admin API).</summary>
    public async Task<ClearReport> RunAsync(RemovalRequest request, CancellationToken cancellationToken)
    {
        var plan = await PlanAsync(request, cancellationToken).ConfigureAwait(false);
        var report = new ClearReport(plan);
        foreach (var (error, _) in plan.Problems)
        {
            report.Problems.Add(error);
        }

        report.KeptPinned.AddRange(plan.KeptPinned);
        foreach (var item in plan.Items)
        {
            try
            {
                var outcome = await ExecuteAsync(item, cancellationToken).ConfigureAwait(false);
                if (outcome.Removed is not null)
                {
                    report.Removed.Add(outcome);
                }
                else if (outcome.KeptPinned && item.Subject is CachedFile file)
                {
                    report.KeptPinned.Add(file.Name);
                }
            }
            catch (ModelCacheException ex)
            {
                report.Problems.Add(ex);
            }
        }

        report.SweptBytes = await FinishAsync(plan, cancellationToken).ConfigureAwait(false);
        return report;
    }
}

/// <summary>What <see cref="ClearOperation.RunAsync"/> did.</summary>
public sealed class ClearReport
{
    internal ClearReport(RemovalPlan plan)
    {
        Plan = plan;
    }

    public RemovalPlan Plan { get; }

    public List<RemovalOutcome> Removed { get; } = new();

    public List<string> KeptPinned { get; } = new();

    public List<ModelCacheException> Problems { get; } = new();

    /// <summary>Bytes of abandoned work files swept after clearing everything.</summary>
    public long SweptBytes { get; set; }
}
