namespace ModelCache.Sync;

/// <summary>What one Sync-ModelCache run changed.</summary>
public sealed class SyncSummary
{
    public string CacheRoot { get; set; } = string.Empty;

    public string Manifest { get; set; } = string.Empty;

    public int Added { get; set; }

    public int Repaired { get; set; }

    public int Removed { get; set; }

    public int Unchanged { get; set; }

    public int Failed { get; set; }

    public long BytesTransferred { get; set; }

    /// <summary>What the manifest's models take together, by their catalog sizes.</summary>
    public long ManifestBytes { get; set; }

    /// <summary>True when the manifest alone is bigger than the cache's quota (MaxSize): its models are kept regardless.</summary>
    public bool QuotaExceeded { get; set; }

    /// <summary>Entries removed afterwards to bring the cache under its quota.</summary>
    public int Evicted { get; set; }

    /// <summary>True when the run changed nothing and nothing failed.</summary>
    public bool InDesiredState => Added == 0 && Repaired == 0 && Removed == 0 && Failed == 0;
}
