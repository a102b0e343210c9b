namespace ModelCache.Locations;

/// <summary>The effective cache root, or the folder of one model, and why it was chosen.</summary>
public sealed class CacheLocation
{
    public CacheLocation(string path, CacheLocationSource source, string detail, string? model = null)
    {
        Path = path;
        Source = source;
        Detail = detail;
        Model = model;
    }

    /// <summary>The <c>Family/Member</c> this location is for; null for a cache root.</summary>
    public string? Model { get; }

    public string Path { get; }

    public CacheLocationSource Source { get; }

    /// <summary>Human-readable origin, e.g. <c>$env:MODELCACHE_HOME</c>.</summary>
    public string Detail { get; }

    public override string ToString() => Path;
}
