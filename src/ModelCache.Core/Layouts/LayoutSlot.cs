using ModelCache.Catalog;

namespace ModelCache.Layouts;

/// <summary>
/// A place in a layout that holds (or may hold) one model file, found by walking the root. Its names come
/// from the folder or file names of the layout, checked to be plain names, never from metadata.
/// </summary>
public sealed class LayoutSlot
{
    public LayoutSlot(string family, string member, string? fileName, ModelDefinition? model)
    {
        Family = family;
        Member = member;
        FileName = fileName;
        Model = model;
    }

    /// <summary>Empty for a file the layout cannot tie to a family (an orphan in a flat folder).</summary>
    public string Family { get; }

    public string Member { get; }

    /// <summary>The model file's name; null when the layout must ask the entry's metadata (an orphan folder).</summary>
    public string? FileName { get; }

    /// <summary>The catalog model this slot belongs to; null for orphans.</summary>
    public ModelDefinition? Model { get; }

    /// <summary>Family/Member, or the member alone in layouts without families: what messages call the slot.</summary>
    public string Name => Family.Length == 0 ? Member : Family + "/" + Member;
}
