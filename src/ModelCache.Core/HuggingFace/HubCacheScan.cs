using System.Collections.Generic;
using ModelCache.Catalog;

namespace ModelCache.HuggingFace;

/// <summary>What a scan of a hub cache found: the files of every cached revision, and what it refused to read.</summary>
public sealed class HubCacheScan
{
    internal HubCacheScan(string cacheRoot, IReadOnlyList<HubCacheEntry> entries, IReadOnlyList<HubCacheWarning> warnings, IReadOnlyList<HubScannedRevision>? revisions = null)
    {
        CacheRoot = cacheRoot;
        Entries = entries;
        Warnings = warnings;
        Revisions = revisions ?? new List<HubScannedRevision>();
    }

    public string CacheRoot { get; }

    /// <summary>Ordered by repo, revision and path.</summary>
    public IReadOnlyList<HubCacheEntry> Entries { get; }

    public IReadOnlyList<HubCacheWarning> Warnings { get; }

    /// <summary>Every snapshot folder read (empty ones too), with the refs naming it; ordered by repo and commit.</summary>
    internal IReadOnlyList<HubScannedRevision> Revisions { get; }
}

/// <summary>One snapshot folder the scanner read: a real folder named by a commit id in a repo it could read.</summary>
internal sealed class HubScannedRevision
{
    public HubScannedRevision(HubRepoId repo, string commit, IReadOnlyList<string> refs, string snapshotPath)
    {
        Repo = repo;
        Commit = commit;
        Refs = refs;
        SnapshotPath = snapshotPath;
    }

    public HubRepoId Repo { get; }

    public string Commit { get; }

    public IReadOnlyList<string> Refs { get; }

    public string SnapshotPath { get; }
}
