using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Locations;
using ModelCache.IO;

namespace ModelCache.Layouts;

/// <summary>
/// ModelCache's own layout: <c>models/&lt;Family&gt;/&lt;Member&gt;/&lt;FileName&gt;</c> with <c>entry.json</c> and any
/// partial download beside the file, and lock files under <c>locks/</c>, which are never deleted. A model with a
/// location of its own (tfimm's per-model locations) keeps its file, and its partial download, in that folder
/// instead; its metadata and lock stay in the root, so the folder (which may hold other files) gets nothing else.
/// </summary>
public sealed class NativeLayout : CacheLayout
{
    private readonly ModelLocations _modelLocations;

    public NativeLayout(string root, ModelLocations? modelLocations = null)
        : base(root)
    {
        _modelLocations = modelLocations ?? ModelLocations.None;
    }

    /// <summary>The models with a folder of their own.</summary>
    public ModelLocations ModelLocations => _modelLocations;

    public override CacheLayoutKind Kind => CacheLayoutKind.Native;

    public string ModelsDirectory => Path.Combine(Root, "models");

    public override string StateRoot => Root;

    public override string LockRoot => Path.Combine(Root, "locks");

    public override string GetModelDirectory(ModelDefinition model) => GetSlotDirectory(model.Family, model.Member);

    public override string GetSlotDirectory(string family, string member) => _modelLocations.Find(family, member)?.Path ?? GetEntryDirectory(family, member);

    /// <summary>The member folder under the root that holds the entry's metadata (and, unless relocated, its file).</summary>
    public string GetEntryDirectory(string family, string member) => Path.Combine(ModelsDirectory, family, member);

    public override string? GetMetadataPath(string family, string member) => Path.Combine(GetEntryDirectory(family, member), CacheFiles.MetadataFileName);

    /// <summary>Optimized copies stay under the root beside the metadata, so a per-model folder gets the model's file alone.</summary>
    public override string GetDerivedDirectory(string family, string member) => GetEntryDirectory(family, member);

    /// <summary>A member folder under the root is the model's own; a per-model folder may hold anything.</summary>
    public override bool SlotDirectoryIsExclusive(string family, string member) => _modelLocations.Find(family, member) is null;

    /// <summary>A relocated model's file is contained by its own folder, as the root contains the others.</summary>
    protected override string ContainingRootOf(string fullPath) => _modelLocations.FolderContaining(fullPath) ?? Root;

    public override string GetLockPath(string family, string member) => Path.Combine(LockRoot, family, member + ".lock");

    public override IEnumerable<LayoutSlot> EnumerateSlots(ModelCatalog catalog, ICollection<ModelCacheException>? problems = null)
    {
        if (CacheFiles.IsLink(ModelsDirectory))
        {
            problems?.Add(LinkSkipped(ModelsDirectory));
            yield break;
        }

        var listed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (Directory.Exists(ModelsDirectory))
        {
            foreach (var familyDirectory in RealDirectories(ModelsDirectory, problems))
            {
                foreach (var memberDirectory in RealDirectories(familyDirectory, problems))
                {
                    var family = Path.GetFileName(familyDirectory);
                    var member = Path.GetFileName(memberDirectory);
                    if (catalog.TryGet(family + "/" + member, out var model) && model!.Family == family && model.Member == member)
                    {
                        listed.Add(model.Name);
                        yield return new LayoutSlot(model.Family, model.Member, model.FileName, model);
                    }
                    else if (CacheFiles.IsPlainFileName(family) && CacheFiles.IsPlainFileName(member))
                    {
                        yield return new LayoutSlot(family, member, null, null);
                    }
                }
            }
        }

        // A relocated model saved before its metadata folder existed, or whose metadata was lost: its folder is
        // known from the setting, and only catalog models are looked for there (the folder may hold anything).
        foreach (var location in _modelLocations.All)
        {
            if (catalog.TryGet(location.Model!, out var model) && model is not null && !listed.Contains(model.Name))
            {
                yield return new LayoutSlot(model.Family, model.Member, model.FileName, model);
            }
        }
    }

    protected override void CreateLayoutFolders()
    {
        Directory.CreateDirectory(ModelsDirectory);
        Directory.CreateDirectory(LockRoot);
    }

    protected override string? DescribeForeignContent()
    {
        var directories = RootFolderNames();
        if (HoldsHubCache(directories))
        {
            return "it holds a Hugging Face hub cache (models--* folders)";
        }

        return !directories.Contains("models") && Directory.EnumerateFiles(Root, "*.onnx").Any()
            ? "it holds model files directly in the root, like uniface's cache folder"
            : null;
    }
}
