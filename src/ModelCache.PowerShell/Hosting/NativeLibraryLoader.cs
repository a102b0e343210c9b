using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using ModelCache.Errors;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// Makes ONNX Runtime's and SkiaSharp's native libraries load from the module's
/// <c>bin/dependencies/runtimes/&lt;rid&gt;/native/</c> folder. ORT's netstandard2.0 assembly imports plain
/// <c>onnxruntime</c> with no search logic, PowerShell 7's fallback looks for the wrong file name
/// on Linux, and Windows PowerShell 5.1 does not look in the module at all. So:
/// <list type="bullet">
/// <item>.NET on any OS: <see cref="Resolve"/> is the DllImport resolver of the assemblies in the module's
/// load context (see <see cref="ModuleLoadContext"/>), loading by full path and caching the handle; other
/// modules' copies of the same libraries are not affected;</item>
/// <item>Windows: lazily before the first ORT/Skia call (never at import), both DLLs are also loaded by full
/// path, so that Windows PowerShell 5.1's loader matches later imports by module name.</item>
/// </list>
/// Missing files give one ModelCacheException naming the expected path.
/// </summary>
internal static class NativeLibraryLoader
{
    private static readonly object Gate = new();
    private static readonly ConcurrentDictionary<string, IntPtr> Handles = new(StringComparer.Ordinal);
    private static bool _ready;

    /// <summary>The folder natives are loaded from, e.g. module/bin/dependencies/runtimes/linux-x64/native.</summary>
    public static string NativeDirectory => Path.Combine(DependencyResolver.DependencyDirectory, "runtimes", RuntimeId, "native");

    private static string RuntimeId
    {
        get
        {
            var arch = RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.X64 => "x64",
                Architecture.Arm64 => "arm64",
                Architecture.X86 => "x86",
                Architecture.Arm => "arm",
                var other => other.ToString().ToLowerInvariant(),
            };
            var os = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "win" : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "osx" : "linux";
            return os + "-" + arch;
        }
    }

    private static bool IsWindows => RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

    private static string OnnxRuntimeFile => IsWindows ? "onnxruntime.dll" : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "libonnxruntime.dylib" : "libonnxruntime.so";

    private static string SkiaFile => IsWindows ? "libSkiaSharp.dll" : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "libSkiaSharp.dylib" : "libSkiaSharp.so";

    /// <summary>Prepares native loading once per process; throws NativeLibraryMissing when the files are not there.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_ready)
            {
                return;
            }

            foreach (var file in new[] { OnnxRuntimeFile, SkiaFile })
            {
                var path = Path.Combine(NativeDirectory, file);
                if (!File.Exists(path))
                {
                    throw Missing(path, null);
                }
            }

            if (IsWindows)
            {
                // Windows PowerShell 5.1 has no AssemblyLoadContext: a module already loaded by full path
                // satisfies the later DllImport("onnxruntime") by its module name.
                foreach (var file in new[] { OnnxRuntimeFile, SkiaFile })
                {
                    var path = Path.Combine(NativeDirectory, file);
                    var handle = LoadLibraryEx(path, IntPtr.Zero, LoadWithAlteredSearchPath);
                    if (handle == IntPtr.Zero)
                    {
                        throw Missing(path, new System.ComponentModel.Win32Exception(Marshal.GetLastWin32Error()));
                    }

                    Handles[file] = handle;
                }
            }

            _ready = true;
        }
    }

    /// <summary>The error to show when a type initializer failed because a native library did not load.</summary>
    public static ModelCacheException Missing(Exception inner) => Missing(Path.Combine(NativeDirectory, OnnxRuntimeFile), inner);

    /// <summary>True for the exception .NET throws when a DllImport cannot be resolved (possibly wrapped by a type initializer).</summary>
    public static bool IsNativeLoadFailure(Exception ex) =>
        ex is DllNotFoundException || ex is BadImageFormatException || (ex is TypeInitializationException && ex.InnerException is { } inner && IsNativeLoadFailure(inner));

    /// <summary>
    /// DllImport resolver of the module's assemblies (a <c>DllImportResolver</c>): consulted before the runtime's
    /// own probing, many times for SkiaSharp; zero lets the runtime probe as usual.
    /// </summary>
    public static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        string? file = null;
        if (name.IndexOf("onnxruntime", StringComparison.OrdinalIgnoreCase) >= 0 && name.IndexOf("providers", StringComparison.OrdinalIgnoreCase) < 0)
        {
            file = OnnxRuntimeFile;
        }
        else if (name.IndexOf("SkiaSharp", StringComparison.OrdinalIgnoreCase) >= 0)
        {
            file = SkiaFile;
        }

        if (file is null)
        {
            return IntPtr.Zero;
        }

        return Handles.GetOrAdd(file, f => NativeLoad(Path.Combine(NativeDirectory, f)));
    }

    /// <summary>System.Runtime.InteropServices.NativeLibrary.TryLoad(path, out handle), found by reflection.</summary>
    private static IntPtr NativeLoad(string path)
    {
        var nativeLibrary = Type.GetType("System.Runtime.InteropServices.NativeLibrary, System.Runtime.InteropServices", throwOnError: false);
        var tryLoad = nativeLibrary?.GetMethods(BindingFlags.Public | BindingFlags.Static)
            .FirstOrDefault(m => m.Name == "TryLoad" && m.GetParameters().Length == 2 && m.GetParameters()[0].ParameterType == typeof(string));
        if (tryLoad is null)
        {
            return IntPtr.Zero;
        }

        var args = new object?[] { path, IntPtr.Zero };
        return (bool)tryLoad.Invoke(null, args)! ? (IntPtr)args[1]! : IntPtr.Zero;
    }

    private static ModelCacheException Missing(string path, Exception? inner) => new(
        "NativeLibraryMissing", ModelCacheErrorKind.ResourceUnavailable,
        $"The native library '{path}' needed for face detection could not be loaded{(inner is null ? " (the file does not exist)" : ": " + inner.Message)}. Supported platforms: win-x64, win-arm64, linux-x64, linux-arm64, osx-arm64.",
        "Reinstall the ModelCache module (a complete copy, on a supported platform): its module/bin/dependencies/runtimes/<rid>/native folder must hold the ONNX Runtime and SkiaSharp libraries for this platform.",
        inner);

    private const uint LoadWithAlteredSearchPath = 0x00000008;

    [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
    private static extern IntPtr LoadLibraryEx(string fileName, IntPtr file, uint flags);
}
