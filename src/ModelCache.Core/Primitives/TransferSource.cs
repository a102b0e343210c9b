namespace ModelCache.Primitives;

/// <summary>Where the bytes of a saved model came from.</summary>
public enum TransferSource
{
    /// <summary>Already cached and verified; nothing was transferred.</summary>
    Cache,
    Mirror,
    Upstream,

    /// <summary>Imported from a bundle (Import-ModelCache).</summary>
    Bundle,

    /// <summary>Copied from another cache root (Move-ModelCache).</summary>
    CacheRoot,

    /// <summary>Copied from a file the user named (Import-Model).</summary>
    File,
}
