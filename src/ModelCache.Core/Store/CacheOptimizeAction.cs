namespace ModelCache.Store;

/// <summary>What Optimize-ModelCache did to one file.</summary>
public enum CacheOptimizeActionKind
{
    /// <summary>A partial download (and its resume state) that no process was writing was deleted.</summary>
    RemovedPartial,

    /// <summary>A model file that did not hash to the catalog's SHA-256 was deleted.</summary>
    RemovedCorrupt,

    /// <summary>A model file that did not hash to the catalog's SHA-256 was moved to the quarantine folder.</summary>
    Quarantined,

    /// <summary>Lost or untrusted metadata was written again from the file itself.</summary>
    RebuiltMetadata,

    /// <summary>A file with the same content as another entry's was replaced by a hard link to it.</summary>
    Deduplicated,

    /// <summary>A file no catalog knows was removed (only with -RemoveOrphans).</summary>
    RemovedOrphan,

    /// <summary>An ONNX Runtime–optimized copy was written beside the model.</summary>
    Precompiled,
}

/// <summary>One thing Optimize-ModelCache did, as it reports it.</summary>
public sealed class CacheOptimizeAction
{
    public CacheOptimizeAction(CacheOptimizeActionKind action, string name, string path, long bytesFreed, string detail)
    {
        Action = action;
        Name = name;
        Path = path;
        BytesFreed = bytesFreed;
        Detail = detail;
    }

    public CacheOptimizeActionKind Action { get; }

    /// <summary>The model's qualified name (<c>Family/Member</c>), or the file name of an orphan in a flat folder.</summary>
    public string Name { get; }

    /// <summary>The file acted on.</summary>
    public string Path { get; }

    /// <summary>Disk space given back (0 for a move to quarantine, rebuilt metadata or a precompiled copy).</summary>
    public long BytesFreed { get; }

    public string Detail { get; }

    public override string ToString() => $"{Action} {Name}";
}
