using System;
using System.IO;
using System.Reflection;
using System.Threading;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// Binds the cmdlet assembly to the module's dependencies, which ship in <c>bin/dependencies</c> where
/// neither PowerShell's nor .NET's probing finds them by themselves:
/// <list type="bullet">
/// <item>PowerShell 7: the cmdlet assembly's requests for ModelCache.Core, ModelCache.Inference and ModelCache.Server are
/// answered from the <see cref="ModuleLoadContext"/>, and everything those need resolves inside it.</item>
/// <item>Windows PowerShell 5.1 (.NET Framework): there are no load contexts, and strong-named
/// dependencies bind by exact version with no binding redirects for a module (Polly asks for
/// Microsoft.Bcl.AsyncInterfaces 6.0, the module ships 8.0); any request for an assembly the module
/// ships is answered with that file, whatever the version asked for. Nothing is isolated there.</item>
/// </list>
/// </summary>
internal static class DependencyResolver
{
    private static readonly Assembly CmdletAssembly = typeof(DependencyResolver).Assembly;

    /// <summary>bin/dependencies beside the cmdlet assembly.</summary>
    public static string DependencyDirectory { get; } = Path.Combine(Path.GetDirectoryName(CmdletAssembly.Location)!, "dependencies");

    private static readonly Lazy<ModuleLoadContext?> LoadContext = new(
        () => ModuleLoadContext.TryCreate("ModelCache", DependencyDirectory, NativeLibraryLoader.Resolve),
        LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The module's load context on PowerShell 7; null on Windows PowerShell 5.1.</summary>
    public static ModuleLoadContext? Context => LoadContext.Value;

    public static void Register()
    {
        // Created once per process: the cmdlet assembly binds its references once, and a re-import after
        // Remove-Module reuses that assembly, so it must find the same context.
        _ = LoadContext.Value;
        AppDomain.CurrentDomain.AssemblyResolve += Resolve;
    }

    public static void Unregister() => AppDomain.CurrentDomain.AssemblyResolve -= Resolve;

    private static Assembly? Resolve(object? sender, ResolveEventArgs args)
    {
        var name = new AssemblyName(args.Name).Name;
        if (name is null)
        {
            return null;
        }

        if (Context is { } context)
        {
            // Only the cmdlet assembly crosses into the context; other modules keep their own resolution.
            return args.RequestingAssembly is null || args.RequestingAssembly == CmdletAssembly ? context.Find(name) : null;
        }

        var candidate = Path.Combine(DependencyDirectory, name + ".dll");
        return File.Exists(candidate) ? Assembly.LoadFrom(candidate) : null;
    }
}
