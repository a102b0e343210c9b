using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Transfer;
using ModelCache.Catalog;
using ModelCache.IO;

namespace ModelCache.HuggingFace;

/// <summary>
/// Saves hub files into a hub cache in the hub's own layout, interoperating with huggingface_hub and
/// the JavaScript client: resolve (HEAD) → blob download under the hub's <c>.locks/</c> lock, resumed,
/// retried and verified against its id before promotion → snapshot link (or copy) → <c>refs/</c>.
/// Offline, files are served from the cache by <c>refs/&lt;revision&gt;</c> → <c>snapshots/&lt;commit&gt;/&lt;path&gt;</c>.
/// </summary>
public sealed class HubDownloader : IDisposable
{
    private readonly Lazy<HttpClient> _http;
    private readonly NetworkOptions _network;

    /// <param name="settings">Root, endpoint, token, offline and link settings; usually <see cref="HubSettings.FromEnvironment"/>.</param>
    /// <param name="network">Proxy, timeouts and retries; defaults when null. Its mirror credential is not used: the hub gets <see cref="HubSettings.Token"/>.</param>
    /// <param name="environment">Where HTTPS_PROXY / NO_PROXY are read; the process environment when null.</param>
    public HubDownloader(HubSettings settings, NetworkOptions? network = null, IEnvironment? environment = null)
    {
        Settings = settings;
        _network = network ?? new NetworkOptions();
        var proxySource = environment ?? SystemEnvironment.Instance;
        _http = new Lazy<HttpClient>(() => SourcePlanner.CreateClient(_network, proxySource));
    }

    public HubSettings Settings { get; }

    /// <summary>How long to wait for another process (ModelCache or a Python client) downloading the same blob.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <param name="repo">The repository, <c>org/name</c> (models; see the overload for other types).</param>
    /// <param name="path">The file's path in the repository, <c>/</c>-separated.</param>
    /// <param name="revision">Branch, tag or commit id; <c>main</c> when null.</param>
    /// <param name="force">Download again even when the cached blob is valid.</param>
    /// <param name="progress">Byte-level progress; called from worker threads.</param>
    /// <param name="warn">Retries, a corrupt cached blob replaced, waiting for a lock.</param>
    /// <param name="cancellationToken">Stops the transfer, keeping <c>blobs/&lt;id&gt;.incomplete</c> (or, for a blob fetched in segments, <c>blobs/&lt;id&gt;.partial</c>) for a later resume.</param>
    public Task<HubDownloadResult> DownloadAsync(string repo, string path, string? revision = null, bool force = false,
        IProgress<TransferProgress>? progress = null, Action<string>? warn = null, CancellationToken cancellationToken = default) =>
        DownloadAsync(new HubFileReference(HubRepoId.Parse(repo), path, revision), force, progress, warn, cancellationToken);

