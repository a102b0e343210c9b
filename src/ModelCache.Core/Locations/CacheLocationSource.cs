namespace ModelCache.Locations;

/// <summary>Where the effective cache root came from, highest precedence first.</summary>
public enum CacheLocationSource
{
    Parameter,
    ProcessSetting,
    UserSetting,
    AllUsersSetting,
    EnvironmentVariable,
    XdgCacheHome,
    PlatformDefault,
}
