using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelCache.Catalog;
using ModelCache.Errors;

namespace ModelCache.Layouts;

/// <summary>
/// A mirror directory as a source: model files side by side under their catalog file names (an offline copy,
/// a share, uniface's folder, an exported mirror). Read-only here: ModelCache never writes into a mirror.
/// </summary>
public sealed class FlatMirrorLayout : CacheLayout
{
    public FlatMirrorLayout(string root)
        : base(root)
    {
    }

    public override CacheLayoutKind Kind => CacheLayoutKind.Mirror;

    public override string StateRoot => Root;

    public override string GetModelDirectory(ModelDefinition model) => Root;

    public override string GetSlotDirectory(string family, string member) => Root;

    public override string? GetMetadataPath(string family, string member) => null;

    public override string GetLockPath(string family, string member) =>
        throw new NotSupportedException("A mirror directory is read, never written or locked.");

    public override IEnumerable<LayoutSlot> EnumerateSlots(ModelCatalog catalog, ICollection<ModelCacheException>? problems = null)
    {
        if (!Directory.Exists(Root))
        {
            yield break;
        }

        foreach (var model in catalog.Models.Where(m => File.Exists(GetModelPath(m))))
        {
            if (IsContained(GetModelPath(model)))
            {
                yield return new LayoutSlot(model.Family, model.Member, model.FileName, model);
            }
            else
            {
                problems?.Add(LinkSkipped(GetModelPath(model)));
            }
        }
    }

    public override bool MayRemoveUnnamed(bool inCatalog) => false;

    protected override string? DescribeForeignContent() => "it is a mirror directory, which ModelCache only reads";
}
