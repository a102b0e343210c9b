using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Locations;

namespace ModelCache.Catalog;

/// <summary>
/// Every catalog ModelCache merges, in order, each later one winning a name an earlier one also defines: the built-in
/// catalog; catalogs registered for all users, then for this user; the user's own catalog.json; MODELCACHE_CATALOG
/// files; -CatalogPath files. Broad and long-lived first, narrow and explicit last, so a user can override what the
/// machine provides, and a command line overrides everything.
/// </summary>
public sealed class CatalogSources
{
    private readonly IReadOnlyList<(CatalogSourceKind Kind, string? Scope, string Path)> _files;

    public CatalogSources(IReadOnlyList<string> allUsersRegistered, IReadOnlyList<string> userRegistered, string userCatalog,
        IReadOnlyList<string> environmentFiles, IReadOnlyList<string> parameterFiles)
    {
        _files = allUsersRegistered.Select(p => (CatalogSourceKind.Registered, (string?)nameof(SettingsScope.AllUsers), p))
            .Concat(userRegistered.Select(p => (CatalogSourceKind.Registered, (string?)nameof(SettingsScope.CurrentUser), p)))
            .Concat(new[] { (CatalogSourceKind.UserCatalog, (string?)nameof(SettingsScope.CurrentUser), userCatalog) })
            .Concat(environmentFiles.Select(p => (CatalogSourceKind.Environment, (string?)"Process", p)))
            .Concat(parameterFiles.Select(p => (CatalogSourceKind.Parameter, (string?)"Process", p)))
            .ToList();
    }

    /// <param name="environment">Where the settings files and the user's catalog.json are found.</param>
    /// <param name="environmentFiles">MODELCACHE_CATALOG's files, as full paths.</param>
    /// <param name="parameterFiles">-CatalogPath's files, as full paths.</param>
    public static CatalogSources For(IEnvironment environment, IReadOnlyList<string> environmentFiles, IReadOnlyList<string> parameterFiles) => new(
        CatalogRegistry.For(SettingsScope.AllUsers, environment).Paths,
        CatalogRegistry.For(SettingsScope.CurrentUser, environment).Paths,
        UserCatalogFile.ForEnvironment(environment).FilePath,
        environmentFiles,
        parameterFiles);

    /// <summary>
    /// Reads and merges every source. A registered catalog that cannot be read is skipped and reported in
    /// <see cref="CatalogLoad.Skipped"/> (a share that is down must not stop every cmdlet); so is every other file when
    /// <paramref name="skipAnyUnreadable"/> (listing sources, tab completion). A user catalog.json not yet written is no problem.
    /// </summary>
    /// <exception cref="CatalogFormatException">The user's catalog.json, a MODELCACHE_CATALOG or a -CatalogPath file is invalid, unless <paramref name="skipAnyUnreadable"/>.</exception>
    public CatalogLoad Load(bool skipAnyUnreadable = false)
    {
        var builtIn = ModelCatalog.ReadBuiltIn();
        var models = new List<ModelDefinition>(builtIn);
        var sources = new List<ModelCatalogSource> { new(1, CatalogSourceKind.BuiltIn, null, ModelDefinition.BuiltInOrigin, builtIn.Count, true, null) };
        var skipped = new List<CatalogFormatException>();
        foreach (var (kind, scope, path) in _files)
        {
            var order = sources.Count + 1;
            if (kind == CatalogSourceKind.UserCatalog && !File.Exists(path))
            {
                sources.Add(new ModelCatalogSource(order, kind, scope, path, 0, false, "not written yet (Import-Model and Import-ModelCache create it)"));
                continue;
            }

            try
            {
                var read = CatalogReader.ReadFile(path);
                models.AddRange(read);
                sources.Add(new ModelCatalogSource(order, kind, scope, path, read.Count, true, null));
            }
            catch (CatalogFormatException ex) when (skipAnyUnreadable || kind == CatalogSourceKind.Registered)
            {
                skipped.Add(ex);
                sources.Add(new ModelCatalogSource(order, kind, scope, path, 0, false, ex.Message));
            }
        }

        return new CatalogLoad(new ModelCatalog(models), sources, skipped);
    }
}

/// <summary>The merged catalog, each source it came from, and the catalogs that could not be read.</summary>
public sealed class CatalogLoad
{
    public CatalogLoad(ModelCatalog catalog, IReadOnlyList<ModelCatalogSource> sources, IReadOnlyList<CatalogFormatException> skipped)
    {
        Catalog = catalog;
        Sources = sources;
        Skipped = skipped;
    }

    public ModelCatalog Catalog { get; }

    /// <summary>In merge order, the built-in catalog first.</summary>
    public IReadOnlyList<ModelCatalogSource> Sources { get; }

    /// <summary>Files that did not load, each naming its file; their models are left out.</summary>
    public IReadOnlyList<CatalogFormatException> Skipped { get; }
}
