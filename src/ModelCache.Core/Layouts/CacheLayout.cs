using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.IO;

namespace ModelCache.Layouts;

/// <summary>
/// Where a layout keeps each model's files under a cache root, how to find the files it holds, and
/// whether it may be written. The root may be a copy from a stranger, so containment lives here, once,
/// for every layout: paths are built from catalog names and the layout alone, and nothing is read,
/// written or removed through a link under the root (the root itself may be a link).
/// </summary>
public abstract class CacheLayout
{
    protected CacheLayout(string root)
    {
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    public abstract CacheLayoutKind Kind { get; }

    /// <summary>The folder holding a model's file and its partial download (so promotion is a same-folder rename).</summary>
    public abstract string GetModelDirectory(ModelDefinition model);

    /// <summary>Where the complete, verified file of <paramref name="model"/> lives.</summary>
    public string GetModelPath(ModelDefinition model) => Path.Combine(GetModelDirectory(model), model.FileName);

    /// <summary>The folder a listed slot's file is in.</summary>
    public abstract string GetSlotDirectory(string family, string member);

    /// <summary>Where the entry's metadata lives (beside the file, or outside a foreign root); null when none is kept.</summary>
    public abstract string? GetMetadataPath(string family, string member);

    /// <summary>The lock file that serialises saves, removals and metadata writes of one model across processes.</summary>
    public abstract string GetLockPath(string family, string member);

    /// <summary>
    /// The folder holding the layout's own files (locks, and metadata kept apart from the model files): the root
    /// itself for the native layout, the user's state folder for a foreign one. Checked for links like the root.
    /// </summary>
    public abstract string StateRoot { get; }

    /// <summary>
    /// Where files derived from a model (an optimized copy) go: beside the model by default; a layout whose folder
    /// belongs to another tool keeps them in its state folder instead.
    /// </summary>
    public virtual string GetDerivedDirectory(string family, string member) => GetSlotDirectory(family, member);

    /// <summary>Where Optimize-ModelCache -Quarantine moves corrupt model files: in the state folder, never served as a model.</summary>
    public string QuarantineDirectory => Path.Combine(StateRoot, "quarantine");

    /// <summary>
    /// Every model file place under the root, catalog models and orphans, without following links. What is
    /// skipped because it cannot be trusted (a link) is added to <paramref name="problems"/>.
    /// </summary>
    public abstract IEnumerable<LayoutSlot> EnumerateSlots(ModelCatalog catalog, ICollection<ModelCacheException>? problems = null);

    /// <summary>
    /// False for files the layout may only remove when the user names them (orphans in another tool's
    /// folder, which may be that tool's own files).
    /// </summary>
    public virtual bool MayRemoveUnnamed(bool inCatalog) => true;

    /// <summary>True when every file in the slot's folder belongs to that one model (so all its work files are the model's).</summary>
    public virtual bool SlotDirectoryIsExclusive(string family, string member) => false;

    /// <summary>The root that contains <paramref name="fullPath"/> when the caller names none: the cache root, unless the layout keeps some files elsewhere.</summary>
    protected virtual string ContainingRootOf(string fullPath) => Root;

    /// <summary>Why the root looks like another tool's cache, which this layout must not write into; null when it does not.</summary>
    protected abstract string? DescribeForeignContent();

    /// <summary>
    /// The folder holding the layout's lock files (under <see cref="StateRoot"/>); null for a layout that is never locked.
    /// </summary>
    public virtual string? LockRoot => null;

    /// <summary>The error saying the root holds another tool's layout, which this one must not write into; null when it does not. Writes nothing.</summary>
    public ModelCacheException? CheckForeign() =>
        Directory.Exists(Root) && DescribeForeignContent() is { } foreign
            ? new ModelCacheException("CacheRootIsForeignLayout", ModelCacheErrorKind.InvalidArgument,
                $"Refusing to write the {Kind} layout into '{Root}': {foreign}.",
                $"Pass the matching -Layout to work with that cache, or choose an empty folder or a {Kind} cache root with -CachePath.")
            : null;

    /// <summary>Null when the root is (made) writable for this layout; otherwise the error saying why not.</summary>
    public ModelCacheException? CheckWritable() => CheckForeign() ?? CheckFolderWritable(Root, CreateLayoutFolders);

    /// <summary>
    /// Null when <paramref name="folder"/> exists (created if needed) and takes a file; otherwise the
    /// CacheRootNotWritable error saying why. <paramref name="prepare"/> runs once the folder exists.
    /// </summary>
    public static ModelCacheException? CheckFolderWritable(string folder, Action? prepare = null)
    {
        try
        {
            Directory.CreateDirectory(folder);
            prepare?.Invoke();
            var probe = Path.Combine(folder, ".write-test-" + Guid.NewGuid().ToString("N"));
            RegularFile.Open(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None).Dispose();
            File.Delete(probe);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new ModelCacheException("CacheRootNotWritable", ModelCacheErrorKind.PermissionDenied,
                $"The model cache folder '{folder}' is not writable: {ex.Message}",
                "Choose another folder with -CachePath, Set-ModelCacheLocation or $env:MODELCACHE_HOME, or fix the directory's permissions.", ex);
        }
    }

    /// <summary>True when the root holds a Hugging Face hub cache (<c>models--*</c> folders or the hub's <c>.locks</c>), which no other layout writes into.</summary>
    protected static bool HoldsHubCache(IReadOnlyList<string> rootFolders) =>
        rootFolders.Any(name => name.StartsWith("models--", StringComparison.Ordinal) || name == ".locks");

    /// <summary>The names of the root's sub-folders, to recognise another tool's layout.</summary>
    protected IReadOnlyList<string> RootFolderNames() => Directory.GetDirectories(Root).Select(Path.GetFileName).ToList()!;

    /// <summary>Creates the folders every write needs (called once the root is known to be this layout's).</summary>
    protected virtual void CreateLayoutFolders()
    {
    }

    /// <summary>
    /// True when <paramref name="path"/> lies under <paramref name="containingRoot"/> (the root by default) and
    /// no folder between them, nor the path itself, is a link.
    /// </summary>
    public bool IsContained(string path, string? containingRoot = null) =>
        new RootGuard(containingRoot ?? ContainingRootOf(Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar))).IsContained(path);

