using System;
using System.IO;
using ModelCache.Errors;
using ModelCache.IO;
using ModelCache.Store;
using ModelCache.Catalog;

namespace ModelCache.HuggingFace;

/// <summary>
/// The paths of one repo in a hub cache, each built from validated names only (a repo id, a commit id,
/// a blob id, a ref name, a path in the repo). Also the one place that refuses to write through a link.
/// </summary>
internal sealed class HubRepoFolder
{
    public const string BlobsFolder = "blobs";
    public const string SnapshotsFolder = "snapshots";
    public const string RefsFolder = "refs";
    public const string NoExistFolder = ".no_exist";
    public const string LocksFolder = ".locks";
    public const string IncompleteSuffix = ".incomplete";

    public HubRepoFolder(string cacheRoot, HubRepoId repo)
    {
        CacheRoot = PathRules.FullPath(cacheRoot);
        Repo = repo;
        Path = System.IO.Path.Combine(CacheRoot, repo.FolderName);
    }

    public string CacheRoot { get; }

    public HubRepoId Repo { get; }

    public string Path { get; }

    public string BlobsPath => System.IO.Path.Combine(Path, BlobsFolder);

    public string SnapshotsPath => System.IO.Path.Combine(Path, SnapshotsFolder);

    public string RefsPath => System.IO.Path.Combine(Path, RefsFolder);

    public string Blob(string blobId) => System.IO.Path.Combine(BlobsPath, Require(blobId, HubNames.IsBlobId, "blob id"));

    public string Incomplete(string blobId) => CacheFiles.PartialPathFor(Blob(blobId), IncompleteSuffix);

    /// <summary>
    /// A blob fetched in segments: <c>blobs/&lt;id&gt;.partial</c>, with its ranges in <c>blobs/&lt;id&gt;.partial.json</c>. Not
    /// <c>.incomplete</c>: it is allocated to its full length from the start, and huggingface_hub resumes an <c>.incomplete</c>
    /// from its length, so it would take the holes for bytes. huggingface_hub never reads this name.
    /// </summary>
    public string SegmentedPartial(string blobId) => CacheFiles.PartialPathFor(Blob(blobId));

    public string Snapshot(string commit) => System.IO.Path.Combine(SnapshotsPath, Require(commit, HubNames.IsCommitId, "commit id"));

    public string SnapshotFile(string commit, string repoPath) => HubNames.Combine(Snapshot(commit), Require(repoPath, HubNames.IsValidRepoPath, "path"));

    public string NoExist(string commit) => System.IO.Path.Combine(Path, NoExistFolder, Require(commit, HubNames.IsCommitId, "commit id"));

    public string Ref(string revision) => HubNames.Combine(RefsPath, Require(revision, HubNames.IsValidRevision, "ref name"));

    /// <summary>The hub's own lock for a blob: <c>.locks/models--org--name/&lt;id&gt;.lock</c>, shared with Python clients.</summary>
    public string BlobLock(string blobId) =>
        System.IO.Path.Combine(CacheRoot, LocksFolder, Repo.FolderName, Require(blobId, HubNames.IsBlobId, "blob id") + ".lock");

    /// <summary>The blob's lock path, its folders created without passing through a link.</summary>
    public string PrepareBlobLock(string blobId)
    {
        var path = BlobLock(blobId);
        EnsureDirectory(System.IO.Path.GetDirectoryName(path)!);
        return path;
    }

    /// <summary>
    /// Creates <paramref name="directory"/> (below the cache root) folder by folder, refusing any existing
    /// component that is a link, so nothing is ever written outside the root through a planted link.
    /// </summary>
    public void EnsureDirectory(string directory)
    {
        var full = System.IO.Path.GetFullPath(directory);
        var relative = RelativeToRoot(full);
        var current = CacheRoot;
        Directory.CreateDirectory(current);
        foreach (var segment in relative.Split(new[] { System.IO.Path.DirectorySeparatorChar }, StringSplitOptions.RemoveEmptyEntries))
        {
            current = System.IO.Path.Combine(current, segment);
            RefuseLink(current);
            if (File.Exists(current))
            {
                throw new ModelCacheException("HubCacheLayoutInvalid", ModelCacheErrorKind.InvalidData,
                    $"'{current}' is a file where the hub cache needs a folder.", "Remove that file, or choose another hub cache root.");
            }

            Directory.CreateDirectory(current);
        }
    }

    /// <summary>Throws <c>CacheFolderIsLink</c> (<see cref="RootGuard.LinkErrorId"/>) when <paramref name="path"/> is a link.</summary>
    public static void RefuseLink(string path)
    {
        if (RootGuard.IsLink(path))
        {
            throw new ModelCacheException(RootGuard.LinkErrorId, ModelCacheErrorKind.SecurityError,
                $"'{path}' is a link; the hub cache is not read or written through links other than snapshot files pointing into their repo's blobs folder.",
                "Remove the link (the cache root may be a copy from another machine), or choose another hub cache root.");
        }
    }


    /// <summary>True when <paramref name="path"/> lies inside this repo's folder (compared as the OS compares paths).</summary>
    public bool Contains(string path) => PathRules.IsInside(path, Path);

    /// <summary>Throws <c>CacheFolderIsLink</c> unless <paramref name="path"/> is this repo's folder or lies inside it with no link on the way.</summary>
    public void EnsureContained(string path) => new RootGuard(Path).EnsureContained(path);

    private string RelativeToRoot(string full)
    {
        if (!PathRules.IsSameOrInside(full, CacheRoot))
        {
            throw RootGuard.LinkRefused(full);
        }

        return full.Substring(CacheRoot.Length);
    }

    private static string Require(string value, Func<string, bool> isValid, string what) =>
        isValid(value) ? value : throw new ModelCacheException("HubNameInvalid", ModelCacheErrorKind.InvalidArgument,
            $"'{value}' is not a valid {what} in a hub cache.", "Check the name you passed.");
}
