using System;
using System.IO;

namespace ModelCache.IO;

/// <summary>
/// What the store may trust about the files under a cache root, which may be a copy from a stranger:
/// names it writes itself, links it must not follow, and plain file names.
/// </summary>
public static class CacheFiles
{
    public const string MetadataFileName = "entry.json";
    public const string PartialSuffix = ".partial";

    /// <summary>Beside a partial download: where it came from and its validator, for resuming.</summary>
    public const string PartialStateSuffix = ".partial.json";

    /// <summary>In a layout's state folder: the model names the last Sync-ModelCache manifest listed (<see cref="LastSyncRecord"/>).</summary>
    public const string LastSyncFileName = "lastSync.json";

    /// <summary>Suffix of the store's temporary files (atomic metadata writes).</summary>
    public const string TempSuffix = ".tmp";

    /// <summary>An ONNX Runtime–optimized copy of a model, kept beside it (<c>model.onnx.optimized.onnx</c>).</summary>
    public const string OptimizedSuffix = ".optimized.onnx";

    /// <summary>Beside an optimized copy: the key it was built for and the copy's own SHA-256.</summary>
    public const string OptimizedKeySuffix = ".optimized.json";

    /// <summary>
    /// Where the file that becomes <paramref name="finalPath"/> is staged while it is written (resumable: the same name
    /// every time). <paramref name="suffix"/> is the layout's convention: <see cref="PartialSuffix"/>, or the hub's <c>.incomplete</c>.
    /// The one place partial names are built.
    /// </summary>
    public static string PartialPathFor(string finalPath, string suffix = PartialSuffix) => finalPath + suffix;

    /// <summary>Beside the partial of <paramref name="finalPath"/>: where it came from, for resuming it.</summary>
    public static string PartialStatePathFor(string finalPath) => finalPath + PartialStateSuffix;

    /// <summary>A fresh temporary name beside <paramref name="finalPath"/> for a file written whole and then renamed over it.</summary>
    public static string TempPathFor(string finalPath) => finalPath + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + TempSuffix;

    /// <summary>Where the key of the optimized copy at <paramref name="optimizedPath"/> is kept.</summary>
    public static string OptimizedKeyPath(string optimizedPath) =>
        optimizedPath.Substring(0, optimizedPath.Length - OptimizedSuffix.Length) + OptimizedKeySuffix;

    /// <summary>A metadata file larger than this is corrupt, not read.</summary>
    public const long MaxMetadataBytes = 1 << 20;

    /// <summary>True for a name the store writes beside a model, which no model file may take.</summary>
    public static bool IsStoreFileName(string name) => name == MetadataFileName || IsWorkFile(name) || IsDerivedFile(name);

    /// <summary>Files derived from a model (its optimized copy and that copy's key), removed with it.</summary>
    public static bool IsDerivedFile(string name) =>
        name.EndsWith(OptimizedSuffix, StringComparison.Ordinal) || name.EndsWith(OptimizedKeySuffix, StringComparison.Ordinal);

    /// <summary>Partial downloads, their resume state and temporary files.</summary>
    public static bool IsWorkFile(string name) =>
        name.EndsWith(PartialSuffix, StringComparison.Ordinal) || name.EndsWith(PartialStateSuffix, StringComparison.Ordinal) || name.EndsWith(TempSuffix, StringComparison.Ordinal);

    /// <summary>A single path segment that names a file: no separators, not '.' or '..', no invalid characters.</summary>
    public static bool IsPlainFileName(string? name) =>
        !string.IsNullOrEmpty(name) && name is not "." and not ".." && name!.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && name.IndexOfAny(new[] { '/', '\\' }) < 0;

    /// <summary>
    /// True when <paramref name="path"/> is a symbolic link, junction or other reparse point (checked on the
    /// link itself, not its target), so that nothing is read, written or deleted through it.
    /// </summary>
    public static bool IsLink(string path) => IO.RootGuard.IsLink(path);
}