    /// <summary>Throws CacheFolderIsLink unless <paramref name="path"/> is contained (see <see cref="IsContained"/>).</summary>
    public void EnsureContained(string path, string? containingRoot = null)
    {
        if (!IsContained(path, containingRoot))
        {
            throw LinkRefused(path);
        }
    }

    internal static ModelCacheException LinkRefused(string path) => RootGuard.LinkRefused(path);

    /// <summary>A link found while walking the root: skipped, and said.</summary>
    protected static ModelCacheException LinkSkipped(string path) => RootGuard.LinkSkipped(path);

    /// <summary>Sub-folders that are real folders, not links (which would lead out of the root); empty when it vanished.</summary>
    protected static IEnumerable<string> RealDirectories(string directory, ICollection<ModelCacheException>? problems)
    {
        try
        {
            var found = new List<string>();
            foreach (var child in Directory.GetDirectories(directory))
            {
                if (!CacheFiles.IsLink(child))
                {
                    found.Add(child);
                }
                else
                {
                    problems?.Add(LinkSkipped(child));
                }
            }

            found.Sort(StringComparer.OrdinalIgnoreCase);
            return found;
        }
        catch (DirectoryNotFoundException)
        {
            return Array.Empty<string>(); // Removed by another process mid-walk.
        }
    }


    protected static StringComparison PathComparison => PathRules.Comparison;

    public override string ToString() => $"{Kind} layout at {Root}";
}
