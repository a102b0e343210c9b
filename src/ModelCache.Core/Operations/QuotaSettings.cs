using ModelCache.Configuration;
using ModelCache.Locations;
using ModelCache.Store;

namespace ModelCache.Operations;

/// <summary>The cache quota as settings: the one in effect, and writing one to a settings file (Set-ModelCacheQuota).</summary>
public static class QuotaSettings
{
    /// <summary>
    /// The quota in effect: a command's own -MaxSize (<paramref name="explicitMaxSize"/>), else the session's
    /// (<paramref name="processMaxSize"/>), else the settings files'.
    /// </summary>
    public static CacheQuota Effective(IEnvironment environment, long? processMaxSize, long? explicitMaxSize = null) =>
        CacheQuota.Resolve(explicitMaxSize, environment, processMaxSize);

    /// <summary>Writes <paramref name="maxSize"/> (null removes the quota) to <paramref name="settings"/>.</summary>
    public static void Write(SettingsStore settings, long? maxSize) => CacheQuota.Write(settings, maxSize);
}
