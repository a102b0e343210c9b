namespace ModelCache.Store;

/// <summary>A cache's health at a glance, worst first when several apply: Corrupt, Cluttered, Large, Good.</summary>
public enum CacheHealth
{
    /// <summary>Nothing to act on.</summary>
    Good,

    /// <summary>Over the size threshold.</summary>
    Large,

    /// <summary>Over the file-count threshold, or holding partial downloads or orphan files.</summary>
    Cluttered,

    /// <summary>An entry failed its last hash check, or metadata was not trusted.</summary>
    Corrupt,
}

/// <summary>Where Large and Cluttered begin. The defaults are the model manager's: 5 GiB and 50 files.</summary>
public sealed class CacheHealthThresholds
{
    public const long DefaultMaxBytes = 5L << 30;
    public const int DefaultMaxFiles = 50;

    public CacheHealthThresholds(long maxBytes = DefaultMaxBytes, int maxFiles = DefaultMaxFiles)
    {
        MaxBytes = maxBytes;
        MaxFiles = maxFiles;
    }

    /// <summary>A cache holding more bytes than this is Large.</summary>
    public long MaxBytes { get; }

    /// <summary>A cache holding more files (models, orphans, partials) than this is Cluttered.</summary>
    public int MaxFiles { get; }

    public override string ToString() => $"Large over {ModelCache.Primitives.ByteSize.Format(MaxBytes)}, Cluttered over {MaxFiles} files";
}
