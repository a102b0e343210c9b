namespace ModelCache.HuggingFace;

/// <summary>What a removal did.</summary>
public sealed class HubRemovalResult
{
    internal HubRemovalResult(HubRemovalPlan plan, long bytesFreed, int filesRemoved, int blobsKept)
    {
        Plan = plan;
        BytesFreed = bytesFreed;
        FilesRemoved = filesRemoved;
        BlobsKept = blobsKept;
    }

    public HubRemovalPlan Plan { get; }

    public long BytesFreed { get; }

    /// <summary>Snapshot files, blobs and refs deleted.</summary>
    public int FilesRemoved { get; }

    /// <summary>Planned blobs left in place because a revision saved since the plan links to them.</summary>
    public int BlobsKept { get; }
}
