namespace ModelCache.Locations;

/// <summary>The effective cache root and why it was chosen.</summary>
public sealed class CacheLocation
{
    public CacheLocation(string path, CacheLocationSource source, string detail)
    {
        Path = path;
        Source = source;
        Detail = detail;
    }

    public string Path { get; }

    public CacheLocationSource Source { get; }

    /// <summary>Human-readable origin, e.g. <c>$env:MODELCACHE_HOME</c>.</summary>
    public string Detail { get; }

    public override string ToString() => Path;
}
