using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.Primitives;
using ModelCache.Layouts;

namespace ModelCache.Store;

/// <summary>
/// The catalog cache (native and uniface layouts) behind the backend seam: files are catalog entries of one
/// <see cref="CacheStore"/>, checks are recorded in their metadata, and removals go through the store's locked operations.
/// </summary>
public sealed class CatalogCacheBackend : ICacheBackend
{
    public const string RemoveModelAction = "Remove cached model";
    public const string RemovePartialAction = "Remove partial download";

    public CatalogCacheBackend(CacheStore store)
    {
        Store = store;
    }

    public CacheStore Store { get; }

    public CacheLayoutKind Kind => Store.Layout.Kind;

    public string Root => Store.Root;

    public async Task<IReadOnlyList<CachedFile>> ListAsync(ModelCatalog catalog, ICollection<ModelCacheException> problems, CancellationToken cancellationToken) =>
        (await Store.ListAsync(catalog, problems, cancellationToken).ConfigureAwait(false)).Cast<CachedFile>().ToList();

    public Selection<CachedFile> Select(ModelCatalog catalog, IReadOnlyList<CachedFile> files, string name) =>
        NameSelector.SelectFiles(files, name, plain =>
        {
            var models = NameSelector.SelectModels(catalog, plain);
            if (models.Error is not null)
            {
                return NameSelector.Failed(models.Error);
            }

            var model = models.Items[0];
            var cached = files.Where(f => string.Equals(f.Name, model.Name, StringComparison.OrdinalIgnoreCase)).ToList();
            return NameSelector.Selected(cached, () => new ModelCacheException("ModelNotCached", ModelCacheErrorKind.NotFound,
                $"{model.Name} is not in the cache at '{Root}'.", $"Run 'Save-Model {model.Name}' to add it."));
        });

    public Task<Selection<CachedFile>> FindAsync(ModelCatalog catalog, string name, ICollection<ModelCacheException> problems, CancellationToken cancellationToken)
    {
        var models = NameSelector.SelectModels(catalog, name);
        return Task.FromResult(models.Error is not null ? NameSelector.Failed(models.Error) : new Selection<CachedFile>(models.Items.Select(Expected).ToList(), null));
    }

    public async Task<CachedFileCheck> VerifyAsync(CachedFile file, ModelCatalog catalog, IProgress<long>? bytesHashed, CancellationToken cancellationToken)
    {
        var entry = Own(file);
        var model = catalog.DefinitionOf(entry);
        if (model is not null)
        {
            Store.EnsureContained(model);
        }

        // Always hashed (that is what a check is for), and recorded, so a use of the file after it needs no hash.
        var result = (await Store.Verifier.VerifyAsync(entry.Name, entry.Path, model?.Sha256, VerifyPolicy.HashAlways, null, bytesHashed, cancellationToken).ConfigureAwait(false)).Result;
        if (model is null || result.Status == HashStatus.Missing)
        {
            return new CachedFileCheck(entry, result);
        }

        // Best-effort: a read-only cache is checked all the same.
        var recorded = await Store.TryRecordCheckAsync(model, result, cancellationToken).ConfigureAwait(false);
        return new CachedFileCheck(recorded ?? Store.DescribeCheck(model, result), result);
    }

    public string? RepairCommand(CachedFile file) => null;

    public CacheSummary Summarize(ModelCatalog catalog, CacheHealthThresholds thresholds, ICollection<ModelCacheException> problems, CancellationToken cancellationToken) =>
        new CacheInspector(Store).Summarize(catalog, thresholds, problems, cancellationToken);

