using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelCache.Catalog;
using ModelCache.IO;

namespace ModelCache.HuggingFace;

/// <summary>
/// One cached repo summed up as <c>hf cache scan</c> (huggingface_hub's <c>scan_cache_dir</c>) sums it: size on disk counts
/// each blob once however many revisions link to it, the file count is the number of distinct blobs, and last accessed /
/// last modified are the newest blob times (the repo folder's own when it holds no file).
/// </summary>
public sealed class HubCacheRepo
{
    internal HubCacheRepo(HubRepoId repoId, string cacheRoot, string repoPath, long sizeOnDisk, int fileCount, IReadOnlyList<HubCacheRevision> revisions,
        DateTimeOffset lastAccessed, DateTimeOffset lastModified)
    {
        RepoId = repoId;
        CacheRoot = cacheRoot;
        RepoPath = repoPath;
        SizeOnDisk = sizeOnDisk;
        FileCount = fileCount;
        Revisions = revisions;
        LastAccessed = lastAccessed;
        LastModified = lastModified;
    }

    public HubRepoId RepoId { get; }

    /// <summary>The repository id, <c>org/name</c>.</summary>
    public string Repo => RepoId.Id;

    /// <summary>Model, Dataset or Space.</summary>
    public HubRepoType RepoType => RepoId.Type;

    public string CacheRoot { get; }

    /// <summary>The repo's folder, <c>&lt;root&gt;/models--org--name</c>.</summary>
    public string RepoPath { get; }

    /// <summary>Bytes of the distinct blobs (and snapshot copies) the revisions hold.</summary>
    public long SizeOnDisk { get; }

    /// <summary>Distinct blobs (and snapshot copies) the revisions hold.</summary>
    public int FileCount { get; }

    /// <summary>Ordered by commit id.</summary>
    public IReadOnlyList<HubCacheRevision> Revisions { get; }

    /// <summary>Every ref name of the repo that points at a cached revision.</summary>
    public IReadOnlyList<string> Refs => Revisions.SelectMany(r => r.Refs).OrderBy(n => n, StringComparer.Ordinal).ToList();

    /// <summary>Revisions no ref points at: what <c>Clear-ModelCache -Layout HuggingFace -Detached</c> removes.</summary>
    public int DetachedCount => Revisions.Count(r => r.IsDetached);

    /// <summary>Newest last-access time of its blobs (as the file system keeps it; many mount with relatime).</summary>
    public DateTimeOffset LastAccessed { get; }

    /// <summary>Newest last-write time of its blobs.</summary>
    public DateTimeOffset LastModified { get; }

    /// <summary>The repository id: what a piped repo binds to -Name as (Clear-ModelCache -Layout HuggingFace -Detached).</summary>
    public override string ToString() => Repo;

    /// <summary>The repos of a scan. Entries whose blob is missing count for nothing, as a blob that is not there takes no space.</summary>
    internal static IReadOnlyList<HubCacheRepo> FromScan(HubCacheScan scan)
    {
        var entriesByRevision = scan.Entries.ToLookup(e => (e.RepoId.FolderName, e.Revision));
        var blobs = new Dictionary<string, BlobStat?>(PathRules.Comparer);
        BlobStat? StatOf(HubCacheEntry entry)
        {
            if (!blobs.TryGetValue(entry.BlobPath, out var stat))
            {
                blobs[entry.BlobPath] = stat = BlobStat.Read(entry.BlobPath);
            }

            return stat;
        }

        var repos = new List<HubCacheRepo>();
        foreach (var group in scan.Revisions.GroupBy(r => r.Repo.FolderName, StringComparer.Ordinal))
        {
            var repoId = group.First().Repo;
            var folder = new HubRepoFolder(scan.CacheRoot, repoId);
            var repoBlobs = new Dictionary<string, BlobStat>(PathRules.Comparer);
            var revisions = new List<HubCacheRevision>();
            foreach (var scanned in group)
            {
                var files = entriesByRevision[(repoId.FolderName, scanned.Commit)].ToList();
                var revisionBlobs = new Dictionary<string, BlobStat>(PathRules.Comparer);
                foreach (var entry in files)
                {
                    if (StatOf(entry) is { } stat)
                    {
                        revisionBlobs[entry.BlobPath] = stat;
                        repoBlobs[entry.BlobPath] = stat;
                    }
                }

                var lastModified = revisionBlobs.Count > 0 ? revisionBlobs.Values.Max(b => b.Modified) : FolderTimes(scanned.SnapshotPath).Modified;
                revisions.Add(new HubCacheRevision(repoId, scanned.Commit, scanned.Refs, scanned.SnapshotPath, files.Count,
                    revisionBlobs.Values.Sum(b => b.Size), lastModified));
            }

            var (accessed, modified) = repoBlobs.Count > 0 ? (repoBlobs.Values.Max(b => b.Accessed), repoBlobs.Values.Max(b => b.Modified)) : FolderTimes(folder.Path);
            repos.Add(new HubCacheRepo(repoId, scan.CacheRoot, folder.Path, repoBlobs.Values.Sum(b => b.Size), repoBlobs.Count, revisions, accessed, modified));
        }

        return repos;
    }

