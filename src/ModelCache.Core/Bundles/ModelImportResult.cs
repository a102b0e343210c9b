namespace ModelCache.Bundles;

/// <summary>What an import did with one model of a bundle or a folder.</summary>
public enum ModelImportStatus
{
    /// <summary>Verified and placed in the cache.</summary>
    Imported,

    /// <summary>Already cached and valid; nothing was copied.</summary>
    Skipped,

    /// <summary>Not placed (see <see cref="ModelImportResult.Reason"/>); nothing unverified was written.</summary>
    Failed,
}

/// <summary>One model of an import.</summary>
public sealed class ModelImportResult
{
    public ModelImportResult(string name, ModelImportStatus status, string? path, long bytes, string? reason, string bundle, string? source = null)
    {
        Source = source;
        Name = name;
        Status = status;
        Path = path;
        Bytes = bytes;
        Reason = reason;
        Bundle = bundle;
    }

    public string Name { get; }

    public ModelImportStatus Status { get; }

    /// <summary>The model's file in the cache; null when it failed.</summary>
    public string? Path { get; }

    /// <summary>Bytes copied from the bundle.</summary>
    public long Bytes { get; }

    public string? Reason { get; }

    /// <summary>The bundle, static mirror or folder imported from.</summary>
    public string Bundle { get; }

    /// <summary>Where the model's bytes were read: the bundle entry, or the matched file in a folder.</summary>
    public string? Source { get; }

    public override string ToString() => $"{Name}: {Status}";
}
