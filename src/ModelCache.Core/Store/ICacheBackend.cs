using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.Layouts;

namespace ModelCache.Store;

/// <summary>
/// One cache root seen through the one seam every cache cmdlet and the server use, whatever its layout: list, select
/// by name (one rule, <see cref="NameSelector.SelectFiles"/>), verify, summarize, plan a removal and carry it out.
/// The catalog cache (native and uniface layouts over <see cref="CacheStore"/>) and the Hugging Face hub cache implement it.
/// </summary>
public interface ICacheBackend
{
    CacheLayoutKind Kind { get; }

    string Root { get; }

    /// <summary>Every cached file; whatever was skipped or not trusted on the way is added to <paramref name="problems"/>.</summary>
    Task<IReadOnlyList<CachedFile>> ListAsync(ModelCatalog catalog, ICollection<ModelCacheException> problems, CancellationToken cancellationToken);

    /// <summary>The files <paramref name="name"/> selects among <paramref name="files"/> (a listing of this cache).</summary>
    Selection<CachedFile> Select(ModelCatalog catalog, IReadOnlyList<CachedFile> files, string name);

    /// <summary>
    /// The files a plain name selects, found without listing the whole cache; for a known catalog model, where its file is
    /// whether or not it is there (so a check of an uncached model reports it Missing).
    /// </summary>
    Task<Selection<CachedFile>> FindAsync(ModelCatalog catalog, string name, ICollection<ModelCacheException> problems, CancellationToken cancellationToken);

    /// <summary>
    /// Hashes <paramref name="file"/> against what it should be, always (that is what a check is for), recording the outcome
    /// where this cache records checks. An I/O failure (a FIFO in the file's place) is thrown as it is.
    /// </summary>
    /// <exception cref="ModelCacheException">The file is not this cache's to read (a link on the way).</exception>
    Task<CachedFileCheck> VerifyAsync(CachedFile file, ModelCatalog catalog, IProgress<long>? bytesHashed, CancellationToken cancellationToken);

    /// <summary>The command that fetches a good copy of <paramref name="file"/>; null when it is <c>Save-Model &lt;Name&gt;</c>.</summary>
    string? RepairCommand(CachedFile file);

    /// <summary>Sizes, counts, clutter and a health verdict, read from disk without hashing or writing.</summary>
    CacheSummary Summarize(ModelCatalog catalog, CacheHealthThresholds thresholds, ICollection<ModelCacheException> problems, CancellationToken cancellationToken);

    /// <summary>What removing <paramref name="request"/>'s selection would delete, item by item; nothing is touched.</summary>
    /// <exception cref="ModelCacheException">The request asks for something this cache cannot select by (LayoutNotSupported, RevisionRequiresHubLayout).</exception>
    Task<RemovalPlan> PlanRemovalAsync(ModelCatalog catalog, RemovalRequest request, CancellationToken cancellationToken);

    /// <summary>Carries out one item of a plan (re-checking under the cache's locks what may have changed since).</summary>
    Task<RemovalOutcome> RemoveAsync(RemovalItem item, CancellationToken cancellationToken);

    /// <summary>After a plan that swept everything: work files no process is writing. Returns the bytes freed.</summary>
    Task<long> SweepAbandonedAsync(ModelCatalog catalog, CancellationToken cancellationToken);
}

/// <summary>One file checked: what the check found, and the file as it reads now (a catalog entry shows the check it recorded).</summary>
public sealed class CachedFileCheck
{
    public CachedFileCheck(CachedFile file, ModelHashResult result)
    {
        File = file;
        Result = result;
    }

    public CachedFile File { get; }

    public ModelHashResult Result { get; }
}
