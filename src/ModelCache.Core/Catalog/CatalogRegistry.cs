using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Locations;
using Newtonsoft.Json.Linq;

namespace ModelCache.Catalog;

/// <summary>
/// The catalog files registered in one settings scope (Register-ModelCatalog): full paths kept as the <c>catalogs</c>
/// array of that scope's settings file, so a catalog on a share is merged into every session of the user, or of every
/// user of the machine, with nothing else to configure. A file is checked when it is registered; one that later turns
/// unreadable is skipped with a warning when catalogs load (<see cref="CatalogSources"/>), never fatal.
/// </summary>
public sealed class CatalogRegistry
{
    public const string Key = "catalogs";

    private readonly SettingsStore _settings;

    public CatalogRegistry(SettingsStore settings)
    {
        _settings = settings;
    }

    public SettingsScope Scope => _settings.Scope;

    /// <summary>The settings file the list is kept in.</summary>
    public string SettingsFile => _settings.SettingsFile;

    /// <summary>Paths as this OS compares them.</summary>
    public static StringComparer PathComparer => Path.DirectorySeparatorChar == '\\' ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

    public static CatalogRegistry For(SettingsScope scope, IEnvironment environment) => new(SettingsStore.For(scope, environment));

    /// <summary>The registered files, in registration order; empty when none are, or the settings file is unreadable.</summary>
    public IReadOnlyList<string> Paths => _settings.Read(Key) is JArray list
        ? list.Where(t => t.Type == JTokenType.String).Select(t => t.Value<string>()!).Where(p => p.Length > 0).ToList()
        : Array.Empty<string>();

    /// <summary>Checks <paramref name="path"/> as a catalog (every rule of <see cref="CatalogReader"/>) and returns its models, registering nothing.</summary>
    /// <exception cref="CatalogFormatException">The file is unreadable or not a valid catalog.</exception>
    public static IReadOnlyList<ModelDefinition> Validate(string path) => CatalogReader.ReadFile(RequireFullPath(path));

    /// <summary>Adds <paramref name="path"/> (a full path) to the list, after <see cref="Validate"/>; false when it was already there.</summary>
    /// <exception cref="CatalogFormatException">The file is not a valid catalog; nothing is registered.</exception>
    /// <exception cref="ModelCacheException">SettingsNotWritable.</exception>
    public bool Register(string path)
    {
        Validate(path);
        var added = false;
        _settings.Update(settings =>
        {
            var list = settings[Key] as JArray ?? new JArray();
            added = !list.Any(t => t.Type == JTokenType.String && PathComparer.Equals(t.Value<string>(), path));
            if (added)
            {
                list.Add(path);
                settings[Key] = list;
            }
        });
        return added;
    }

    /// <summary>Removes <paramref name="path"/> from the list; false when it was not registered here.</summary>
    /// <exception cref="ModelCacheException">SettingsNotWritable.</exception>
    public bool Unregister(string path)
    {
        if (!Paths.Contains(path, PathComparer))
        {
            return false;
        }

        var removed = false;
        _settings.Update(settings =>
        {
            if (settings[Key] is not JArray list)
            {
                return;
            }

            foreach (var token in list.Where(t => t.Type == JTokenType.String && PathComparer.Equals(t.Value<string>(), path)).ToList())
            {
                token.Remove();
                removed = true;
            }

            if (list.Count == 0)
            {
                settings.Remove(Key);
            }
        });
        return removed;
    }

    /// <summary>The error for a path that is not in this scope's list.</summary>
    public ModelCacheException NotRegistered(string path) => new("CatalogNotRegistered", ModelCacheErrorKind.NotFound,
        $"'{path}' is not a registered catalog in the {Scope} scope ('{SettingsFile}').",
        $"Run 'Get-ModelCatalog -Source' to list registered catalogs and their scopes{(Scope == SettingsScope.CurrentUser ? ", and add -Scope AllUsers for machine-wide ones" : string.Empty)}.");

    private static string RequireFullPath(string path) => Path.IsPathRooted(path)
        ? path
        : throw new ModelCacheException("CatalogPathNotRooted", ModelCacheErrorKind.InvalidArgument,
            $"'{path}' is not a full path; a registered catalog is read from every session, whatever its current folder.", "Give the full path of the catalog file.");
}
