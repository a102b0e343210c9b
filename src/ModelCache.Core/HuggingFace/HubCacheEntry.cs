using System;
using System.Collections.Generic;
using ModelCache.Catalog;
using ModelCache.Layouts;
using ModelCache.Store;

namespace ModelCache.HuggingFace;

/// <summary>One file of one cached revision of a hub repo, as the hub's clients lay it out.</summary>
public sealed class HubCacheEntry : CachedFile
{
    internal HubCacheEntry(HubRepoId repoId, string cacheRoot, string commit, IReadOnlyList<string> refs, string filePath, long size,
        string? blobId, string blobPath, string snapshotPath, DateTimeOffset lastModified, bool isLink)
    {
        RepoId = repoId;
        CacheRoot = cacheRoot;
        Revision = commit;
        Refs = refs;
        FilePath = filePath;
        Size = size;
        BlobId = blobId;
        BlobPath = blobPath;
        SnapshotPath = snapshotPath;
        LastModified = lastModified;
        IsLink = isLink;
    }

    /// <summary><c>org/name@commit:path</c>: unique within a cache root.</summary>
    public override string Name => $"{Repo}@{Revision}:{FilePath}";

    /// <summary>The repository id, <c>org/name</c>.</summary>
    public string Repo => RepoId.Id;

    public HubRepoId RepoId { get; }

    public HubRepoType RepoType => RepoId.Type;

    /// <summary>The commit id (40 hex) the snapshot folder is named by.</summary>
    public string Revision { get; }

    /// <summary>Branch and tag names whose <c>refs/</c> file points at <see cref="Revision"/>; empty when none does.</summary>
    public IReadOnlyList<string> Refs { get; }

    /// <summary>The file's path in the repository, <c>/</c>-separated.</summary>
    public string FilePath { get; }

    /// <summary>Bytes of the blob (0 when a link's blob is missing).</summary>
    public override long Size { get; }

    /// <summary>
    /// The blob's name: SHA-256 for LFS files, git blob SHA-1 for small ones. Null for a snapshot file that is
    /// a copy rather than a link, whose blob cannot be told without hashing it.
    /// </summary>
    public string? BlobId { get; }

    /// <summary><c>blobs/&lt;id&gt;</c> for a link; the snapshot file itself for a copy.</summary>
    public string BlobPath { get; }

    /// <summary><c>snapshots/&lt;commit&gt;/&lt;path&gt;</c>: what a hub client opens.</summary>
    public string SnapshotPath { get; }

    /// <summary>Last write time of the blob (or of the copy).</summary>
    public DateTimeOffset LastModified { get; }

    /// <summary>The hub cache root this entry was listed from.</summary>
    public override string CacheRoot { get; }

    /// <summary>True when the snapshot file is a symbolic link to its blob; false for a copy.</summary>
    public bool IsLink { get; }

    [Newtonsoft.Json.JsonIgnore]
    public override string ShortName => Repo;

    /// <summary>What a hub client opens: the snapshot file.</summary>
    public override string Path => SnapshotPath;

    [Newtonsoft.Json.JsonIgnore]
    public override string? ExpectedHash => BlobId;

    public override CacheLayoutKind Layout => CacheLayoutKind.HuggingFace;

    public override string ToString() => Name;
}
