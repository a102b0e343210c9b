using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Transfer;
using ModelCache.Catalog;

namespace ModelCache.Bundles;

/// <summary>
/// Writes hub cache files into a bundle (<see cref="BundleWriter"/>): each blob once, under its blob id (a plain name
/// that two different files cannot share), and a manifest entry per file with its <c>hub</c> object. Every blob is
/// hashed as it is copied, by SHA-256 and by its id's own hash, and a blob that does not match its id stops the export.
/// </summary>
public static class HubBundleExporter
{
    /// <param name="entries">Hub cache entries, as the scanner lists them.</param>
    /// <param name="destination">A <c>.zip</c> file, or a folder (new or empty).</param>
    /// <param name="tool">Written into the manifest, e.g. "ModelCache 0.4.0".</param>
    /// <param name="progress">Bytes copied, per file.</param>
    /// <param name="onFailed">Called for each file left out (its blob missing, unreadable or not identifiable).</param>
    public static Task<BundleExportResult> ExportAsync(IReadOnlyList<HubCacheEntry> entries, string destination, string tool,
        IProgress<TransferProgress>? progress, Action<HubCacheEntry, ModelCacheException> onFailed, CancellationToken cancellationToken) =>
        BundleWriter.RunAsync(destination, asMirror: false, async writer =>
        {
            var manifest = new BundleManifest { Tool = tool, CreatedAt = DateTimeOffset.UtcNow };
            var exported = new Dictionary<string, (long Size, string Sha256)>(StringComparer.Ordinal);
            long bytes = 0;
            foreach (var entry in entries)
            {
                var blobId = entry.BlobId ?? await IdentifyCopyAsync(entry, cancellationToken).ConfigureAwait(false);
                if (blobId is null)
                {
                    onFailed(entry, new ModelCacheException("HubBlobUnknown", ModelCacheErrorKind.InvalidData,
                        $"{entry.Name}: '{entry.SnapshotPath}' is a copy whose bytes match no blob of the repo, so its blob id cannot be told; it was left out of the bundle.",
                        $"Save it again with 'Save-Model -HuggingFaceRepo {entry.Repo} -File {entry.FilePath} -Revision {entry.Revision}', or leave it out with -Name."));
                    continue;
                }

                if (!exported.TryGetValue(blobId, out var blob))
                {
                    if (OpenBlob(entry, blobId, onFailed) is not { } input)
                    {
                        continue;
                    }

                    using (input)
                    {
                        blob = await CopyBlobAsync(writer, entry, blobId, input, progress, cancellationToken).ConfigureAwait(false);
                    }

                    exported[blobId] = blob;
                    bytes += blob.Size;
                }

                manifest.Models.Add(ManifestEntry(entry, blobId, blob.Size, blob.Sha256));
            }

            return writer.Complete(manifest, bytes);
        });

    private static BundleModel ManifestEntry(HubCacheEntry entry, string blobId, long size, string sha256) => new()
    {
        Name = entry.Name,
        FileName = blobId,
        Size = size,
        Sha256 = sha256,
        Hub = new BundleHubFile
        {
            Repo = entry.Repo,
            RepoType = HubBundleManifestReader.RepoTypeName(entry.RepoType),
            Commit = entry.Revision,
            Path = entry.FilePath,
            BlobId = blobId,
            Refs = entry.Refs.ToList(),
        },
    };

    /// <summary>A snapshot file that is a copy names no blob: its id is the blob of the repo its bytes hash to, or null when none does.</summary>
    private static async Task<string?> IdentifyCopyAsync(HubCacheEntry entry, CancellationToken cancellationToken)
    {
        var check = await HubCacheBackend.VerifyAsync(entry, null, cancellationToken).ConfigureAwait(false);
        return check.Status == HashStatus.Valid && HubNames.IsBlobId(check.Actual) ? check.Actual : null;
    }

    /// <summary>The blob, from a path built again from the validated repo and blob id and never read through a link; null (reported) when it cannot be read.</summary>
    private static FileStream? OpenBlob(HubCacheEntry entry, string blobId, Action<HubCacheEntry, ModelCacheException> onFailed)
    {
        var path = new HubRepoFolder(entry.CacheRoot, entry.RepoId).Blob(blobId);
        try
        {
            HubRepoFolder.RefuseLink(path);
            return RegularFile.Open(path, FileMode.Open, FileAccess.Read, FileShare.Read, Sha256Hasher.BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ModelCacheException)
        {
            onFailed(entry, new ModelCacheException("HubBlobMissing", ModelCacheErrorKind.NotFound, $"{entry.Name}: its blob '{path}' cannot be read: {ex.Message} It was left out of the bundle.",
                $"Save it again with 'Save-Model -HuggingFaceRepo {entry.Repo} -File {entry.FilePath} -Revision {entry.Revision}'.", ex));
            return null;
        }
    }

    private static async Task<(long Size, string Sha256)> CopyBlobAsync(BundleWriter writer, HubCacheEntry entry, string blobId, FileStream input,
        IProgress<TransferProgress>? progress, CancellationToken cancellationToken)
    {
        var path = input.Name;
        var size = input.Length;
        var gitSha1 = HubNames.IsSha256(blobId) ? null : GitBlobHash.Start(size);
        var (done, sha256Hex, gitSha1Hex) = await writer.AddAsync(blobId, size, gitSha1, (output, hashes) => HashingCopier.CopyAsync(input, output, hashes, 0, null,
            copied => progress?.Report(new TransferProgress(entry.Name, TransferPhase.Downloading, copied, size, path)), path, cancellationToken), cancellationToken).ConfigureAwait(false);
        var actual = gitSha1Hex ?? sha256Hex;
        if (!string.Equals(actual, blobId, StringComparison.Ordinal))
        {
            // The entry already holds the bytes; a corrupt blob must not travel, so the export fails rather than ship it.
            throw new ModelCacheException("HashMismatch", ModelCacheErrorKind.InvalidData,
                $"{entry.Name}: its blob '{path}' hashes to {actual} ({(gitSha1 is null ? "SHA-256" : "git blob SHA-1")}), not its id {blobId}; the bundle was not written.",
                $"Repair it with 'Save-Model -HuggingFaceRepo {entry.Repo} -File {entry.FilePath} -Revision {entry.Revision} -Force', or leave it out with -Name.");
        }

        progress?.Report(new TransferProgress(entry.Name, TransferPhase.Completed, done, size, path));
        return (done, sha256Hex);
    }
}