    private static (DateTimeOffset Accessed, DateTimeOffset Modified) FolderTimes(string path)
    {
        var info = new DirectoryInfo(path);
        return info.Exists ? (new DateTimeOffset(info.LastAccessTimeUtc, TimeSpan.Zero), new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero)) : (DateTimeOffset.MinValue, DateTimeOffset.MinValue);
    }

    /// <summary>Size and times of a blob, read from its metadata only (a FIFO or device is never opened).</summary>
    private sealed class BlobStat
    {
        private BlobStat(long size, DateTimeOffset accessed, DateTimeOffset modified)
        {
            Size = size;
            Accessed = accessed;
            Modified = modified;
        }

        public long Size { get; }

        public DateTimeOffset Accessed { get; }

        public DateTimeOffset Modified { get; }

        public static BlobStat? Read(string path)
        {
            try
            {
                var info = new FileInfo(path);
                return info.Exists && !RootGuard.IsLink(path)
                    ? new BlobStat(info.Length, new DateTimeOffset(info.LastAccessTimeUtc, TimeSpan.Zero), new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero))
                    : null;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }
}

/// <summary>One cached revision of a hub repo: its commit, the refs naming it, and its files' size (each blob once).</summary>
public sealed class HubCacheRevision
{
    internal HubCacheRevision(HubRepoId repoId, string commit, IReadOnlyList<string> refs, string snapshotPath, int fileCount, long sizeOnDisk, DateTimeOffset lastModified)
    {
        RepoId = repoId;
        Commit = commit;
        Refs = refs;
        SnapshotPath = snapshotPath;
        FileCount = fileCount;
        SizeOnDisk = sizeOnDisk;
        LastModified = lastModified;
    }

    public HubRepoId RepoId { get; }

    public string Repo => RepoId.Id;

    /// <summary>The commit id (40 hex) the snapshot folder is named by.</summary>
    public string Commit { get; }

    /// <summary>Branch and tag names pointing at <see cref="Commit"/>; empty for a detached revision.</summary>
    public IReadOnlyList<string> Refs { get; }

    /// <summary>True when no ref points at this revision (<c>hf cache prune</c> removes such revisions).</summary>
    public bool IsDetached => Refs.Count == 0;

    public string SnapshotPath { get; }

    /// <summary>Files of the snapshot, at any depth.</summary>
    public int FileCount { get; }

    /// <summary>Bytes of the distinct blobs the snapshot links to (a blob shared with other revisions counts here too).</summary>
    public long SizeOnDisk { get; }

    /// <summary>Newest last-write time of its blobs (the snapshot folder's own when it holds no file).</summary>
    public DateTimeOffset LastModified { get; }

    public override string ToString() => Refs.Count > 0 ? $"{Repo}@{Commit} ({string.Join(", ", Refs)})" : $"{Repo}@{Commit}";
}
