using ModelCache.Configuration;
using ModelCache.Locations;
using ModelCache.Store;

namespace ModelCache.Operations;

/// <summary>The cache quota as settings: the one in effect, and writing one to a settings file (Set-ModelCacheQuota).</summary>
public static class QuotaSettings
{
    /// <summary>The quota in effect: the session's (<paramref name="processMaxSize"/>), else the environment's, else the settings files'.</summary>
    public static CacheQuota Effective(IEnvironment environment, long? processMaxSize) => CacheQuota.Resolve(null, environment, processMaxSize);

    /// <summary>Writes <paramref name="maxSize"/> (null removes the quota) to <paramref name="settings"/>.</summary>
    public static void Write(SettingsStore settings, long? maxSize) => CacheQuota.Write(settings, maxSize);
}
