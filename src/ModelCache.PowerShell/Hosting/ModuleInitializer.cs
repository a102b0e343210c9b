using System.Management.Automation;

namespace ModelCache.PowerShell.Hosting;

/// <summary>Resets process configuration when the module is removed, so a re-import starts clean.</summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport()
    {
    }

    public void OnRemove(PSModuleInfo psModuleInfo) => ModuleState.ProcessCacheRoot = null;
}
