using System;
using System.IO;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Store;
using ModelCache.Transfer;
using ModelCache.Catalog;

namespace ModelCache.HuggingFace;

/// <summary>
/// Downloads one blob into <c>blobs/&lt;id&gt;.incomplete</c>, resuming what is there with a Range request
/// (safe without If-Range: the id names the content, and the whole file is hashed), and renames it to
/// <c>blobs/&lt;id&gt;</c> only when its size and hash match the id. The caller holds the blob's hub lock.
/// </summary>
internal sealed class HubBlobWriter
{
    private readonly HubClient _client;
    private readonly NetworkOptions _network;

    public HubBlobWriter(HubClient client, NetworkOptions network)
    {
        _client = client;
        _network = network;
    }

    /// <summary>Runs the attempts (with retries) and promotes the blob. Returns the bytes transferred and whether a partial was resumed.</summary>
    public async Task<(long Transferred, bool Resumed)> DownloadAsync(HubRepoFolder folder, HubFileMetadata metadata, string path, string subject,
        IProgress<TransferProgress>? progress, Action<string>? warn, CancellationToken cancellationToken)
    {
        folder.EnsureDirectory(folder.BlobsPath);
        var incomplete = folder.Incomplete(metadata.BlobId);
        var blob = folder.Blob(metadata.BlobId);

        // Pinned to the commit, so a branch that moves between HEAD and GET cannot mix two files.
        var address = _client.ResolveUri(folder.Repo, metadata.Commit, path);
        long transferred = 0;
        var resumed = false;
        var retry = RetryPolicy.Create(_network, (failure, attempt, delay) =>
            warn?.Invoke($"{failure.Message} Retrying in {delay.TotalSeconds:0.#} s (retry {attempt - 1} of {_network.RetryCount})."));
        await retry.ExecuteAsync(async token =>
        {
            var (bytes, fromOffset, staged) = await AttemptAsync(address, blob, incomplete, metadata, subject, progress, token).ConfigureAwait(false);
            transferred += bytes;
            resumed |= fromOffset > 0;
            staged.Promote();
        }, cancellationToken).ConfigureAwait(false);

        return (transferred, resumed);
    }

    /// <returns>The bytes copied, the offset resumed from, and the completed, verified blob to promote.</returns>
    private async Task<(long Copied, long Offset, StagedFile Staged)> AttemptAsync(Uri address, string blob, string incomplete, HubFileMetadata metadata, string subject,
        IProgress<TransferProgress>? progress, CancellationToken cancellationToken)
    {
        var held = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
        if (held > metadata.Size)
        {
            held = 0;
        }

        long copied = 0;
        long offset = 0;
        try
        {
            if (held == metadata.Size && held > 0)
            {
                // Killed after the last byte but before the rename: verify what is there instead of asking for nothing.
                using var complete = await StagedFile.OpenAsync(blob, incomplete, held, HubNames.IsSha256(metadata.BlobId) ? null : GitBlobHash.Start(metadata.Size), FileShare.None, cancellationToken).ConfigureAwait(false);
                await complete.CompleteAsync(cancellationToken).ConfigureAwait(false);
                Verify(complete, metadata, subject, incomplete, fromResume: true);
                return (0, held, complete);
            }

            var (response, answered) = await _client.GetAsync(address, held, subject, cancellationToken).ConfigureAwait(false);
            using (response)
            {
                var location = HubClient.Redact(answered);
                if (response.StatusCode == HttpStatusCode.PartialContent)
                {
                    if (response.Content.Headers.ContentRange?.From != held)
                    {
                        throw TransferException.Transient("UnexpectedContentRange",
                            $"{location} answered a resume of {subject} with an unexpected range ({response.Content.Headers.ContentRange}); starting again.", "None needed.", keepPartial: false);
                    }

                    offset = held;
                }

                if (metadata.Size > _network.MaxDownloadSize)
                {
                    throw TransferException.DeclaredTooLong(location, subject, metadata.Size, _network.MaxDownloadSize);
                }

                // The hub's size is the cap (one byte more is ContentTooLong) and is checked against the free space first.
                var limits = DownloadCaps.For(subject, incomplete, offset, null, metadata.Size, location, _network);
                // The id is a SHA-256 (LFS) or a git blob SHA-1: the staged file hashes both ways in one pass.
                var staged = await StagedFile.OpenAsync(blob, incomplete, offset, HubNames.IsSha256(metadata.BlobId) ? null : GitBlobHash.Start(metadata.Size), FileShare.None, cancellationToken).ConfigureAwait(false);
                try
                {
                    _network.FileSystem.Preallocate(staged.Stream, offset, metadata.Size - offset);
                    progress?.Report(new TransferProgress(subject, TransferPhase.Downloading, offset, metadata.Size, location));
                    using var body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
                    copied = await HashingCopier.CopyAsync(body, staged.Stream, staged.Hashes, offset, limits,
                        bytes => progress?.Report(new TransferProgress(subject, TransferPhase.Downloading, bytes, metadata.Size, location)),
                        location, cancellationToken).ConfigureAwait(false);
                    await staged.CompleteAsync(cancellationToken).ConfigureAwait(false);
                    if (offset + copied < metadata.Size)
                    {
                        throw TransferException.Transient("DownloadInterrupted",
                            $"{location} ended {subject} after {offset + copied} of {metadata.Size} bytes.", "Retry; the partial download is kept and resumed.");
                    }

                    Verify(staged, metadata, subject, location, fromResume: offset > 0);
                    return (copied, offset, staged);
                }
                finally
                {
                    staged.Dispose(); // closed; kept for a resume unless deleted below
                }
            }
        }
        catch (TransferException ex) when (!ex.KeepPartial)
        {
            FileCleanup.TryDelete(incomplete);
            throw;
        }
        catch (IOException ex) when (TransferException.IsDiskFull(ex))
        {
            FileCleanup.TryDelete(incomplete);
            throw TransferException.DiskFull(incomplete, ex);
        }
        catch (NotARegularFileException ex)
        {
            throw CacheIOFailure.NotARegularFile(ex, subject);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("CacheWriteFailed", ModelCacheErrorKind.WriteError,
                $"Cannot write {subject} to '{incomplete}': {ex.Message}", "Check permissions and free space, or choose another hub cache root (HF_HUB_CACHE).", ex);
        }
    }

    /// <summary>The blob id is the hash of its content: SHA-256 for LFS files, a git blob SHA-1 for the others.</summary>
    private static void Verify(StagedFile staged, HubFileMetadata metadata, string subject, string location, bool fromResume)
    {
        var actual = HubNames.IsSha256(metadata.BlobId) ? staged.Sha256! : staged.ExtraHash!;
        if (!string.Equals(actual, metadata.BlobId, StringComparison.Ordinal))
        {
            throw Mismatch(subject, location, metadata.BlobId, actual, fromResume);
        }
    }

    private static TransferException Mismatch(string subject, string location, string expected, string actual, bool resumed) => resumed
        // The kept prefix may be what is wrong: one clean restart before calling the hub wrong.
        ? TransferException.Transient("ResumedHashMismatch", $"{subject} did not verify after resuming from {location}; starting again from the beginning.", "None needed.", keepPartial: false)
        : TransferException.BadContent("HubBlobHashMismatch",
            $"The bytes {location} sent for {subject} do not match the id the hub gave them: {(HubNames.IsSha256(expected) ? "SHA-256" : "git blob SHA-1")} {actual}, expected {expected}. Nothing was saved.",
            "The hub, a mirror (HF_ENDPOINT) or a proxy in between serves damaged or different bytes: retry later, or check HF_ENDPOINT and the proxy.");
}
