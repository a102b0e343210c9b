using ModelCache.Locations;

namespace ModelCache.PowerShell.Hosting;

/// <summary>Set-ModelCacheLocation -Scope Process as a setting a whole-root move repoints.</summary>
internal sealed class ProcessCacheRootSetting : ICacheRootSetting
{
    public string Description => "Set-ModelCacheLocation -Scope Process";

    public string? ReadCacheRoot() => ModuleState.ProcessCacheRoot;

    public void WriteCacheRoot(string? cacheRoot) => ModuleState.ProcessCacheRoot = cacheRoot;
}
