using System.Management.Automation;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// Hooks dependency resolution on Windows PowerShell 5.1 at import, and undoes everything the
/// module set up for the process when it is removed, so a re-import starts clean.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport()
    {
        if (DependencyResolver.IsNeeded)
        {
            DependencyResolver.Register();
        }
    }

    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        ModuleState.ProcessCacheRoot = null;
        FaceDetection.Reset();
        NativeLibraryLoader.Unregister();
        if (DependencyResolver.IsNeeded)
        {
            DependencyResolver.Unregister();
        }
    }
}
