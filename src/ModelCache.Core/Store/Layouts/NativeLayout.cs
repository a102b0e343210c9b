using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelCache.Catalog;
using ModelCache.Errors;

namespace ModelCache.Store.Layouts;

/// <summary>
/// ModelCache's own layout: <c>models/&lt;Family&gt;/&lt;Member&gt;/&lt;FileName&gt;</c> with <c>entry.json</c> and any
/// partial download beside the file, and lock files under <c>locks/</c>, which are never deleted.
/// </summary>
public sealed class NativeLayout : CacheLayout
{
    public NativeLayout(string root)
        : base(root)
    {
    }

    public override CacheLayoutKind Kind => CacheLayoutKind.Native;

    public string ModelsDirectory => Path.Combine(Root, "models");

    public override string StateRoot => Root;

    public override string LockRoot => Path.Combine(Root, "locks");

    public override string GetModelDirectory(ModelDefinition model) => GetSlotDirectory(model.Family, model.Member);

    public override string GetSlotDirectory(string family, string member) => Path.Combine(ModelsDirectory, family, member);

    public override string? GetMetadataPath(string family, string member) => Path.Combine(GetSlotDirectory(family, member), CacheFiles.MetadataFileName);

    public override string GetLockPath(string family, string member) => Path.Combine(LockRoot, family, member + ".lock");

    public override IEnumerable<LayoutSlot> EnumerateSlots(ModelCatalog catalog, ICollection<ModelCacheException>? problems = null)
    {
        if (CacheFiles.IsLink(ModelsDirectory))
        {
            problems?.Add(LinkSkipped(ModelsDirectory));
            yield break;
        }

        if (!Directory.Exists(ModelsDirectory))
        {
            yield break;
        }

        foreach (var familyDirectory in RealDirectories(ModelsDirectory, problems))
        {
            foreach (var memberDirectory in RealDirectories(familyDirectory, problems))
            {
                var family = Path.GetFileName(familyDirectory);
                var member = Path.GetFileName(memberDirectory);
                if (catalog.TryGet(family + "/" + member, out var model) && model!.Family == family && model.Member == member)
                {
                    yield return new LayoutSlot(model.Family, model.Member, model.FileName, model);
                }
                else if (CacheFiles.IsPlainFileName(family) && CacheFiles.IsPlainFileName(member))
                {
                    yield return new LayoutSlot(family, member, null, null);
                }
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
