namespace ModelCache.Locations;

/// <summary>
/// A setting that names the native cache root (the user's settings file, a PowerShell process's setting), so a
/// move of the whole root can repoint it.
/// </summary>
public interface ICacheRootSetting
{
    /// <summary>What the setting is, for messages (e.g. <c>Set-ModelCacheLocation -Scope CurrentUser (path)</c>).</summary>
    string Description { get; }

    /// <summary>The root the setting names, as written; null when it names none.</summary>
    string? ReadCacheRoot();

    void WriteCacheRoot(string? cacheRoot);
}
