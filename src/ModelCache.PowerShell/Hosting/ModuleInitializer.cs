using System.Management.Automation;
using System.Threading;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// Binds the module's dependencies at import, and when the last runspace that imported the module
/// removes it, frees what the module holds for the process (ONNX Runtime sessions, the process-scope
/// cache location), so a re-import starts clean while other runspaces keep working meanwhile.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private static int _imports;

    public void OnImport()
    {
        if (Interlocked.Increment(ref _imports) == 1)
        {
            DependencyResolver.Register();
        }
    }

    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        if (Interlocked.Decrement(ref _imports) > 0)
        {
            return;
        }

        ModuleState.Reset();
        FaceDetection.Reset();
        DependencyResolver.Unregister();
    }
}
