using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// Windows PowerShell 5.1 (.NET Framework) binds strong-named dependencies by exact version and
/// has no binding redirects for a module, so e.g. Polly asking for Microsoft.Bcl.AsyncInterfaces
/// 6.0 would not find the 8.0 copy shipped beside it. This resolves such requests to the copy in
/// the module's folder, whatever its version. PowerShell 7's loader needs no help.
/// </summary>
internal static class DependencyResolver
{
    private static readonly string ModuleDirectory = Path.GetDirectoryName(typeof(DependencyResolver).Assembly.Location)!;

    public static bool IsNeeded => RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal);

    public static void Register() => AppDomain.CurrentDomain.AssemblyResolve += Resolve;

    public static void Unregister() => AppDomain.CurrentDomain.AssemblyResolve -= Resolve;

    private static Assembly? Resolve(object? sender, ResolveEventArgs args)
    {
        var name = new AssemblyName(args.Name).Name;
        var candidate = Path.Combine(ModuleDirectory, name + ".dll");
        return File.Exists(candidate) ? Assembly.LoadFrom(candidate) : null;
    }
}
