using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Store;

namespace ModelCache.HuggingFace;

/// <summary>
/// Checks hub blobs against their names: the SHA-256 for LFS files, the git blob SHA-1 for small ones.
/// The result is the same <see cref="ModelHashResult"/> Test-ModelHash reports for every layout.
/// </summary>
public static class HubCacheVerifier
{
    /// <summary>
    /// Hashes the blob behind <paramref name="entry"/>. The path is derived again from the entry's validated
    /// repo and blob id (never taken from the entry). A copy (no blob id) is Valid when its SHA-256 or git
    /// blob SHA-1 names a blob of the repo, otherwise Unknown with its SHA-256 as Actual.
    /// </summary>
    public static async Task<ModelHashResult> VerifyAsync(HubCacheEntry entry, IProgress<long>? bytesHashed = null, CancellationToken cancellationToken = default)
    {
        var folder = new HubRepoFolder(entry.CacheRoot, entry.RepoId);
        var path = entry.BlobId is { } id ? folder.Blob(id) : folder.SnapshotFile(entry.Revision, entry.FilePath);
        if (!File.Exists(path) || CacheFiles.IsLink(path))
        {
            // A link here was planted after listing: it is not read through.
            return new ModelHashResult(entry.Name, path, entry.BlobId, null, HashStatus.Missing);
        }

        try
        {
            using var stream = RegularFile.Open(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, Sha256Hasher.BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
            if (entry.BlobId is { } blobId)
            {
                using var hash = GitBlobHash.ForBlobId(blobId, stream.Length);
                await HashAsync(stream, hash, null, bytesHashed, cancellationToken).ConfigureAwait(false);
                var actual = Sha256Hasher.ToHex(hash.GetHashAndReset());
                return new ModelHashResult(entry.Name, path, blobId, actual,
                    string.Equals(actual, blobId, StringComparison.Ordinal) ? HashStatus.Valid : HashStatus.Mismatch);
            }

            // A copy: either kind of id may name it, so both are computed in one read.
            using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var gitSha1 = GitBlobHash.Start(stream.Length);
            await HashAsync(stream, sha256, gitSha1, bytesHashed, cancellationToken).ConfigureAwait(false);
            var sha256Hex = Sha256Hasher.ToHex(sha256.GetHashAndReset());
            foreach (var candidate in new[] { sha256Hex, Sha256Hasher.ToHex(gitSha1.GetHashAndReset()) })
            {
                if (File.Exists(folder.Blob(candidate)) && !CacheFiles.IsLink(folder.Blob(candidate)))
                {
                    return new ModelHashResult(entry.Name, path, candidate, candidate, HashStatus.Valid);
                }
            }

            return new ModelHashResult(entry.Name, path, null, sha256Hex, HashStatus.Unknown);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return new ModelHashResult(entry.Name, path, entry.BlobId, null, HashStatus.Missing);
        }
    }

    /// <summary>The hash a blob file has by its id's kind: SHA-256 for a 64-hex id, git blob SHA-1 for a 40-hex one.</summary>
    internal static async Task<string> HashBlobAsync(string path, string blobId, CancellationToken cancellationToken)
    {
        using var stream = RegularFile.Open(path, FileMode.Open, FileAccess.Read, FileShare.Read, Sha256Hasher.BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        using var hash = GitBlobHash.ForBlobId(blobId, stream.Length);
        await Sha256Hasher.AppendAsync(stream, hash, long.MaxValue, null, cancellationToken).ConfigureAwait(false);
        return Sha256Hasher.ToHex(hash.GetHashAndReset());
    }

    private static async Task HashAsync(Stream stream, IncrementalHash first, IncrementalHash? second, IProgress<long>? bytesHashed, CancellationToken cancellationToken)
    {
        var buffer = new byte[Sha256Hasher.BufferSize];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false)) > 0)
        {
            first.AppendData(buffer, 0, read);
            second?.AppendData(buffer, 0, read);
            total += read;
            bytesHashed?.Report(total);
        }
    }
}
