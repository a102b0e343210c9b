using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.Store;
using ModelCache.Catalog;
using ModelCache.IO;

namespace ModelCache.HuggingFace;

/// <summary>
/// Removes a repo or some of its revisions from a hub cache, as <c>hf cache rm</c> does: a blob goes only
/// when no remaining revision links to it, and refs pointing at a removed revision go too. Every path
/// deleted is inside the repo's folder; links are deleted themselves, never what they point at.
/// </summary>
public static class HubCacheRemover
{
    /// <summary>How long to wait for a hub client holding a blob's lock.</summary>
    public static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromMinutes(5);

    /// <param name="cacheRoot">The hub cache root.</param>
    /// <param name="repo">The repo.</param>
    /// <param name="revisions">Commit ids or ref names to remove; null or empty removes the whole repo.</param>
    /// <exception cref="ModelCacheException"><c>HubRepoNotCached</c>, <c>HubRevisionNotCached</c>.</exception>
    public static HubRemovalPlan Plan(string cacheRoot, HubRepoId repo, IReadOnlyCollection<string>? revisions = null)
    {
        var folder = new HubRepoFolder(cacheRoot, repo);
        if (!Directory.Exists(folder.Path) && !CacheFiles.IsLink(folder.Path))
        {
            throw new ModelCacheException("HubRepoNotCached", ModelCacheErrorKind.NotFound,
                $"{repo} is not in the hub cache '{folder.CacheRoot}'.", "Run Get-ModelCache -Layout HuggingFace to list what is cached.");
        }

        if (CacheFiles.IsLink(folder.Path))
        {
            // Only the link itself is in the root: it goes, whatever it points at stays.
            return new HubRemovalPlan(folder.CacheRoot, repo, folder.Path, true, Array.Empty<string>(), Array.Empty<string>(), new[] { folder.Path }, Array.Empty<string>(), 0);
        }

        var warnings = new List<HubCacheWarning>();
        var refs = HubCacheScanner.ReadRefs(folder, warnings);
        var snapshots = ListSnapshots(folder);
        var removed = revisions is { Count: > 0 } ? revisions.Select(r => ResolveRevision(folder, r, snapshots)).Distinct(StringComparer.Ordinal).ToList() : snapshots.ToList();
        if (removed.Count == snapshots.Count)
        {
            return PlanWholeRepo(folder, removed, refs);
        }

        var entries = HubCacheScanner.Scan(folder.CacheRoot, repo).Entries;
        var kept = new HashSet<string>(entries.Where(e => !removed.Contains(e.Revision) && e.BlobId is not null).Select(e => e.BlobId!), StringComparer.Ordinal);
        var goingEntries = entries.Where(e => removed.Contains(e.Revision)).ToList();
        var blobs = goingEntries.Where(e => e.BlobId is not null && !kept.Contains(e.BlobId)).Select(e => e.BlobId!).Distinct(StringComparer.Ordinal).ToList();
        var files = removed.SelectMany(commit => HubCacheScanner.SnapshotFiles(folder, folder.Snapshot(commit), warnings, CancellationToken.None).Select(f => f.File)).ToList();
        var bytes = blobs.Sum(id => SizeOf(folder.Blob(id))) + files.Where(f => !CacheFiles.IsLink(f)).Sum(SizeOf);
        var refNames = refs.Where(r => removed.Contains(r.Key)).SelectMany(r => r.Value).OrderBy(n => n, StringComparer.Ordinal).ToList();
        return new HubRemovalPlan(folder.CacheRoot, repo, folder.Path, false, removed, refNames, files, blobs.Select(folder.Blob).ToList(), bytes);
    }

