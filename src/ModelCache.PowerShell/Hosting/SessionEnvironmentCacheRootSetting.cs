using ModelCache.Configuration;
using ModelCache.Locations;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// $env:MODELCACHE_HOME of this process (the session and what it starts) as a setting a whole-root move repoints, so
/// the session goes on with the moved cache. Where the variable is defined (a profile, a service unit) is the user's to change.
/// </summary>
internal sealed class SessionEnvironmentCacheRootSetting : ICacheRootSetting
{
    public const string SettingDescription = "$env:" + EnvironmentVariables.Home + " in this session";

    public string Description => SettingDescription;

    public string? ReadCacheRoot() => System.Environment.GetEnvironmentVariable(EnvironmentVariables.Home);

    public void WriteCacheRoot(string? cacheRoot) => System.Environment.SetEnvironmentVariable(EnvironmentVariables.Home, cacheRoot);
}