    public async Task<HubDownloadResult> DownloadAsync(HubFileReference file, bool force = false, IProgress<TransferProgress>? progress = null,
        Action<string>? warn = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var folder = new HubRepoFolder(Settings.CacheRoot, file.Repo);
        var subject = file.ToString();
        try
        {
            if (Settings.Offline)
            {
                return await FromCacheOfflineAsync(folder, file, progress, clock, cancellationToken).ConfigureAwait(false);
            }

            var client = new HubClient(_http.Value, Settings, _network.Timeout);
            var metadata = await GetMetadataWithRetriesAsync(client, file, warn, cancellationToken).ConfigureAwait(false);
            using var blobLock = await FileLock.AcquireAsync(folder.PrepareBlobLock(metadata.BlobId), LockTimeout, () =>
            {
                progress?.Report(new TransferProgress(subject, TransferPhase.Waiting, 0, metadata.Size, null));
                warn?.Invoke($"Waiting for another process that is downloading {subject}…");
            }, cancellationToken).ConfigureAwait(false);

            var transfer = new TransferSummary(TransferSource.Cache, null, 0, false, TimeSpan.Zero);
            if (force || !await IsBlobValidAsync(folder, metadata, subject, progress, warn, cancellationToken).ConfigureAwait(false))
            {
                var (bytes, resumed) = await new HubBlobWriter(client, _network).DownloadAsync(folder, metadata, file.File, subject, progress, warn, cancellationToken).ConfigureAwait(false);
                transfer = new TransferSummary(TransferSource.Upstream, metadata.Location, bytes, resumed, TimeSpan.Zero);
            }
            else
            {
                // Segments left by a cancelled run are of no use once the blob is there (huggingface_hub may have finished it).
                new PartialDownload(folder.SegmentedPartial(metadata.BlobId)).Delete();
            }

            await HubSnapshotWriter.WritePointerAsync(folder, metadata.Commit, file.File, metadata.BlobId, Settings.DisableSymlinks, cancellationToken).ConfigureAwait(false);
            if (!string.Equals(file.Revision, metadata.Commit, StringComparison.Ordinal))
            {
                HubSnapshotWriter.WriteRef(folder, file.Revision, metadata.Commit);
            }

            progress?.Report(new TransferProgress(subject, TransferPhase.Completed, metadata.Size, metadata.Size, metadata.Location));
            return new HubDownloadResult(Describe(folder, metadata.Commit, file.File),
                new TransferSummary(transfer.Source, transfer.SourceUrl, transfer.BytesTransferred, transfer.Resumed, clock.Elapsed));
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex) && !cancellationToken.IsCancellationRequested)
        {
            throw CacheIOFailure.From(ex, subject);
        }
    }

    public void Dispose()
    {
        if (_http.IsValueCreated)
        {
            _http.Value.Dispose();
        }
    }

    private async Task<HubFileMetadata> GetMetadataWithRetriesAsync(HubClient client, HubFileReference file, Action<string>? warn, CancellationToken cancellationToken)
    {
        var retry = RetryPolicy.Create(_network, (failure, attempt, delay) =>
            warn?.Invoke($"{failure.Message} Retrying in {delay.TotalSeconds:0.#} s (retry {attempt - 1} of {_network.RetryCount})."));
        return await retry.ExecuteAsync(
            async token => await client.GetMetadataAsync(file.Repo, file.Revision, file.File, token).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>True when <c>blobs/&lt;id&gt;</c> is there and hashes to its id; a corrupt one is reported and replaced.</summary>
    private static async Task<bool> IsBlobValidAsync(HubRepoFolder folder, HubFileMetadata metadata, string subject, IProgress<TransferProgress>? progress,
        Action<string>? warn, CancellationToken cancellationToken)
    {
        var blob = folder.Blob(metadata.BlobId);
        if (CacheFiles.IsLink(blob))
        {
            File.Delete(blob); // planted: the link goes, the blob is downloaded again
            return false;
        }

        if (!File.Exists(blob))
        {
            return false;
        }

        progress?.Report(new TransferProgress(subject, TransferPhase.Verifying, 0, metadata.Size, blob));
        var actual = await GitBlobHash.HashFileAsync(blob, metadata.BlobId, cancellationToken).ConfigureAwait(false);
        if (actual == metadata.BlobId)
        {
            return true;
        }

        warn?.Invoke($"The cached blob of {subject} at '{blob}' is corrupt (hash {actual}, expected {metadata.BlobId}); downloading it again.");
        return false;
    }

    private async Task<HubDownloadResult> FromCacheOfflineAsync(HubRepoFolder folder, HubFileReference file, IProgress<TransferProgress>? progress,
        Stopwatch clock, CancellationToken cancellationToken)
    {
        var subject = file.ToString();
        var commit = HubNames.IsCommitId(file.Revision) ? file.Revision : HubCacheScanner.ReadRef(folder, file.Revision);
        var entry = commit is null ? null : HubCacheScanner.Scan(folder.CacheRoot, folder.Repo, cancellationToken).Entries
            .FirstOrDefault(e => e.Revision == commit && e.FilePath == file.File);
        if (entry is null)
        {
            throw new ModelCacheException("HubFileNotAvailableOffline", ModelCacheErrorKind.ResourceUnavailable,
                $"{subject} is not in the hub cache '{folder.CacheRoot}'" + (commit is null ? $" (no refs/{file.Revision} there)" : $" (no snapshots/{commit}/{file.File} there)")
                + " and downloads are disabled (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE / -Offline).",
                $"On a connected machine run 'Save-Model -HuggingFaceRepo {file.Repo} -File {file.File} -Revision {file.Revision}', then copy its hub cache here (or point HF_HUB_CACHE at it).");
        }

        progress?.Report(new TransferProgress(subject, TransferPhase.Verifying, 0, entry.Size, entry.BlobPath));
        var check = await HubCacheBackend.VerifyAsync(entry, null, cancellationToken).ConfigureAwait(false);
        if (check.Status is HashStatus.Mismatch or HashStatus.Missing)
        {
            throw new ModelCacheException("HubCachedFileCorrupt", ModelCacheErrorKind.InvalidData,
                $"The cached blob of {subject} at '{check.Path}' is {(check.Status == HashStatus.Missing ? "missing" : $"corrupt (hash {check.Actual}, expected {check.Expected})")}, and downloads are disabled.",
                $"Connect and run 'Save-Model -HuggingFaceRepo {file.Repo} -File {file.File} -Revision {file.Revision}' again, or copy a good hub cache here.");
        }

        progress?.Report(new TransferProgress(subject, TransferPhase.Completed, 0, 0, entry.SnapshotPath));
        return new HubDownloadResult(entry, new TransferSummary(TransferSource.Cache, null, 0, false, clock.Elapsed));
    }

    private static HubCacheEntry Describe(HubRepoFolder folder, string commit, string path) =>
        HubCacheScanner.Scan(folder.CacheRoot, folder.Repo).Entries.FirstOrDefault(e => e.Revision == commit && e.FilePath == path)
        ?? throw new ModelCacheException("HubCacheEntryVanished", ModelCacheErrorKind.NotFound,
            $"{folder.Repo}@{commit}:{path} was saved but is no longer in '{folder.CacheRoot}' (another process may have removed it).", "Run the command again.");
}
