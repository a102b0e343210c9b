using System;
using System.IO;
using System.Net;
using System.Security.Cryptography;
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
        if (CacheFiles.IsLink(incomplete))
        {
            File.Delete(incomplete); // a planted link: removed itself, never written through
        }

        // Pinned to the commit, so a branch that moves between HEAD and GET cannot mix two files.
        var address = _client.ResolveUri(folder.Repo, metadata.Commit, path);
        long transferred = 0;
        var resumed = false;
        var retry = RetryPolicy.Create(_network, (failure, attempt, delay) =>
            warn?.Invoke($"{failure.Message} Retrying in {delay.TotalSeconds:0.#} s (retry {attempt - 1} of {_network.RetryCount})."));
        await retry.ExecuteAsync(async token =>
        {
            var (bytes, fromOffset) = await AttemptAsync(address, incomplete, metadata, subject, progress, token).ConfigureAwait(false);
            transferred += bytes;
            resumed |= fromOffset > 0;
        }, cancellationToken).ConfigureAwait(false);

        AtomicFile.Promote(incomplete, folder.Blob(metadata.BlobId));
        return (transferred, resumed);
    }

    private async Task<(long Copied, long Offset)> AttemptAsync(Uri address, string incomplete, HubFileMetadata metadata, string subject,
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
                await VerifyAsync(incomplete, metadata, subject, fromResume: true, cancellationToken).ConfigureAwait(false);
                return (0, held);
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
                using var hash = GitBlobHash.ForBlobId(metadata.BlobId, metadata.Size);
                using var output = RegularFile.Open(incomplete, offset > 0 ? FileMode.Open : FileMode.Create, FileAccess.ReadWrite, FileShare.None, Sha256Hasher.BufferSize, FileOptions.Asynchronous);
                output.SetLength(offset);
                _network.FileSystem.Preallocate(output, offset, metadata.Size - offset);
                if (await Sha256Hasher.AppendAsync(output, hash, offset, null, cancellationToken).ConfigureAwait(false) != offset)
                {
                    throw new IOException($"'{incomplete}' is shorter than it was a moment ago.");
                }

                progress?.Report(new TransferProgress(subject, TransferPhase.Downloading, offset, metadata.Size, location));
                using var body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
                copied = await HashingCopier.CopyAsync(body, output, hash, offset, limits,
                    bytes => progress?.Report(new TransferProgress(subject, TransferPhase.Downloading, bytes, metadata.Size, location)),
                    location, cancellationToken).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                output.Flush(true);
                if (offset + copied < metadata.Size)
                {
                    throw TransferException.Transient("DownloadInterrupted",
                        $"{location} ended {subject} after {offset + copied} of {metadata.Size} bytes.", "Retry; the partial download is kept and resumed.");
                }

                var actual = Sha256Hasher.ToHex(hash.GetHashAndReset());
                if (!string.Equals(actual, metadata.BlobId, StringComparison.Ordinal))
                {
                    throw Mismatch(subject, location, metadata.BlobId, actual, offset > 0);
                }
            }

            return (copied, offset);
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

    private static async Task VerifyAsync(string file, HubFileMetadata metadata, string subject, bool fromResume, CancellationToken cancellationToken)
    {
        using var stream = RegularFile.Open(file, FileMode.Open, FileAccess.Read, FileShare.Read, Sha256Hasher.BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        using var hash = GitBlobHash.ForBlobId(metadata.BlobId, stream.Length);
        await Sha256Hasher.AppendAsync(stream, hash, long.MaxValue, null, cancellationToken).ConfigureAwait(false);
        var actual = Sha256Hasher.ToHex(hash.GetHashAndReset());
        if (!string.Equals(actual, metadata.BlobId, StringComparison.Ordinal))
        {
            throw Mismatch(subject, file, metadata.BlobId, actual, fromResume);
        }
    }

    private static TransferException Mismatch(string subject, string location, string expected, string actual, bool resumed) => resumed
        // The kept prefix may be what is wrong: one clean restart before calling the hub wrong.
        ? TransferException.Transient("ResumedHashMismatch", $"{subject} did not verify after resuming from {location}; starting again from the beginning.", "None needed.", keepPartial: false)
        : TransferException.BadContent("HubBlobHashMismatch",
            $"The bytes {location} sent for {subject} do not match the id the hub gave them: {(HubNames.IsSha256(expected) ? "SHA-256" : "git blob SHA-1")} {actual}, expected {expected}. Nothing was saved.",
            "The hub, a mirror (HF_ENDPOINT) or a proxy in between serves damaged or different bytes: retry later, or check HF_ENDPOINT and the proxy.");
}