    public async Task<RemovalPlan> PlanRemovalAsync(ModelCatalog catalog, RemovalRequest request, CancellationToken cancellationToken)
    {
        if (request.Revisions is not null)
        {
            throw new ModelCacheException("RevisionRequiresHubLayout", ModelCacheErrorKind.InvalidArgument,
                "-Revision applies to Hugging Face hub caches only.", "Add -Layout HuggingFace, or leave out -Revision.");
        }

        var problems = new List<(ModelCacheException, object)>();
        var keptPinned = new List<string>();
        var items = new List<RemovalItem>();
        var now = DateTimeOffset.UtcNow;
        if (request.Partial)
        {
            foreach (var partial in Store.ListPartials(catalog).Where(p => (request.Names.Count == 0 || request.Names.Any(n => Names(catalog, n, p))) && (request.Filter is null || request.Filter.Matches(p, now))))
            {
                items.Add(new RemovalItem($"{partial.Name} partial download ({partial.Path}, {ByteSize.Format(partial.Size)})", RemovePartialAction, partial.Size, partial));
            }

            return new RemovalPlan(Root, items, keptPinned, problems, "partial downloads", "Remove partial downloads");
        }

        var listingProblems = new List<ModelCacheException>();
        var selected = new List<(ModelCacheEntry Entry, object Input, bool Named)>();
        var keptUnnamed = 0;
        if (request.Files.Count > 0)
        {
            selected.AddRange(request.Files.Select(f => (Own(f), (object)f, false)));
        }
        else
        {
            var entries = await Store.ListAsync(catalog, listingProblems, cancellationToken).ConfigureAwait(false);
            problems.AddRange(listingProblems.Select(p => (p, (object)Root)));
            if (request.All)
            {
                // Files another tool's folder holds that no catalog knows may be that tool's own: only removed when named.
                var removable = entries.Where(Store.MayRemoveUnnamed).ToList();
                keptUnnamed = entries.Count - removable.Count;
                selected.AddRange(removable.Select(e => (e, (object)e, false)));
            }
            else if (request.Names.Count > 0)
            {
                var files = entries.Cast<CachedFile>().ToList();
                foreach (var name in request.Names)
                {
                    var selection = Select(catalog, files, name);
                    if (selection.Error is not null && !AlreadyReported(catalog, listingProblems, selection.Error, name))
                    {
                        problems.Add((selection.Error, name));
                    }

                    var named = (request.Filter is null || request.Filter.IsEmpty) && !WildcardMatcher.HasWildcard(name);
                    selected.AddRange(selection.Items.Select(f => ((ModelCacheEntry)f, (object)name, named)));
                }
            }
            else
            {
                selected.AddRange(entries.Select(e => (e, (object)e, false)));
            }
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (entry, input, named) in selected)
        {
            if (!seen.Add(entry.Name) || (request.Filter is { IsEmpty: false } filter && !filter.Matches(entry, now)))
            {
                continue;
            }

            var removePinned = named && request.RemovePinnedNamed;
            if (entry.Pinned && !removePinned)
            {
                keptPinned.Add(entry.Name);
                continue;
            }

            items.Add(new RemovalItem($"{entry.Name} ({entry.Path}, {ByteSize.Format(entry.Size)})", RemoveModelAction, entry.Size, entry, input, removePinned));
        }

        return new RemovalPlan(Root, items, keptPinned, problems, "models", "Remove every cached model", keptUnnamed, sweepAbandoned: request.All);
    }

    public async Task<RemovalOutcome> RemoveAsync(RemovalItem item, CancellationToken cancellationToken)
    {
        switch (item.Subject)
        {
            case PartialFile partial:
                return await Store.RemovePartialAsync(partial, cancellationToken).ConfigureAwait(false) is null
                    ? new RemovalOutcome(item, null, $"Keeping the partial download of {partial.Name}: a process is writing it (its lock is held).")
                    : new RemovalOutcome(item, partial);
            case ModelCacheEntry entry when item.RemovePinned:
                await Store.RemoveAsync(entry, cancellationToken).ConfigureAwait(false);
                return new RemovalOutcome(item, entry);
            case ModelCacheEntry entry:
                // Pinned by another process since it was listed: kept.
                return await Store.RemoveUnlessPinnedAsync(entry, cancellationToken).ConfigureAwait(false)
                    ? new RemovalOutcome(item, entry)
                    : new RemovalOutcome(item, null, $"Keeping {entry.Name}: it is pinned.") { KeptPinned = true };
            default:
                throw new ArgumentException($"'{item.Subject}' is not an item of the {Store.Layout}.", nameof(item));
        }
    }

    public Task<long> SweepAbandonedAsync(ModelCatalog catalog, CancellationToken cancellationToken) => Store.RemoveAbandonedDownloadsAsync(catalog, cancellationToken);

    /// <summary>A model the listing already reported as unreadable (a folder or FIFO in place of its file) is not "not cached" as well.</summary>
    private static bool AlreadyReported(ModelCatalog catalog, IEnumerable<ModelCacheException> listingProblems, ModelCacheException error, string name) =>
        error.ErrorId == "ModelNotCached" && NameSelector.SelectModels(catalog, name).Items is { Count: 1 } models
        && listingProblems.Any(p => p.Data[CacheStore.ProblemModelKey] is string model && string.Equals(model, models[0].Name, StringComparison.OrdinalIgnoreCase));

    /// <summary>A catalog entry of this store's layout: the store checks its names and root again before touching it.</summary>
    private ModelCacheEntry Own(CachedFile file) => file as ModelCacheEntry
        ?? throw new ModelCacheException("CachedFileLayoutMismatch", ModelCacheErrorKind.InvalidArgument,
            $"{file.Name} is a {file.Layout} file; the {Store.Layout} holds catalog entries only.", "Pipe it to the command without -Layout, so it acts on the cache it came from.");

    /// <summary>Where a catalog model's file is, or would be (checked, it is then Missing).</summary>
    private ModelCacheEntry Expected(ModelDefinition model) => new(model.Family, model.Member, model.Task, model.FileName, Store.GetModelPath(model), Root, 0,
        null, model.Sha256, model.Url?.ToString(), null, null, EntryCheckResult.NotChecked, null, null, inCatalog: true, Kind);

    /// <summary>A name selects a partial by pattern (qualified or member name), or, plain, by the catalog model it resolves to.</summary>
    private static bool Names(ModelCatalog catalog, string name, PartialFile partial)
    {
        var pattern = new WildcardMatcher(name);
        return pattern.IsMatch(partial.Name) || pattern.IsMatch(partial.Member) ||
            (!WildcardMatcher.HasWildcard(name) && NameSelector.SelectModels(catalog, name).Items.Any(m => string.Equals(m.Name, partial.Name, StringComparison.OrdinalIgnoreCase)));
    }
}
