using System.Collections.Generic;

namespace ModelCache.HuggingFace;

/// <summary>What a removal did.</summary>
public sealed class HubRemovalResult
{
    internal HubRemovalResult(HubRemovalPlan plan, long bytesFreed, int filesRemoved, int blobsKept, bool repoRemoved = false)
    {
        RepoRemoved = repoRemoved || plan.WholeRepo;
        Plan = plan;
        BytesFreed = bytesFreed;
        FilesRemoved = filesRemoved;
        BlobsKept = blobsKept;
    }

    public HubRemovalPlan Plan { get; }

    /// <summary>The repository id, <c>org/name</c>.</summary>
    public string Repo => Plan.Repo;

    /// <summary>Commit ids whose snapshots were removed (every cached one for a whole repo).</summary>
    public IReadOnlyList<string> Revisions => Plan.Revisions;

    /// <summary>True when the repo folder itself went (a whole repo, or its last revision pruned).</summary>
    public bool RepoRemoved { get; }

    public long BytesFreed { get; }

    /// <summary>Snapshot files, blobs and refs deleted.</summary>
    public int FilesRemoved { get; }

    /// <summary>Planned blobs left in place because a revision that stays (saved since the plan, or declined) links to them.</summary>
    public int BlobsKept { get; }
}
