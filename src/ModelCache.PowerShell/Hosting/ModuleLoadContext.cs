using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// The module's own <c>AssemblyLoadContext</c> on PowerShell 7 (.NET). Every dependency that the
/// .NET shared framework does not provide (ModelCache.Core, ModelCache.Inference, ModelCache.Server, SkiaSharp, ONNX
/// Runtime's managed API, Polly, Newtonsoft.Json, System.Numerics.Tensors, the Microsoft.Bcl.*
/// packages) is loaded into it from <c>bin/dependencies</c>, so another module's version of the same
/// assembly, loaded before or after, is a different assembly in a different context.
/// </summary>
/// <remarks>
/// netstandard2.0 has no <c>AssemblyLoadContext</c>, so the context is made through reflection, and all
/// of its assemblies are loaded into it up front: a context resolves a name from its own loaded
/// assemblies first, before it falls back to the default context, where a conflicting version may
/// already sit. Loading by path maps the files; it runs no code and loads no native library. Assemblies
/// the shared framework has (System.Memory and other facades) are left to the default context, so
/// <c>Span&lt;T&gt;</c> and friends stay the runtime's own types.
/// </remarks>
internal sealed class ModuleLoadContext
{
    private readonly Dictionary<string, Assembly> _assemblies;

    private ModuleLoadContext(object context, Dictionary<string, Assembly> assemblies)
    {
        Context = context;
        _assemblies = assemblies;
    }

    /// <summary>The <c>System.Runtime.Loader.AssemblyLoadContext</c> instance.</summary>
    public object Context { get; }

    /// <summary>
    /// Creates the context and loads every non-framework assembly of <paramref name="directory"/> into it;
    /// null on .NET Framework (Windows PowerShell 5.1), which has no load contexts.
    /// </summary>
    public static ModuleLoadContext? TryCreate(string name, string directory, Func<string, Assembly, DllImportSearchPath?, IntPtr> resolveNative)
    {
        var contextType = typeof(object).Assembly.GetType("System.Runtime.Loader.AssemblyLoadContext");
        if (contextType is null)
        {
            return null;
        }

        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"ModelCache's dependencies folder '{directory}' is missing. Rebuild the module (dotnet build ModelCache.sln) or reinstall it.");
        }

        var context = contextType.GetConstructor(new[] { typeof(string), typeof(bool) })!.Invoke(new object[] { name, false });
        var loadFromPath = contextType.GetMethod("LoadFromAssemblyPath", new[] { typeof(string) })!;
        var frameworkDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var assemblies = new Dictionary<string, Assembly>(StringComparer.OrdinalIgnoreCase);
        foreach (var path in Directory.GetFiles(directory, "*.dll").OrderBy(p => p, StringComparer.Ordinal))
        {
            var simpleName = Path.GetFileNameWithoutExtension(path);
            if (File.Exists(Path.Combine(frameworkDirectory, simpleName + ".dll")))
            {
                continue;
            }

            assemblies[simpleName] = (Assembly)loadFromPath.Invoke(context, new object[] { path })!;
        }

        // Native imports of the context's assemblies (onnxruntime, libSkiaSharp) are answered first by the
        // module, before the runtime's own probing, which would hand out a same-named library another
        // module loaded already (an older libSkiaSharp fails SkiaSharp's native version check).
        var nativeLibrary = typeof(object).Assembly.GetType("System.Runtime.InteropServices.NativeLibrary")!;
        var setResolver = nativeLibrary.GetMethod("SetDllImportResolver")!;
        var resolver = Delegate.CreateDelegate(setResolver.GetParameters()[1].ParameterType, resolveNative.Target, resolveNative.Method);
        foreach (var assembly in assemblies.Values)
        {
            setResolver.Invoke(null, new object[] { assembly, resolver });
        }

        return new ModuleLoadContext(context, assemblies);
    }

    /// <summary>The assembly of that simple name loaded in this context, if the module ships it.</summary>
    public Assembly? Find(string simpleName) => _assemblies.TryGetValue(simpleName, out var assembly) ? assembly : null;
}
