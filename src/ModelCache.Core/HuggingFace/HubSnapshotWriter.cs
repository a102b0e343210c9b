using System;
using System.IO;
using System.Linq;
using ModelCache.IO;
using ModelCache.Store;

namespace ModelCache.HuggingFace;

/// <summary>
/// Makes a promoted blob visible the way hub clients expect: <c>snapshots/&lt;commit&gt;/&lt;path&gt;</c> as a
/// relative link to <c>../../blobs/&lt;id&gt;</c> (one more <c>../</c> per folder of the path), or a copy where
/// links are disabled or refused; and <c>refs/&lt;revision&gt;</c> holding the commit id.
/// </summary>
internal static class HubSnapshotWriter
{
    /// <returns>True when a link was made (or was already right), false when the file is a copy.</returns>
    public static bool WritePointer(HubRepoFolder folder, string commit, string repoPath, string blobId, bool disableSymlinks)
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

        // A copy goes in under a temporary name, so a reader never sees half of it.
        var temp = CacheFiles.TempPathFor(pointer);
        try
        {
            RegularFile.Copy(folder.Blob(blobId), temp);
            AtomicFile.Promote(temp, pointer);
        }
        finally
        {
            FileCleanup.TryDelete(temp);
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
