using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Store;
using ModelCache.Transfer;
using ModelCache.Catalog;

namespace ModelCache.Bundles;

/// <summary>
/// Places the files of a bundle opened with <see cref="Bundle.OpenHub"/> into a hub cache as HubDownloader does:
/// under the hub's lock for the blob, staged as <c>blobs/&lt;id&gt;.incomplete</c>, verified (the manifest's SHA-256
/// and the blob id's own hash), promoted to <c>blobs/&lt;id&gt;</c>, then the snapshot pointer and the refs. Every
/// path comes from the names the manifest reader checked; nothing is written through a link.
/// </summary>
public sealed class HubBundleImporter
{
    private readonly Bundle _bundle;
    private readonly string _cacheRoot;
    private readonly bool _disableSymlinks;

    /// <param name="bundle">A bundle opened with <see cref="Bundle.OpenHub"/>.</param>
    /// <param name="cacheRoot">The hub cache root.</param>
    /// <param name="disableSymlinks">Snapshot files as copies (HF_HUB_DISABLE_SYMLINKS).</param>
    public HubBundleImporter(Bundle bundle, string cacheRoot, bool disableSymlinks)
    {
        _bundle = bundle;
        _cacheRoot = PathRules.FullPath(cacheRoot);
        _disableSymlinks = disableSymlinks;
    }

    /// <summary>How long to wait for another process (ModelCache or a Python client) writing the same blob.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Where the file goes: <c>snapshots/&lt;commit&gt;/&lt;path&gt;</c> of its repo.</summary>
    public string TargetOf(HubBundleFile file) => new HubRepoFolder(_cacheRoot, file.RepoId).SnapshotFile(file.Commit, file.FilePath);

    /// <summary>Where the file's bytes are read in the bundle.</summary>
    public string SourceOf(HubBundleFile file) => _bundle.Location + (_bundle.IsZip ? "!" : Path.DirectorySeparatorChar.ToString()) + file.Entry.FileName;

    /// <summary>Imports one file; Skipped when its blob is already there and valid (the pointer and refs are still made sure of).</summary>
    /// <param name="warn">A corrupt blob replaced, a ref moved, waiting for a lock.</param>
    public async Task<ModelImportResult> ImportAsync(HubBundleFile file, IProgress<TransferProgress>? progress, Action<string>? warn, CancellationToken cancellationToken)
    {
        var folder = new HubRepoFolder(_cacheRoot, file.RepoId);
        var newRepo = !Directory.Exists(folder.Path);
        try
        {
            using var blobLock = await FileLock.AcquireAsync(folder.PrepareBlobLock(file.BlobId), LockTimeout,
                () => warn?.Invoke($"Waiting for another process that is writing blob {file.BlobId} of {file.RepoId}…"), cancellationToken).ConfigureAwait(false);
            var present = await IsBlobValidAsync(folder, file, warn, cancellationToken).ConfigureAwait(false);
            var copied = present ? 0 : await StageAsync(folder, file, progress, cancellationToken).ConfigureAwait(false);
            await HubSnapshotWriter.WritePointerAsync(folder, file.Commit, file.FilePath, file.BlobId, _disableSymlinks, cancellationToken).ConfigureAwait(false);
            foreach (var name in file.Refs)
            {
                if (HubCacheScanner.ReadRef(folder, name) is { } old && old != file.Commit)
                {
                    warn?.Invoke($"{file.RepoId}: ref '{name}' moves from {old} to {file.Commit}, as in the bundle.");
                }

                HubSnapshotWriter.WriteRef(folder, name, file.Commit);
            }

            progress?.Report(new TransferProgress(file.Name, TransferPhase.Completed, copied, file.Entry.Size, SourceOf(file)));
            return new ModelImportResult(file.Name, present ? ModelImportStatus.Skipped : ModelImportStatus.Imported, TargetOf(file), copied,
                present ? "already cached and valid" : null, _bundle.Location, SourceOf(file));
        }
        catch (Exception ex)
        {
            if (newRepo)
            {
                // A refused file leaves no empty repo folder behind, which hub clients would list as a broken repo.
                TryRemoveEmpty(folder.BlobsPath);
                TryRemoveEmpty(folder.Path);
            }

            if (CacheIOFailure.IsIOFailure(ex) && !cancellationToken.IsCancellationRequested)
            {
                throw CacheIOFailure.From(ex, file.Name);
            }

            throw;
        }
    }

