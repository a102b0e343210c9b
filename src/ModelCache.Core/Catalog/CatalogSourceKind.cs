namespace ModelCache.Catalog;

/// <summary>Where a catalog file comes from, in the order <see cref="CatalogSources"/> merges them.</summary>
public enum CatalogSourceKind
{
    /// <summary>The catalog compiled into ModelCache.</summary>
    BuiltIn,

    /// <summary>A file registered with Register-ModelCatalog, in the AllUsers or the User settings file.</summary>
    Registered,

    /// <summary>The user's own catalog.json beside settings.json (Import-Model and imported bundles write there).</summary>
    UserCatalog,

    /// <summary>A file named by $env:MODELCACHE_CATALOG.</summary>
    Environment,

    /// <summary>A file named by -CatalogPath.</summary>
    Parameter,
}
