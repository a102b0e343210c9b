using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.Integrity;
using ModelCache.Store;
using ModelCache.Transfer;

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

    /// <summary>Checks one file, reporting the bytes hashed as <see cref="TransferPhase.Verifying"/> progress of that file.</summary>
    public Task<FileVerification> VerifyOneAsync(CachedFile file, IProgress<TransferProgress> progress, CancellationToken cancellationToken) =>
        VerifyOneAsync(file, new ActionProgress<long>(done => progress.Report(new TransferProgress(file.Name, TransferPhase.Verifying, done, file.Size, file.Path))), cancellationToken);

    /// <summary>
    /// Hashes a file outside any cache in full (a check is what Test-ModelHash -LiteralPath is for) against <paramref name="expected"/>,
    /// recording the outcome in the process's record so that a use of the file after it needs no hash.
    /// </summary>
    /// <param name="name">The catalog model the file is checked as, when known; progress names the path otherwise.</param>
    public static async Task<ModelHashResult> HashFileAsync(string? name, string path, string? expected, IProgress<TransferProgress> progress, CancellationToken cancellationToken)
    {
        var total = System.IO.File.Exists(path) ? new System.IO.FileInfo(path).Length : 0;
        var bytes = new ActionProgress<long>(done => progress.Report(new TransferProgress(name ?? path, TransferPhase.Verifying, done, total, path)));
        return (await FileVerifier.Process.VerifyAsync(name, path, expected, VerifyPolicy.HashAlways, null, bytes, cancellationToken).ConfigureAwait(false)).Result;
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