    /// <summary>Carries out <paramref name="plan"/>, taking each blob's hub lock before deleting it.</summary>
    public static async Task<HubRemovalResult> ExecuteAsync(HubRemovalPlan plan, TimeSpan? lockTimeout = null, CancellationToken cancellationToken = default)
    {
        var folder = new HubRepoFolder(plan.CacheRoot, plan.RepoId);
        try
        {
            if (plan.WholeRepo)
            {
                if (CacheFiles.IsLink(folder.Path))
                {
                    DeleteLink(folder.Path);
                    return new HubRemovalResult(plan, 0, 1, 0);
                }

                var (bytes, count) = DeleteTree(folder, folder.Path);
                return new HubRemovalResult(plan, bytes, count, 0);
            }

            long freed = 0;
            var removedCount = 0;
            foreach (var commit in plan.Revisions)
            {
                var (bytes, count) = DeleteTree(folder, folder.Snapshot(commit));
                freed += bytes;
                removedCount += count;
                DeleteTree(folder, folder.NoExist(commit));
            }

            foreach (var name in plan.Refs)
            {
                if (DeleteFile(folder, folder.Ref(name)) >= 0)
                {
                    removedCount++;
                }
            }

            // A revision saved since the plan may link to a planned blob: look again, under each blob's lock.
            var keptBlobs = 0;
            foreach (var blobPath in plan.Blobs)
            {
                var blobId = Path.GetFileName(blobPath);
                using var blobLock = await FileLock.AcquireAsync(folder.PrepareBlobLock(blobId), lockTimeout ?? DefaultLockTimeout, null, cancellationToken).ConfigureAwait(false);
                if (HubCacheScanner.Scan(folder.CacheRoot, folder.Repo, cancellationToken).Entries.Any(e => e.BlobId == blobId))
                {
                    keptBlobs++;
                    continue;
                }

                var size = SizeOf(folder.Blob(blobId));
                if (DeleteFile(folder, folder.Blob(blobId)) >= 0)
                {
                    freed += size;
                    removedCount++;
                }
            }

            return new HubRemovalResult(plan, freed, removedCount, keptBlobs);
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex))
        {
            throw CacheIOFailure.From(ex, plan.Repo);
        }
    }

    private static HubRemovalPlan PlanWholeRepo(HubRepoFolder folder, IReadOnlyList<string> revisions, Dictionary<string, List<string>> refs)
    {
        var files = new List<string>();
        long bytes = 0;
        foreach (var file in WalkFiles(folder.Path))
        {
            files.Add(file);
            bytes += CacheFiles.IsLink(file) ? 0 : SizeOf(file);
        }

        var blobs = files.Where(f => string.Equals(Path.GetDirectoryName(f), folder.BlobsPath, StringComparison.Ordinal)).ToList();
        var snapshotFiles = files.Where(f => f.StartsWith(folder.SnapshotsPath + Path.DirectorySeparatorChar, StringComparison.Ordinal)).ToList();
        return new HubRemovalPlan(folder.CacheRoot, folder.Repo, folder.Path, true, revisions, refs.SelectMany(r => r.Value).OrderBy(n => n, StringComparer.Ordinal).ToList(),
            snapshotFiles, blobs, bytes);
    }

    private static string ResolveRevision(HubRepoFolder folder, string revision, IReadOnlyList<string> snapshots)
    {
        HubNames.ValidateRevision(revision);
        var commit = HubNames.IsCommitId(revision) ? revision : HubCacheScanner.ReadRef(folder, revision);
        if (commit is null || !snapshots.Contains(commit))
        {
            throw new ModelCacheException("HubRevisionNotCached", ModelCacheErrorKind.NotFound,
                $"{folder.Repo} has no cached revision '{revision}' in '{folder.CacheRoot}'.",
                "Run Get-ModelCache -Layout HuggingFace to list the cached revisions (commit ids) and their refs.");
        }

        return commit;
    }

    /// <summary>Snapshot folders named by a commit id (a link named so is listed too: removing it removes only the link).</summary>
    private static IReadOnlyList<string> ListSnapshots(HubRepoFolder folder) =>
        Directory.Exists(folder.SnapshotsPath) && !CacheFiles.IsLink(folder.SnapshotsPath)
            ? Directory.GetDirectories(folder.SnapshotsPath).Select(Path.GetFileName).Where(HubNames.IsCommitId).OrderBy(n => n, StringComparer.Ordinal).ToList()!
            : Array.Empty<string>();

    /// <summary>Every file and link below <paramref name="directory"/>, never walking into a link.</summary>
    private static IEnumerable<string> WalkFiles(string directory)
    {
        if (!Directory.Exists(directory))
        {
            yield break;
        }

        foreach (var child in Directory.GetDirectories(directory))
        {
            if (CacheFiles.IsLink(child))
            {
                yield return child;
                continue;
            }

            foreach (var file in WalkFiles(child))
            {
                yield return file;
            }
        }

        foreach (var file in Directory.GetFiles(directory))
        {
            yield return file;
        }
    }

    /// <summary>Deletes a folder's contents and the folder, links as links. Returns the bytes of plain files deleted and the count of files and links.</summary>
    private static (long Bytes, int Count) DeleteTree(HubRepoFolder folder, string directory)
    {
        if (CacheFiles.IsLink(directory))
        {
            Contained(folder, directory);
            DeleteLink(directory);
            return (0, 1);
        }

        if (!Directory.Exists(directory))
        {
            return (0, 0);
        }

        long bytes = 0;
        var count = 0;
        foreach (var child in Directory.GetDirectories(directory))
        {
            var (b, c) = DeleteTree(folder, child);
            bytes += b;
            count += c;
        }

        foreach (var file in Directory.GetFiles(directory))
        {
            var freed = DeleteFile(folder, file);
            if (freed >= 0)
            {
                bytes += freed;
                count++;
            }
        }

        Contained(folder, directory);
        try
        {
            Directory.Delete(directory, recursive: false);
        }
        catch (DirectoryNotFoundException)
        {
        }

        return (bytes, count);
    }

    /// <returns>The bytes freed (0 for a link), or -1 when the file was already gone.</returns>
    private static long DeleteFile(HubRepoFolder folder, string path)
    {
        Contained(folder, path);
        if (CacheFiles.IsLink(path))
        {
            DeleteLink(path);
            return 0;
        }

        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return -1;
        }

        var length = info.Length;
        info.Delete();
        return length;
    }

    /// <summary>Removes the link itself: unlink on Unix; on Windows a folder link or junction needs RemoveDirectory.</summary>
    private static void DeleteLink(string path)
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows) && (File.GetAttributes(path) & FileAttributes.Directory) != 0)
        {
            Directory.Delete(path, recursive: false);
        }
        else
        {
            File.Delete(path);
        }
    }

    private static void Contained(HubRepoFolder folder, string path)
    {
        if (!folder.Contains(path) && !string.Equals(Path.GetFullPath(path), folder.Path, StringComparison.Ordinal))
        {
            throw new ModelCacheException("HubPathOutsideCache", ModelCacheErrorKind.SecurityError,
                $"Refused to delete '{path}': it is outside {folder.Repo}'s folder '{folder.Path}'.", "This is a bug in ModelCache: report it.");
        }
    }

    private static long SizeOf(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists && !CacheFiles.IsLink(path) ? info.Length : 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
