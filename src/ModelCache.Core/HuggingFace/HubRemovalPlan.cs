using System.Collections.Generic;
using System.Linq;
using ModelCache.Catalog;
using ModelCache.Primitives;

namespace ModelCache.HuggingFace;

/// <summary>
/// What removing a hub repo or some of its revisions would delete, worked out before anything is
/// touched: shown by <c>-WhatIf</c>, then carried out by <see cref="HubCacheBackend.ExecuteAsync"/>.
/// </summary>
public sealed class HubRemovalPlan
{
    internal HubRemovalPlan(string cacheRoot, HubRepoId repo, string repoPath, bool wholeRepo, IReadOnlyList<string> revisions, IReadOnlyList<string> refs,
        IReadOnlyList<string> files, IReadOnlyList<string> blobs, long bytes, bool detached = false)
    {
        Detached = detached;
        CacheRoot = cacheRoot;
        RepoId = repo;
        RepoPath = repoPath;
        WholeRepo = wholeRepo;
        Revisions = revisions;
        Refs = refs;
        Files = files;
        Blobs = blobs;
        Bytes = bytes;
    }

    public string CacheRoot { get; }

    public HubRepoId RepoId { get; }

    /// <summary><c>org/name</c>.</summary>
    public string Repo => RepoId.Id;

    /// <summary>The repo's folder, <c>&lt;root&gt;/models--org--name</c>.</summary>
    public string RepoPath { get; }

    /// <summary>True when the whole repo folder goes (every revision was named, or none was).</summary>
    public bool WholeRepo { get; }

    /// <summary>Commit ids whose snapshots go.</summary>
    public IReadOnlyList<string> Revisions { get; }

    /// <summary>Branch and tag names whose <c>refs/</c> file goes because it points at a removed revision.</summary>
    public IReadOnlyList<string> Refs { get; }

    /// <summary>Snapshot files (links or copies) that go.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>Blobs that go: linked only by removed revisions (all blobs for a whole repo).</summary>
    public IReadOnlyList<string> Blobs { get; }

    /// <summary>Bytes freed: the blobs plus snapshot copies (links take no data).</summary>
    public long Bytes { get; }

    /// <summary>
    /// True for a revision no ref points at, planned by <c>-Detached</c>; when it is the repo's last snapshot, the repo
    /// folder goes with it (as <c>hf cache prune</c> removes a repo whose every revision it removes).
    /// </summary>
    public bool Detached { get; }

    /// <summary>A one-line target for ShouldProcess, e.g. <c>org/name@1a2b…, main (3 files, 2 blobs, 12.0 MiB) in /root/models--org--name</c>.</summary>
    public string Describe()
    {
        var what = WholeRepo ? Repo : Repo + "@" + string.Join(", ", Revisions.Select(r => r.Substring(0, 12)).Concat(Refs)) + (Detached ? " (detached)" : string.Empty);
        return $"{what} ({Files.Count} files, {Blobs.Count} blobs, {ByteSize.Format(Bytes)}) in {RepoPath}";
    }

    public override string ToString() => Describe();
}
