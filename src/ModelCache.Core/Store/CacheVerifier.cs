using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.Primitives;

namespace ModelCache.Store;

/// <summary>One entry hashed by <see cref="CacheVerifier"/>: what the check found, and the entry as it now reads.</summary>
public sealed class EntryVerification
{
    public EntryVerification(ModelCacheEntry entry, ModelHashResult result)
    {
        Entry = entry;
        Result = result;
    }

    /// <summary>An entry whose file could not be hashed at all (a FIFO in its place, an I/O error).</summary>
    public EntryVerification(ModelCacheEntry entry, ModelCacheException failure)
    {
        Entry = entry;
        Failure = failure;
    }

    public ModelCacheEntry Entry { get; }

    /// <summary>The check's outcome; null when <see cref="Failure"/> says why there is none.</summary>
    public ModelHashResult? Result { get; }

    public ModelCacheException? Failure { get; }
}

/// <summary>
/// Hashes many cached entries at once (Get-ModelCache -Verify): the same check as Test-ModelHash, several files
/// in parallel, one running total of bytes for a single progress bar, and each outcome recorded in the entry's
/// metadata (best effort, under its lock) so listings show it.
/// </summary>
public sealed class CacheVerifier
{
    private readonly CacheStore _store;
    private readonly ModelCatalog _catalog;

    public CacheVerifier(CacheStore store, ModelCatalog catalog)
    {
        _store = store;
        _catalog = catalog;
    }

    /// <param name="entries">Entries of this store.</param>
    /// <param name="parallelism">Files hashed at once.</param>
    /// <param name="totalBytesHashed">The running total over all entries.</param>
    /// <param name="onVerified">Called once per entry as its check ends, from any thread.</param>
    public async Task VerifyAsync(IReadOnlyList<ModelCacheEntry> entries, int parallelism, IProgress<long>? totalBytesHashed,
        Action<EntryVerification> onVerified, CancellationToken cancellationToken)
    {
        long total = 0;
        using var slots = new SemaphoreSlim(Math.Max(1, parallelism));
        var checks = entries.Select(async entry =>
        {
            await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                long counted = 0;
                var bytes = totalBytesHashed is null ? null : new ActionProgress<long>(done =>
                {
                    var delta = done - Interlocked.Exchange(ref counted, done);
                    totalBytesHashed.Report(Interlocked.Add(ref total, delta));
                });
                onVerified(await VerifyOneAsync(entry, bytes, cancellationToken).ConfigureAwait(false));
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        await Task.WhenAll(checks).ConfigureAwait(false);
    }

    private async Task<EntryVerification> VerifyOneAsync(ModelCacheEntry entry, IProgress<long>? bytes, CancellationToken cancellationToken)
    {
        // Hash against what the catalog says now, not what the entry recorded; a file in no catalog has nothing to match.
        _catalog.TryGet(entry.Name, out var model);
        ModelHashResult result;
        try
        {
            // Always hashed (that is what -Verify is for), and recorded, so a use of the file after it needs no hash.
            result = (await _store.Verifier.VerifyAsync(entry.Name, entry.Path, model?.Sha256, VerifyPolicy.HashAlways, null, bytes, cancellationToken).ConfigureAwait(false)).Result;
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex) && !cancellationToken.IsCancellationRequested)
        {
            return new EntryVerification(entry, CacheIOFailure.From(ex, entry.Name));
        }

        if (model is null || result.Status == HashStatus.Missing)
        {
            return new EntryVerification(entry, result);
        }

        var recorded = await _store.TryRecordCheckAsync(model, result, cancellationToken).ConfigureAwait(false);
        return new EntryVerification(recorded ?? _store.DescribeCheck(model, result), result);
    }
}
