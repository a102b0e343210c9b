using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Store;
using ModelCache.Transfer;

namespace ModelCache.HuggingFace;

/// <summary>
/// Makes a promoted blob visible the way hub clients expect: <c>snapshots/&lt;commit&gt;/&lt;path&gt;</c> as a
/// relative link to <c>../../blobs/&lt;id&gt;</c> (one more <c>../</c> per folder of the path), or a copy where
/// links are disabled or refused; and <c>refs/&lt;revision&gt;</c> holding the commit id.
/// </summary>
internal static class HubSnapshotWriter
{
    /// <returns>True when a link was made (or was already right), false when the file is a copy.</returns>
    public static async Task<bool> WritePointerAsync(HubRepoFolder folder, string commit, string repoPath, string blobId, bool disableSymlinks, CancellationToken cancellationToken)
    {
        var pointer = folder.SnapshotFile(commit, repoPath);
        folder.EnsureDirectory(Path.GetDirectoryName(pointer)!);
        if (CacheFiles.IsLink(pointer))
        {
            if (!disableSymlinks && HubCacheScanner.LinkedBlobId(folder, pointer) == blobId)
            {
                return true;
            }

            File.Delete(pointer); // the link itself, never its target
        }

        var depth = 2 + repoPath.Count(c => c == '/');
        var target = string.Concat(Enumerable.Repeat("../", depth)) + HubRepoFolder.BlobsFolder + "/" + blobId;
        if (!disableSymlinks)
        {
            if (File.Exists(pointer))
            {
                File.Delete(pointer);
            }

            if (FileLinks.TryCreate(pointer, target))
            {
                return true;
            }
        }

        // A copy is staged like every file the cache writes, so a reader never sees half of it, and checked against the blob id.
        var blob = folder.Blob(blobId);
        using var input = RegularFile.Open(blob, FileMode.Open, FileAccess.Read, FileShare.Read, Sha256Hasher.BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        using var staged = await StagedFile.OpenAsync(pointer, CacheFiles.TempPathFor(pointer), 0, HubNames.IsSha256(blobId) ? null : GitBlobHash.Start(input.Length),
            FileShare.None, cancellationToken).ConfigureAwait(false);
        try
        {
            await HashingCopier.CopyAsync(input, staged.Stream, staged.Hashes, 0, null, null, blob, cancellationToken).ConfigureAwait(false);
            await staged.CompleteAsync(cancellationToken).ConfigureAwait(false);
            var actual = staged.ExtraHash ?? staged.Sha256;
            if (!string.Equals(actual, blobId, StringComparison.Ordinal))
            {
                throw new ModelCacheException("HubBlobHashMismatch", ModelCacheErrorKind.InvalidData,
                    $"The blob '{blob}' changed while it was copied to '{pointer}': it hashes to {actual}, not its id {blobId}. The copy was not placed.",
                    "Run the command again; if it persists, something else is writing the hub cache.");
            }

            staged.Promote();
        }
        catch
        {
            staged.Abort();
            throw;
        }

        return false;
    }

    /// <summary>Writes <c>refs/&lt;revision&gt;</c> = the commit id, no newline (what every hub client writes and reads).</summary>
    public static void WriteRef(HubRepoFolder folder, string revision, string commit)
    {
        var path = folder.Ref(revision);
        folder.EnsureDirectory(Path.GetDirectoryName(path)!);
        if (CacheFiles.IsLink(path))
        {
            File.Delete(path);
        }

        if (HubCacheScanner.ReadRef(folder, revision) == commit)
        {
            return;
        }

        AtomicFile.WriteAllText(path, commit);
    }
}
