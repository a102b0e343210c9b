namespace ModelCache.Catalog;

/// <summary>One catalog merged into the models ModelCache knows (Get-ModelCatalog -Source): what it is, and whether it loaded.</summary>
public sealed class ModelCatalogSource
{
    public ModelCatalogSource(int order, CatalogSourceKind kind, string? scope, string path, int modelCount, bool loaded, string? problem)
    {
        Order = order;
        Kind = kind;
        Scope = scope;
        Path = path;
        ModelCount = modelCount;
        Loaded = loaded;
        Problem = problem;
    }

    /// <summary>Position in the merge, from 1; a later source wins a name an earlier one also defines.</summary>
    public int Order { get; }

    public CatalogSourceKind Kind { get; }

    /// <summary>The settings scope a registered catalog is kept in (AllUsers or User); User for the user's catalog.json; Process for MODELCACHE_CATALOG and -CatalogPath; null for the built-in catalog.</summary>
    public string? Scope { get; }

    /// <summary>The file; "built-in" for the catalog compiled into ModelCache (the <see cref="ModelDefinition.Origin"/> of its entries).</summary>
    public string Path { get; }

    /// <summary>Models the file defines; 0 when it did not load.</summary>
    public int ModelCount { get; }

    public bool Loaded { get; }

    /// <summary>Why it did not load; null when it did.</summary>
    public string? Problem { get; }

    public override string ToString() => Path;
}
