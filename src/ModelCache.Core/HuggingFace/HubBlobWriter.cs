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
/// <remarks>
/// A large LFS blob whose storage serves byte ranges is fetched in segments by the one engine (<see cref="SegmentedDownload"/>,
/// as <see cref="ModelSaver"/> does for catalog models) into <c>blobs/&lt;id&gt;.partial</c> (see
/// <see cref="HubRepoFolder.SegmentedPartial"/> for why not <c>.incomplete</c>); a later run fetches only its missing ranges.
/// A storage that ignores or misstates ranges is read again over one connection. An existing <c>.incomplete</c> (written by
/// huggingface_hub, or by a one-connection run) is resumed from its length over one connection, as huggingface_hub does.
/// </remarks>
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
        var target = new Target(folder.Blob(metadata.BlobId), folder.Incomplete(metadata.BlobId), new PartialDownload(folder.SegmentedPartial(metadata.BlobId)),
            // Pinned to the commit, so a branch that moves between HEAD and GET cannot mix two files.
            _client.ResolveUri(folder.Repo, metadata.Commit, path));
        var tally = new Tally();
        var retry = RetryPolicy.Create(_network, (failure, attempt, delay) =>
            warn?.Invoke($"{failure.Message} Retrying in {delay.TotalSeconds:0.#} s (retry {attempt - 1} of {_network.RetryCount})."));
        await retry.ExecuteAsync(async token =>
        {
            try
            {
                await AttemptAsync(target, metadata, subject, tally, progress, warn, token).ConfigureAwait(false);
            }
            catch (SegmentRefusedException refused) when (!token.IsCancellationRequested)
            {
                // Never a mixed file: what the segments wrote is dropped, and the blob is read again from the start over one connection.
                warn?.Invoke($"{refused.Message}; downloading {subject} again from the start over one connection.");
                target.Segmented.Delete();
                tally.OneStream = true;
                await AttemptAsync(target, metadata, subject, tally, progress, warn, token).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);

        return (tally.Transferred, tally.Resumed);
    }

    /// <summary>One attempt: resumes what a previous run left (segments, else a contiguous <c>.incomplete</c>), fetches the rest, verifies and promotes.</summary>
    private async Task AttemptAsync(Target target, HubFileMetadata metadata, string subject, Tally tally, IProgress<TransferProgress>? progress,
        Action<string>? warn, CancellationToken cancellationToken)
    {
        var incomplete = target.Incomplete;
        var segmented = target.Segmented;
        var validator = HubClient.BlobValidator(metadata.BlobId);
        // The segments' state is keyed by the blob, not the URL: the id names the bytes, whichever commit or path resolved them.
        var stateKey = validator;
        // The engine hashes SHA-256 only: git blob ids name small files, below the segmented size anyway.
        var canSegment = HubNames.IsSha256(metadata.BlobId) && !tally.OneStream;
        var writingSegments = false;
        try
        {
            if (CacheFiles.IsLink(segmented.Path))
            {
                File.Delete(segmented.Path); // planted: removed, never written through
            }

            var resume = canSegment ? segmented.ResumePointFor(stateKey) : null;
            var done = resume is not null && resume.Validator == validator ? segmented.SegmentsFor(stateKey) : null;
            if (done is null)
            {
                segmented.Delete(); // none, or not to be trusted for this blob
            }
            else if (done.PrefixEnd == metadata.Size)
            {
                // Killed after the last segment but before the rename: verify what is there instead of asking for nothing.
                writingSegments = true;
                await PromoteCompleteAsync(target.Blob, segmented.Path, metadata, subject, cancellationToken).ConfigureAwait(false);
                segmented.DeleteState();
                tally.Resumed = true;
                return;
            }

            var held = done is null && File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
            if (held > metadata.Size)
            {
                held = 0;
            }

            if (done is null && held == metadata.Size && held > 0)
            {
                await PromoteCompleteAsync(target.Blob, incomplete, metadata, subject, cancellationToken).ConfigureAwait(false);
                tally.Resumed = true;
                return;
            }

            if (metadata.Size > _network.MaxDownloadSize)
            {
                throw TransferException.DeclaredTooLong(HubClient.Redact(target.Address), subject, metadata.Size, _network.MaxDownloadSize);
            }

            using var content = await _client.OpenBlobAsync(target.Address, metadata.Size, validator, done?.PrefixEnd ?? held, null, subject, cancellationToken).ConfigureAwait(false);
            if (done is not null && (content.Offset != done.PrefixEnd || content.OpenRange is null))
            {
                // The storage no longer honours ranges: the blob is written from this answer over one connection.
                segmented.Delete();
                done = null;
            }
            else if (done is null && content.Offset == 0 && canSegment && SegmentedDownload.CanSegment(content, metadata.Size, _network))
            {
                // Starts over this one connection; more are opened only once its rate shows they would pay (SegmentedDownload).
                FileCleanup.TryDelete(incomplete);
                done = new RangeSet();
            }

            if (done is not null)
            {
                writingSegments = true;
                await WriteSegmentsAsync(target, content, done, metadata, subject, stateKey, validator, tally, progress, warn, cancellationToken).ConfigureAwait(false);
                return;
            }

            await WriteOneStreamAsync(target, content, metadata, subject, tally, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (TransferException ex) when (!ex.KeepPartial)
        {
            Drop(target, writingSegments);
            throw;
        }
        catch (IOException ex) when (TransferException.IsDiskFull(ex))
        {
            Drop(target, writingSegments);
            throw TransferException.DiskFull(writingSegments ? segmented.Path : incomplete, ex);
        }
        catch (NotARegularFileException ex)
        {
            throw CacheIOFailure.NotARegularFile(ex, subject);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("CacheWriteFailed", ModelCacheErrorKind.WriteError,
                $"Cannot write {subject} to '{(writingSegments ? segmented.Path : incomplete)}': {ex.Message}", "Check permissions and free space, or choose another hub cache root (HF_HUB_CACHE).", ex);
        }
    }

    private static void Drop(Target target, bool segments)
    {
        if (segments)
        {
            target.Segmented.Delete();
        }
        else
        {
            FileCleanup.TryDelete(target.Incomplete);
        }
    }

    /// <summary>A work file that already holds every byte: hashed, flushed, and promoted only when it is the blob.</summary>
    private static async Task PromoteCompleteAsync(string blob, string work, HubFileMetadata metadata, string subject, CancellationToken cancellationToken)
    {
        using var complete = await StagedFile.OpenAsync(blob, work, metadata.Size, HubNames.IsSha256(metadata.BlobId) ? null : GitBlobHash.Start(metadata.Size), FileShare.None, cancellationToken).ConfigureAwait(false);
        await complete.CompleteAsync(cancellationToken).ConfigureAwait(false);
        Verify(complete, metadata, subject, work, fromResume: true);
        complete.Promote();
    }

    /// <summary>The answer's body appended to <c>.incomplete</c> from its offset, the whole file hashed (both ways for a git blob id).</summary>
    private async Task WriteOneStreamAsync(Target target, SourceContent content, HubFileMetadata metadata, string subject, Tally tally,
        IProgress<TransferProgress>? progress, CancellationToken cancellationToken)
    {
        var offset = content.Offset;
        var location = content.Location;
        // The hub's size is the cap (one byte more is ContentTooLong) and is checked against the free space first.
        var limits = DownloadCaps.For(subject, target.Incomplete, offset, null, metadata.Size, location, _network);
        // The id is a SHA-256 (LFS) or a git blob SHA-1: the staged file hashes both ways in one pass.
        using var staged = await StagedFile.OpenAsync(target.Blob, target.Incomplete, offset, HubNames.IsSha256(metadata.BlobId) ? null : GitBlobHash.Start(metadata.Size), FileShare.None, cancellationToken).ConfigureAwait(false);
        _network.FileSystem.Preallocate(staged.Stream, offset, metadata.Size - offset);
        progress?.Report(new TransferProgress(subject, TransferPhase.Downloading, offset, metadata.Size, location));
        var copied = await HashingCopier.CopyAsync(content.Content, staged.Stream, staged.Hashes, offset, limits,
            bytes => progress?.Report(new TransferProgress(subject, TransferPhase.Downloading, bytes, metadata.Size, location)),
            location, cancellationToken).ConfigureAwait(false);
        await staged.CompleteAsync(cancellationToken).ConfigureAwait(false);
        if (offset + copied < metadata.Size)
        {
            throw TransferException.Transient("DownloadInterrupted",
                $"{location} ended {subject} after {offset + copied} of {metadata.Size} bytes.", "Retry; the partial download is kept and resumed.");
        }

        Verify(staged, metadata, subject, location, fromResume: offset > 0);
        staged.Promote();
        tally.Transferred += copied;
        tally.Resumed |= offset > 0;
    }

    /// <summary>
    /// Several connections fill <c>blobs/&lt;id&gt;.partial</c> (<see cref="SegmentedDownload"/>), its complete ranges recorded as
    /// they go; then the verification of one stream: the SHA-256 of the whole file against the id, fsync, and only then the rename.
    /// </summary>
    private async Task WriteSegmentsAsync(Target target, SourceContent content, RangeSet done, HubFileMetadata metadata, string subject, string stateKey,
        string validator, Tally tally, IProgress<TransferProgress>? progress, Action<string>? warn, CancellationToken cancellationToken)
    {
        var size = metadata.Size;
        var partial = target.Segmented;
        var resumed = done.Total > 0;
        var limits = DownloadCaps.For(subject, partial.Path, done.Total, null, size, content.Location, _network);
        var engine = new SegmentedDownload(
            new SegmentedDownload.Job(partial.Path, size, validator, content.Location, subject, content.Host!, limits, _network, content.OpenRange!,
                set => partial.Describe(stateKey, validator, size, set))
            {
                Progress = progress,
                Warn = warn,
            },
            done);

        try
        {
            await engine.FillAsync(content, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            tally.Transferred += engine.Received;
        }

        if (!string.Equals(engine.Sha256, metadata.BlobId, StringComparison.Ordinal))
        {
            throw Mismatch(subject, content.Location, metadata.BlobId, engine.Sha256 ?? string.Empty, resumed);
        }

        partial.DeleteState();
        AtomicFile.Promote(partial.Path, target.Blob);
        // An .incomplete left beside it (an earlier one-connection run) is of no use once the blob is there.
        FileCleanup.TryDelete(target.Incomplete);
        tally.Resumed |= resumed;
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

    /// <summary>Where one blob is written, and the commit-pinned resolve URL its bytes come from.</summary>
    private sealed class Target
    {
        public Target(string blob, string incomplete, PartialDownload segmented, Uri address)
        {
            Blob = blob;
            Incomplete = incomplete;
            Segmented = segmented;
            Address = address;
        }

        public string Blob { get; }

        /// <summary>The contiguous partial huggingface_hub also reads and resumes.</summary>
        public string Incomplete { get; }

        /// <summary>The partial written in segments, with its range state.</summary>
        public PartialDownload Segmented { get; }

        public Uri Address { get; }
    }

    /// <summary>What the attempts for one blob added up to.</summary>
    private sealed class Tally
    {
        public long Transferred { get; set; }

        public bool Resumed { get; set; }

        /// <summary>The storage refused segments once: the rest of the attempts use one connection.</summary>
        public bool OneStream { get; set; }
    }
}
