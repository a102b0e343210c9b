using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.Store;

namespace ModelCache.Operations;

/// <summary>One file checked by <see cref="VerifyOperation"/>: the check, or why the file could not be hashed at all.</summary>
public sealed class FileVerification
{
    public FileVerification(CachedFile file, CachedFileCheck? check, ModelCacheException? failure)
    {
        File = check?.File ?? file;
        Check = check;
        Failure = failure;
    }

    /// <summary>The file as it reads after the check.</summary>
    public CachedFile File { get; }

    public CachedFileCheck? Check { get; }

    /// <summary>Why there is no check (a FIFO in the file's place, a link on the way, an I/O error).</summary>
    public ModelCacheException? Failure { get; }
}

/// <summary>
/// Checks cached files of any layout (Test-ModelHash, Get-ModelCache -Verify): each hashed in full by its backend, several at
/// once, with one running total of bytes for a single progress bar. A file that cannot be hashed is a failure of that file only.
/// </summary>
public sealed class VerifyOperation
{
    private readonly ICacheBackend _backend;
    private readonly ModelCatalog _catalog;

    public VerifyOperation(ICacheBackend backend, ModelCatalog catalog)
    {
        _backend = backend;
        _catalog = catalog;
    }

    /// <summary>Checks one file; failures to hash it at all are returned, not thrown.</summary>
    public async Task<FileVerification> VerifyOneAsync(CachedFile file, IProgress<long>? bytesHashed, CancellationToken cancellationToken)
    {
        try
        {
            return new FileVerification(file, await _backend.VerifyAsync(file, _catalog, bytesHashed, cancellationToken).ConfigureAwait(false), null);
        }
        catch (ModelCacheException ex)
        {
            return new FileVerification(file, null, ex);
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex) && !cancellationToken.IsCancellationRequested)
        {
            return new FileVerification(file, null, CacheIOFailure.From(ex, file.Name));
        }
    }

    /// <param name="parallelism">Files hashed at once.</param>
    /// <param name="totalBytesHashed">The running total over all files.</param>
    /// <param name="onVerified">Called once per file as its check ends, from any thread.</param>
    public async Task VerifyAllAsync(IReadOnlyList<CachedFile> files, int parallelism, IProgress<long>? totalBytesHashed,
        Action<FileVerification> onVerified, CancellationToken cancellationToken)
    {
        long total = 0;
        using var slots = new SemaphoreSlim(Math.Max(1, parallelism));
        var checks = files.Select(async file =>
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
                onVerified(await VerifyOneAsync(file, bytes, cancellationToken).ConfigureAwait(false));
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        await Task.WhenAll(checks).ConfigureAwait(false);
    }
}
