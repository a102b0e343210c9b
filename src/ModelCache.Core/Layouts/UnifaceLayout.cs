using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.IO;

namespace ModelCache.Layouts;

/// <summary>
/// uniface's own cache: a flat folder of model files under uniface's cache file names (the catalog's
/// file names), so Python uniface pointed there loads them without downloading. ModelCache keeps its
/// metadata and locks for such a root in the user's own state folder, so uniface sees no stray files;
/// only a partial download sits in the root while it runs. Files the catalog does not know are
/// listed as orphans and removed only when named.
/// </summary>
public sealed class UnifaceLayout : CacheLayout
{
    private const string OrphanLockFolder = "_files";
    private readonly string _stateDirectory;

    /// <param name="root">The uniface cache folder.</param>
    /// <param name="stateDirectory">ModelCache's own folder for this root's metadata and locks, outside it.</param>
    public UnifaceLayout(string root, string stateDirectory)
        : base(root)
    {
        _stateDirectory = Path.GetFullPath(stateDirectory);
    }

    public override CacheLayoutKind Kind => CacheLayoutKind.Uniface;

    public override string StateRoot => _stateDirectory;

    public override string LockRoot => Path.Combine(_stateDirectory, "locks");

    private string MetadataRoot => Path.Combine(_stateDirectory, "entries");

    public override string GetModelDirectory(ModelDefinition model) => Root;

    public override string GetSlotDirectory(string family, string member) => Root;

    public override string? GetMetadataPath(string family, string member) =>
        family.Length == 0 ? null : Path.Combine(MetadataRoot, family, member + ".json");

    public override string GetDerivedDirectory(string family, string member) =>
        Path.Combine(_stateDirectory, "derived", family.Length == 0 ? OrphanLockFolder : family, member);

    public override string GetLockPath(string family, string member) =>
        family.Length == 0 ? Path.Combine(LockRoot, OrphanLockFolder, member + ".lock") : Path.Combine(LockRoot, family, member + ".lock");

    public override IEnumerable<LayoutSlot> EnumerateSlots(ModelCatalog catalog, ICollection<ModelCacheException>? problems = null)
    {
        string[] files;
        try
        {
            files = Directory.Exists(Root) ? Directory.GetFiles(Root) : Array.Empty<string>();
        }
        catch (DirectoryNotFoundException)
        {
            yield break;
        }

        foreach (var path in files.OrderBy(f => f, StringComparer.Ordinal))
        {
            var name = Path.GetFileName(path);
            if (CacheFiles.IsWorkFile(name) || name.StartsWith(".", StringComparison.Ordinal))
            {
                continue;
            }

            if (CacheFiles.IsLink(path))
            {
                problems?.Add(LinkSkipped(path));
                continue;
            }

            // One catalog file name per model in uniface's catalog; a user catalog that reuses one takes the first.
            var model = catalog.FindByExactFileName(name);
            yield return model is null
                ? new LayoutSlot(string.Empty, name, name, null)
                : new LayoutSlot(model.Family, model.Member, model.FileName, model);
        }
    }

    public override bool MayRemoveUnnamed(bool inCatalog) => inCatalog;

    protected override string? DescribeForeignContent()
    {
        var directories = RootFolderNames();
        if (HoldsHubCache(directories))
        {
            return "it holds a Hugging Face hub cache (models--* folders)";
        }

        return directories.Contains("models") && directories.Contains("locks") ? "it holds a ModelCache native cache (models/ and locks/)" : null;
    }
}
