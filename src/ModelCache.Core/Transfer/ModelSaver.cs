using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Primitives;
using ModelCache.Store;

namespace ModelCache.Transfer;

/// <summary>
/// Makes models present and verified in a cache. A valid cached file is returned without touching
/// the network; a corrupt one is reported and fetched again (uniface behaviour); a missing one is
/// fetched from the planned sources — resuming a partial download where the source allows,
/// retrying transient failures — hashed in full and promoted only when it verifies. A per-model
/// OS lock makes concurrent savers, in any process, share one transfer.
/// </summary>
public sealed class ModelSaver
{
    private readonly CacheStore _store;
    private readonly SourcePlanner _planner;

    public ModelSaver(CacheStore store, SourcePlanner planner)
    {
        _store = store;
        _planner = planner;
    }

    /// <summary>How long to wait for another process that is saving the same model.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(30);

    private NetworkOptions Network => _planner.Network;

    /// <summary>Saves <paramref name="models"/> concurrently, at most <paramref name="throttleLimit"/> at a time.</summary>
    /// <param name="onSaved">Called as each model finishes, with its entry or its failure; from worker threads.</param>
    public async Task SaveAllAsync(IReadOnlyList<ModelDefinition> models, int throttleLimit, bool force, IProgress<TransferProgress>? progress,
        Action<string>? warn, Action<ModelDefinition, ModelCacheEntry?, ModelCacheException?> onSaved, CancellationToken cancellationToken)
    {
        using var gate = new SemaphoreSlim(Math.Max(1, throttleLimit));
        var work = models.Select(async model =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                onSaved(model, await SaveAsync(model, force, progress, warn, cancellationToken).ConfigureAwait(false), null);
            }
            catch (ModelCacheException ex)
            {
                onSaved(model, null, ex);
            }
            catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex) && !cancellationToken.IsCancellationRequested)
            {
                // One model's file-system trouble (e.g. a folder where its file should be) fails that model, not the batch.
                onSaved(model, null, CacheIOFailure.From(ex, model.Name));
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(work).ConfigureAwait(false);
    }

    /// <param name="model">The model to save.</param>
    /// <param name="force">Fetch again even when the cached copy is valid.</param>
    /// <param name="progress">Byte-level progress; called from worker threads.</param>
    /// <param name="warn">Receives warnings (corrupt file replaced, waiting for a lock, retries, a source that failed).</param>
    /// <param name="cancellationToken">Stops the transfer, keeping the partial file for a later resume.</param>
    public Task<ModelCacheEntry> SaveAsync(ModelDefinition model, bool force, IProgress<TransferProgress>? progress, Action<string>? warn, CancellationToken cancellationToken) =>
        SaveAsync(model, null, force, progress, warn, cancellationToken);

    /// <summary>
    /// Like <see cref="SaveAsync(ModelDefinition, bool, IProgress{TransferProgress}?, Action{string}?, CancellationToken)"/>, but reads
    /// from <paramref name="sources"/> instead of the planned ones (an import from a bundle), through the same lock, staging,
    /// verification and promotion.
    /// </summary>
    public Task<ModelCacheEntry> SaveFromAsync(ModelDefinition model, IReadOnlyList<IModelSource> sources, bool force, IProgress<TransferProgress>? progress,
        Action<string>? warn, CancellationToken cancellationToken) =>
        SaveAsync(model, sources, force, progress, warn, cancellationToken);

    private async Task<ModelCacheEntry> SaveAsync(ModelDefinition model, IReadOnlyList<IModelSource>? givenSources, bool force, IProgress<TransferProgress>? progress,
        Action<string>? warn, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        _store.EnsureContained(model);
        if (_store.CheckWritable() is { } notWritable)
        {
            // A machine-wide cache, a read-only share, a copy without write rights: a valid file is used as it is.
            return force ? throw notWritable : await UseReadOnlyCopyAsync(model, notWritable, progress, clock, cancellationToken).ConfigureAwait(false);
        }

        using var modelLock = await _store.LockAsync(model.Family, model.Member, LockTimeout, () =>
        {
            progress?.Report(new TransferProgress(model.Name, TransferPhase.Waiting, 0, null, null));
            warn?.Invoke($"Waiting for another process that is saving {model.Name}…");
        }, cancellationToken).ConfigureAwait(false);

        var finalPath = _store.GetModelPath(model);
        try
        {
            // A directory or FIFO there would take a whole download only to refuse the rename at the end.
            RegularFile.Check(finalPath);
        }
        catch (NotARegularFileException ex)
        {
            throw CacheIOFailure.NotARegularFile(ex, model.Name);
        }

        string? corruptHash = null;
        if (File.Exists(finalPath) && !force)
        {
            // Another process may have just saved it while we waited for the lock: this is where it is picked up.
            progress?.Report(new TransferProgress(model.Name, TransferPhase.Verifying, 0, new FileInfo(finalPath).Length, finalPath));
            var check = (await _store.VerifyAsync(model, VerifyPolicy.HashAlways, null, null, cancellationToken).ConfigureAwait(false)).Result;
            if (check.IsValid)
            {
                _store.RemoveWorkFiles(model);
                progress?.Report(new TransferProgress(model.Name, TransferPhase.Completed, 0, 0, finalPath));
                var entry = _store.RecordVerification(model, check, used: true);
                return entry.WithTransfer(new TransferSummary(TransferSource.Cache, null, 0, false, clock.Elapsed));
            }

            corruptHash = check.Actual;
        }

        var sources = givenSources ?? _planner.Plan(model);
        if (sources.Count == 0)
        {
            throw HasNoUrl(model) ? NoSource(model, corruptHash, null) : OfflineUnavailable(model, corruptHash);
        }

        if (corruptHash is not null)
        {
            warn?.Invoke($"The cached file of {model.Name} is corrupt (SHA-256 {corruptHash}, expected {model.Sha256}); downloading it again.");
        }

        var failures = new List<ModelCacheException>();
        foreach (var source in sources)
        {
            try
            {
                return await FetchWithRetriesAsync(model, source, progress, warn, clock, cancellationToken).ConfigureAwait(false);
            }
            catch (ModelCacheException ex) when (!cancellationToken.IsCancellationRequested)
            {
                failures.Add(ex);
                if (source != sources[sources.Count - 1])
                {
                    warn?.Invoke($"{ex.Message} Trying the next source.");
                }
            }
        }

        if (HasNoUrl(model) && failures.All(f => f.ErrorId == "SourceFileNotFound"))
        {
            // No mirror had it and there is nowhere else to look: say so, rather than blame the last mirror.
            throw NoSource(model, corruptHash, failures.Count == 1 ? failures[0] : AllSourcesFailed(model, failures));
        }

        throw failures.Count == 1 ? failures[0] : AllSourcesFailed(model, failures);
    }

    private static bool HasNoUrl(ModelDefinition model) => model.Url is null && model.HuggingFace is null;

    /// <summary>
    /// A cache nobody may write to here: the model is used when its file is there and hashes right; nothing
    /// is written (no lock, no metadata). Otherwise <paramref name="notWritable"/>, saying why it cannot be saved.
    /// </summary>
    private async Task<ModelCacheEntry> UseReadOnlyCopyAsync(ModelDefinition model, ModelCacheException notWritable, IProgress<TransferProgress>? progress,
        Stopwatch clock, CancellationToken cancellationToken)
    {
        var path = _store.GetModelPath(model);
        if (!File.Exists(path) || CacheFiles.IsLink(path))
        {
            throw notWritable;
        }

        progress?.Report(new TransferProgress(model.Name, TransferPhase.Verifying, 0, new FileInfo(path).Length, path));
        var check = (await _store.VerifyAsync(model, VerifyPolicy.HashAlways, null, null, cancellationToken).ConfigureAwait(false)).Result;
        if (!check.IsValid)
        {
            throw new ModelCacheException("CacheRootNotWritable", ModelCacheErrorKind.PermissionDenied,
                $"The cached file of {model.Name} at '{path}' is {(check.Status == HashStatus.Missing ? "missing" : $"corrupt (SHA-256 {check.Actual}, expected {model.Sha256})")}, and the cache cannot be written to replace it: {notWritable.Message}",
                notWritable.RecommendedAction, notWritable);
        }

        progress?.Report(new TransferProgress(model.Name, TransferPhase.Completed, 0, 0, path));
        return _store.DescribeCheck(model, check).WithTransfer(new TransferSummary(TransferSource.Cache, null, 0, false, clock.Elapsed));
    }

    private async Task<ModelCacheEntry> FetchWithRetriesAsync(ModelDefinition model, IModelSource source, IProgress<TransferProgress>? progress,
        Action<string>? warn, Stopwatch clock, CancellationToken cancellationToken)
    {
        var partial = new PartialDownload(_store.PreparePartial(model));
        var tally = new Tally();
        var retry = RetryPolicy.Create(Network, (failure, attempt, delay) =>
            warn?.Invoke($"{failure.Message} Retrying in {delay.TotalSeconds:0.#} s (retry {attempt - 1} of {Network.RetryCount})."));
        return await retry.ExecuteAsync(
            async token => await AttemptAsync(model, source, partial, tally, progress, warn, clock, token).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
    }

    private async Task<ModelCacheEntry> AttemptAsync(ModelDefinition model, IModelSource source, PartialDownload partial, Tally tally,
        IProgress<TransferProgress>? progress, Action<string>? warn, Stopwatch clock, CancellationToken cancellationToken)
    {
        try
        {
            return await AttemptOnceAsync(model, source, partial, tally, progress, warn, clock, cancellationToken).ConfigureAwait(false);
        }
        catch (SegmentRefusedException refused) when (!cancellationToken.IsCancellationRequested)
        {
            // Never a mixed file: what the segments wrote is dropped, and this source is read again from the start over one connection.
            warn?.Invoke($"{refused.Message}; downloading {model.Name} again from the start over one connection.");
            partial.Delete();
            tally.OneStream = true;
            return await AttemptOnceAsync(model, source, partial, tally, progress, warn, clock, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<ModelCacheEntry> AttemptOnceAsync(ModelDefinition model, IModelSource source, PartialDownload partial, Tally tally,
        IProgress<TransferProgress>? progress, Action<string>? warn, Stopwatch clock, CancellationToken cancellationToken)
    {
        var location = source.Locate(model);
        if (await TryPromoteCompletePartialAsync(model, partial, location, cancellationToken).ConfigureAwait(false) is { } finished)
        {
            tally.Resumed = true;
            progress?.Report(new TransferProgress(model.Name, TransferPhase.Completed, finished.Size, finished.Size, location));
            return finished.WithTransfer(new TransferSummary(source.Kind, location, tally.Transferred, tally.Resumed, clock.Elapsed));
        }

        string actual;
        long fileLength;
        StagedFile? staged = null;
        try
        {
            var resume = partial.ResumePointFor(location);
            var segments = resume is null ? null : partial.SegmentsFor(location);
            using var content = await source.OpenAsync(model, resume, cancellationToken).ConfigureAwait(false);
            if (model.Size is { } catalogSize && content.TotalLength is { } announced && announced != catalogSize)
            {
                throw TransferException.BadContent("SizeMismatch",
                    $"{content.Location} announces {announced} bytes for {model.Name}, but the catalog says {catalogSize}. Nothing was saved.",
                    "The source serves a different file: check the mirror's copy, or update the catalog entry if upstream changed the file.");
            }

            var expectedLength = model.Size ?? content.TotalLength;
            var limits = DownloadCaps.For(model.Name, partial.Path, content.Offset, model.Size, content.TotalLength, content.Location, Network);
            if (segments is not null && (content.Offset != resume!.Offset || content.OpenRange is null))
            {
                // Not resumed where the segments left off (restarted, or no ranges now): the partial is rewritten from content.Offset over one connection.
                segments = null;
            }

            var body = content.Content;
            if (segments is null && !tally.OneStream && SegmentedDownload.CanSegment(content, expectedLength, Network))
            {
                // Starts over this one connection; more are opened only once its rate shows they would pay (SegmentedDownload).
                segments = new RangeSet();
                segments.Add(0, content.Offset);
            }

            if (segments is not null)
            {
                return await SaveSegmentedAsync(model, source, partial, tally, content, segments, expectedLength!.Value, limits, location, progress, warn, clock, cancellationToken).ConfigureAwait(false);
            }

            partial.Describe(location, content.Validator);
            tally.Resumed |= content.Offset > 0;
            // Shared for reading: the site server's pull-through streams the partial to clients while it grows. Other
            // writers are kept out by the model lock, not by the share mode.
            staged = await StagedFile.OpenAsync(_store.GetModelPath(model), partial.Path, content.Offset, null, FileShare.Read, cancellationToken).ConfigureAwait(false);
            if (expectedLength is { } size)
            {
                Network.FileSystem.Preallocate(staged.Stream, content.Offset, size - content.Offset);
            }

            progress?.Report(new TransferProgress(model.Name, TransferPhase.Downloading, content.Offset, expectedLength, content.Location));
            // Counted as bytes arrive, so attempts that fail half-way still show in the total.
            var before = tally.Transferred;
            var copied = await HashingCopier.CopyAsync(body, staged.Stream, staged.Hashes, content.Offset, limits,
                bytes =>
                {
                    tally.Transferred = before + (bytes - content.Offset);
                    progress?.Report(new TransferProgress(model.Name, TransferPhase.Downloading, bytes, expectedLength, content.Location));
                },
                content.Location, cancellationToken).ConfigureAwait(false);
            await staged.CompleteAsync(cancellationToken).ConfigureAwait(false);
            fileLength = content.Offset + copied;

            if (expectedLength is { } expected && fileLength < expected)
            {
                throw TransferException.Transient("DownloadInterrupted",
                    $"{content.Location} ended {model.Name} after {fileLength} of {expected} bytes.",
                    "Retry; the partial download is kept and resumed.");
            }

            actual = staged.Sha256!;
            if (!staged.Matches(model.Sha256))
            {
                if (content.Offset > 0)
                {
                    // The kept prefix may be what is wrong: one clean restart before calling the source bad.
                    throw TransferException.Transient("ResumedHashMismatch",
                        $"{model.Name} did not verify after resuming from {content.Location}; starting again from the beginning.", "None needed.", keepPartial: false);
                }

                throw TransferException.BadContent("HashMismatch",
                    $"The file downloaded for {model.Name} from {content.Location} is not the expected model: the SHA-256 is {actual}, expected {model.Sha256}. Nothing was saved.",
                    "The source serves a different or damaged file: check the mirror's copy, or update the catalog entry if upstream changed the file.");
            }
        }
        catch (TransferException ex)
        {
            staged?.Dispose();
            if (!ex.KeepPartial)
            {
                partial.Delete();
            }

            throw;
        }
        catch (IOException ex) when (TransferException.IsDiskFull(ex))
        {
            staged?.Dispose();
            partial.Delete();
            throw TransferException.DiskFull(partial.Path, ex);
        }
        catch (NotARegularFileException ex)
        {
            staged?.Dispose();
            partial.Delete();
            throw CacheIOFailure.NotARegularFile(ex, model.Name);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            staged?.Dispose();
            partial.Delete();
            throw new ModelCacheException("CacheWriteFailed", ModelCacheErrorKind.WriteError,
                $"Cannot write {model.Name} to '{partial.Path}': {ex.Message}", "Check permissions and free space, or choose another cache root with -CachePath.", ex);
        }
        finally
        {
            // Closed, and kept for a resume unless deleted above.
            staged?.Dispose();
        }

        partial.DeleteState();
        var entry = _store.Commit(model, staged!, location);
        progress?.Report(new TransferProgress(model.Name, TransferPhase.Completed, fileLength, fileLength, location));
        return entry.WithTransfer(new TransferSummary(source.Kind, location, tally.Transferred, tally.Resumed, clock.Elapsed));
    }

    /// <summary>
    /// The segmented path: several connections fill the partial (<see cref="SegmentedDownload"/>), recording the complete
    /// ranges as they go, and flush it (<see cref="SegmentedDownload.FillAsync"/>); then the same verification as one stream:
    /// the whole file's SHA-256 (hashed by the engine as the complete prefix grows) decides whether it is promoted.
    /// </summary>
    private async Task<ModelCacheEntry> SaveSegmentedAsync(ModelDefinition model, IModelSource source, PartialDownload partial, Tally tally, SourceContent content,
        RangeSet done, long size, CopyLimits limits, string location, IProgress<TransferProgress>? progress, Action<string>? warn, Stopwatch clock, CancellationToken cancellationToken)
    {
        var validator = content.Validator!;
        var resumed = done.Total > 0;
        tally.Resumed |= resumed;
        var engine = new SegmentedDownload(
            new SegmentedDownload.Job(partial.Path, size, validator, content.Location, model.Name, content.Host!, limits, Network, content.OpenRange!,
                set => partial.Describe(location, validator, size, set))
            {
                Progress = progress,
                Warn = warn,
            },
            done);
        var before = tally.Transferred;
        string sha256;
        try
        {
            try
            {
                await engine.FillAsync(content, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                tally.Transferred = before + engine.Received;
            }

            sha256 = engine.Sha256!;
            if (!string.Equals(sha256, model.Sha256.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                if (resumed)
                {
                    throw TransferException.Transient("ResumedHashMismatch",
                        $"{model.Name} did not verify after resuming from {content.Location}; starting again from the beginning.", "None needed.", keepPartial: false);
                }

                throw TransferException.BadContent("HashMismatch",
                    $"The file downloaded for {model.Name} from {content.Location} is not the expected model: the SHA-256 is {sha256}, expected {model.Sha256}. Nothing was saved.",
                    "The source serves a different or damaged file: check the mirror's copy, or update the catalog entry if upstream changed the file.");
            }
        }
        catch (TransferException ex)
        {
            if (!ex.KeepPartial)
            {
                partial.Delete();
            }

            throw;
        }
        catch (IOException ex) when (TransferException.IsDiskFull(ex))
        {
            partial.Delete();
            throw TransferException.DiskFull(partial.Path, ex);
        }
        catch (NotARegularFileException ex)
        {
            partial.Delete();
            throw CacheIOFailure.NotARegularFile(ex, model.Name);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            partial.Delete();
            throw new ModelCacheException("CacheWriteFailed", ModelCacheErrorKind.WriteError,
                $"Cannot write {model.Name} to '{partial.Path}': {ex.Message}", "Check permissions and free space, or choose another cache root with -CachePath.", ex);
        }

        partial.DeleteState();
        var entry = _store.Commit(model, partial.Path, sha256, location);
        progress?.Report(new TransferProgress(model.Name, TransferPhase.Completed, size, size, location));
        return entry.WithTransfer(new TransferSummary(source.Kind, location, tally.Transferred, tally.Resumed, clock.Elapsed));
    }

    /// <summary>
    /// A process killed after the last byte arrived but before promotion leaves a complete partial:
    /// asking the source for the bytes after the end would only earn a 416 and a full download.
    /// </summary>
    private async Task<ModelCacheEntry?> TryPromoteCompletePartialAsync(ModelDefinition model, PartialDownload partial, string location, CancellationToken cancellationToken)
    {
        // A segmented partial has its full length from the start: it is complete only when its state says so.
        if (model.Size is not { } size || partial.Length != size || partial.ResumePointFor(location) is not { } resume || resume.Offset != size)
        {
            return null;
        }

        using var staged = await StagedFile.OpenAsync(_store.GetModelPath(model), partial.Path, size, null, FileShare.Read, cancellationToken).ConfigureAwait(false);
        await staged.CompleteAsync(cancellationToken).ConfigureAwait(false);
        if (!staged.Matches(model.Sha256))
        {
            partial.Delete();
            return null;
        }

        partial.DeleteState();
        return _store.Commit(model, staged, location);
    }

    private ModelCacheException OfflineUnavailable(ModelDefinition model, string? corruptHash) => new(
        "ModelNotAvailableOffline", ModelCacheErrorKind.ResourceUnavailable,
        (corruptHash is null
            ? $"{model.Name} ({model.FileName}) is not in the cache at '{_store.GetModelPath(model)}'"
            : $"The cached file of {model.Name} at '{_store.GetModelPath(model)}' is corrupt (SHA-256 {corruptHash}, expected {model.Sha256})")
        + $" and downloads are disabled ({(_planner.Offline ? "offline mode" : "mirror-only mode with no usable mirror")}).",
        $"On a connected machine run 'Save-Model {model.Name}', then point -Mirror or $env:MODELCACHE_MIRROR at a copy of that cache root or at any directory holding '{model.FileName}'.");

    /// <summary>A model known only by its hash (imported without -Url) that neither the cache nor any mirror holds.</summary>
    private ModelCacheException NoSource(ModelDefinition model, string? corruptHash, ModelCacheException? mirrorFailure) => new(
        "ModelHasNoSource", ModelCacheErrorKind.ResourceUnavailable,
        (corruptHash is null
            ? $"{model.Name} ({model.FileName}) is not in the cache at '{_store.GetModelPath(model)}'"
            : $"The cached file of {model.Name} at '{_store.GetModelPath(model)}' is corrupt (SHA-256 {corruptHash}, expected {model.Sha256})")
        + $", {(mirrorFailure is null ? "no mirror is configured" : "no mirror holds it")}, and its catalog entry ('{model.Origin}') has no url to download it from.",
        $"Import the file again with 'Import-Model -LiteralPath <file> -Name {model.Name}', point -Mirror or $env:MODELCACHE_MIRROR at a folder holding '{model.FileName}', or add a \"url\" to its catalog entry.",
        mirrorFailure);

    private static ModelCacheException AllSourcesFailed(ModelDefinition model, IReadOnlyList<ModelCacheException> failures)
    {
        var last = failures[failures.Count - 1];
        var sameId = failures.All(f => f.ErrorId == last.ErrorId);
        return new ModelCacheException(sameId ? last.ErrorId : "DownloadFailed", sameId ? last.Kind : ModelCacheErrorKind.ConnectionError,
            $"Every source failed for {model.Name}:" + string.Concat(failures.Select(f => Environment.NewLine + " - " + f.Message)),
            last.RecommendedAction, last);
    }

    /// <summary>What the attempts for one source added up to.</summary>
    private sealed class Tally
    {
        public long Transferred { get; set; }

        public bool Resumed { get; set; }

        /// <summary>The source refused segments once: the rest of its attempts use one connection.</summary>
        public bool OneStream { get; set; }
    }
}