    /// <summary>True when <c>blobs/&lt;id&gt;</c> is there and hashes to its id; a planted link is removed, a corrupt blob reported and replaced.</summary>
    private static async Task<bool> IsBlobValidAsync(HubRepoFolder folder, HubBundleFile file, Action<string>? warn, CancellationToken cancellationToken)
    {
        var blob = folder.Blob(file.BlobId);
        if (CacheFiles.IsLink(blob))
        {
            File.Delete(blob); // the link itself, never its target
            return false;
        }

        if (!File.Exists(blob))
        {
            return false;
        }

        var actual = await GitBlobHash.HashFileAsync(blob, file.BlobId, cancellationToken).ConfigureAwait(false);
        if (actual == file.BlobId)
        {
            return true;
        }

        warn?.Invoke($"The cached blob of {file.Name} at '{blob}' is corrupt (hash {actual}, expected {file.BlobId}); replacing it from the bundle.");
        return false;
    }

    /// <summary>Copies the bundle's bytes into <c>blobs/&lt;id&gt;.incomplete</c>, hashing them, and promotes them only when both hashes match.</summary>
    private async Task<long> StageAsync(HubRepoFolder folder, HubBundleFile file, IProgress<TransferProgress>? progress, CancellationToken cancellationToken)
    {
        folder.EnsureDirectory(folder.BlobsPath);
        var size = file.Entry.Size;
        var source = SourceOf(file);
        // SHA-256 for the manifest, and the git blob SHA-1 too when that is the blob's id: both from one pass.
        var staged = await StagedFile.OpenAsync(folder.Blob(file.BlobId), folder.Incomplete(file.BlobId), 0, HubNames.IsSha256(file.BlobId) ? null : GitBlobHash.Start(size),
            FileShare.None, cancellationToken).ConfigureAwait(false);
        try
        {
            long copied;
            using (var input = _bundle.OpenEntry(file.Entry))
            {
                copied = await HashingCopier.CopyAsync(input, staged.Stream, staged.Hashes, 0, null,
                    done => progress?.Report(new TransferProgress(file.Name, TransferPhase.Downloading, done, size, source)), source, cancellationToken).ConfigureAwait(false);
            }

            await staged.CompleteAsync(cancellationToken).ConfigureAwait(false);
            var sha256Hex = staged.Sha256!;
            var idHash = staged.ExtraHash ?? sha256Hex;
            if (copied != size || sha256Hex != file.Entry.Sha256 || idHash != file.BlobId)
            {
                throw new ModelCacheException("HashMismatch", ModelCacheErrorKind.InvalidData,
                    $"{file.Name}: '{source}' holds {copied} bytes hashing to SHA-256 {sha256Hex}{(staged.ExtraHash is null ? string.Empty : $" and git blob SHA-1 {idHash}")}, but the manifest says {size} bytes, SHA-256 {file.Entry.Sha256} and blob id {file.BlobId}; nothing was placed.",
                    "The bundle is damaged or crafted: export it again from a trusted cache, and compare the manifest's SHA-256 with the one Export-ModelCache printed.");
            }

            staged.Promote();
            return copied;
        }
        catch
        {
            staged.Abort();
            throw;
        }
        finally
        {
            staged.Dispose();
        }
    }

    private static void TryRemoveEmpty(string directory)
    {
        try
        {
            if (Directory.Exists(directory) && !CacheFiles.IsLink(directory))
            {
                Directory.Delete(directory, recursive: false);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not empty (another process wrote there meanwhile): kept.
        }
    }
}
