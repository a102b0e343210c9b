using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.Store;

namespace ModelCache.Transfer;

/// <summary>
/// Makes a model present and verified in a cache: a valid cached file is returned without touching
/// the network; a corrupt one is reported and fetched again (uniface behaviour); a missing one is
/// fetched from the planned sources, hashed while written and promoted only when it verifies.
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

    /// <summary>How long a read may wait for the next bytes before the transfer counts as stalled.</summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long to wait for another process that is saving the same model.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <param name="model">The model to save.</param>
    /// <param name="force">Fetch again even when the cached copy is valid.</param>
    /// <param name="progress">Byte-level progress; called from worker threads.</param>
    /// <param name="warn">Receives warnings (corrupt file replaced, waiting for a lock, a source that failed).</param>
    /// <param name="cancellationToken">Stops the transfer, leaving nothing under the final name.</param>
    public async Task<ModelCacheEntry> SaveAsync(ModelDefinition model, bool force, IProgress<TransferProgress>? progress, Action<string>? warn, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        _store.EnsureWritable();
        using var modelLock = await _store.LockAsync(model.Family, model.Member, LockTimeout,
            () => warn?.Invoke($"Waiting for another process that is saving {model.Name}…"), cancellationToken).ConfigureAwait(false);

        var finalPath = _store.GetModelPath(model);
        if (File.Exists(finalPath) && !force)
        {
            progress?.Report(new TransferProgress(model.Name, TransferPhase.Verifying, 0, new FileInfo(finalPath).Length, finalPath));
            var check = await HashVerifier.VerifyAsync(model.Name, finalPath, model.Sha256, null, cancellationToken).ConfigureAwait(false);
            if (check.IsValid)
            {
                var entry = _store.RecordVerification(model, check, used: true);
                return entry.WithTransfer(new TransferSummary(TransferSource.Cache, null, 0, false, clock.Elapsed));
            }

            warn?.Invoke($"The cached file of {model.Name} is corrupt (SHA-256 {check.Actual}, expected {model.Sha256}); downloading it again.");
        }

        var sources = _planner.Plan(model);
        if (sources.Count == 0)
        {
            throw OfflineUnavailable(model);
        }

        var failures = new List<ModelCacheException>();
        foreach (var source in sources)
        {
            try
            {
                return await FetchAsync(model, source, progress, clock, cancellationToken).ConfigureAwait(false);
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

        throw failures.Count == 1 ? failures[0] : AllSourcesFailed(model, failures);
    }

    private async Task<ModelCacheEntry> FetchAsync(ModelDefinition model, IModelSource source, IProgress<TransferProgress>? progress, Stopwatch clock, CancellationToken cancellationToken)
    {
        var partialPath = _store.GetPartialPath(model);
        var location = source.Locate(model);
        string actual;
        long written;
        try
        {
            using var content = await source.OpenAsync(model, cancellationToken).ConfigureAwait(false);
            var expectedLength = model.Size ?? content.Length;
            if (model.Size is { } catalogSize && content.Length is { } announced && announced != catalogSize)
            {
                throw Mismatch(model, location, $"the source announces {announced} bytes but the catalog says {catalogSize}");
            }

            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using (var output = new FileStream(_store.PreparePartial(model), FileMode.Create, FileAccess.Write, FileShare.None, Sha256Hasher.BufferSize, FileOptions.Asynchronous))
            {
                progress?.Report(new TransferProgress(model.Name, TransferPhase.Downloading, 0, expectedLength, location));
                written = await HashingCopier.CopyAsync(content.Content, output, hash,
                    bytes => progress?.Report(new TransferProgress(model.Name, TransferPhase.Downloading, bytes, expectedLength, location)),
                    StallTimeout, location, cancellationToken).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                output.Flush(true);
            }

            if (content.Length is { } length && written != length)
            {
                throw Mismatch(model, location, $"received {written} bytes but the source announced {length}");
            }

            if (model.Size is { } size && written != size)
            {
                throw Mismatch(model, location, $"received {written} bytes but the catalog says {size}");
            }

            actual = Sha256Hasher.ToHex(hash.GetHashAndReset());
            if (!string.Equals(actual, model.Sha256, StringComparison.Ordinal))
            {
                throw Mismatch(model, location, $"the SHA-256 is {actual}, expected {model.Sha256}");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            DeleteQuietly(partialPath);
            throw new ModelCacheException("CacheWriteFailed", ModelCacheErrorKind.WriteError,
                $"Cannot write {model.Name} to '{partialPath}': {ex.Message}", "Free disk space or choose another cache root with -Path.", ex);
        }
        catch
        {
            DeleteQuietly(partialPath);
            throw;
        }

        var entry = _store.Commit(model, partialPath, actual, location);
        progress?.Report(new TransferProgress(model.Name, TransferPhase.Completed, written, written, location));
        return entry.WithTransfer(new TransferSummary(source.Kind, location, written, false, clock.Elapsed));
    }

    private ModelCacheException OfflineUnavailable(ModelDefinition model) => new(
        "ModelNotAvailableOffline", ModelCacheErrorKind.ResourceUnavailable,
        $"{model.Name} ({model.FileName}) is not in the cache at '{_store.GetModelPath(model)}' and downloads are disabled ({(_planner.Offline ? "offline mode" : "mirror-only mode with no usable mirror")}).",
        $"On a connected machine run 'Save-Model {model.Name}' and copy the cache, point -Mirror or $env:MODELCACHE_MIRROR at a directory holding '{model.FileName}', or import a bundle with Import-ModelCache.");

    private static ModelCacheException Mismatch(ModelDefinition model, string location, string detail) => new(
        "HashMismatch", ModelCacheErrorKind.InvalidData,
        $"The file downloaded for {model.Name} from {location} is not the expected model: {detail}. Nothing was saved.",
        "The source serves a different or damaged file: check the mirror's copy, or update the catalog entry if upstream changed the file.");

    private static ModelCacheException AllSourcesFailed(ModelDefinition model, IReadOnlyList<ModelCacheException> failures) => new(
        failures.All(f => f.ErrorId == "HashMismatch") ? "HashMismatch" : "DownloadFailed",
        failures.All(f => f.ErrorId == "HashMismatch") ? ModelCacheErrorKind.InvalidData : ModelCacheErrorKind.ConnectionError,
        $"Every source failed for {model.Name}:" + string.Concat(failures.Select(f => Environment.NewLine + " - " + f.Message)),
        failures[failures.Count - 1].RecommendedAction,
        failures[failures.Count - 1]);

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover partial is never mistaken for a model and is overwritten next time.
        }
    }
}
