using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.IO;
using ModelCache.Locations;
using ModelCache.Store;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Catalog;

/// <summary>
/// The user's own catalog, <c>catalog.json</c> beside settings.json, where entries learned from imported bundles are
/// kept so those models stay usable by name. Merged after the built-in catalog and before MODELCACHE_CATALOG and
/// -CatalogPath files. Written under a lock file, temp-then-rename, appending to what the file holds (the user's own
/// entries and fields stay as written); an entry that would change an existing one is refused, never merged over it.
/// </summary>
public sealed class UserCatalogFile
{
    public const string FileName = "catalog.json";

    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(30);

    /// <param name="userDirectory">The user's ModelCache folder (<see cref="SettingsStore.UserDirectory"/>).</param>
    public UserCatalogFile(string userDirectory)
    {
        FilePath = Path.Combine(userDirectory, FileName);
    }

    public string FilePath { get; }

    /// <summary>The user's catalog file beside their settings.json.</summary>
    public static UserCatalogFile ForEnvironment(IEnvironment environment) => new(SettingsStore.ForUser(environment).UserDirectory);

    /// <summary>The file, when it exists, to merge into a catalog; empty otherwise.</summary>
    public IReadOnlyList<string> FilesToMerge => File.Exists(FilePath) ? new[] { FilePath } : Array.Empty<string>();

    /// <summary>Adds <paramref name="models"/> to the file; models it already holds with the same file and hash are left as they are.</summary>
    /// <returns>The models that were added.</returns>
    /// <exception cref="ModelCacheException">UserCatalogConflict when an entry disagrees with one the file holds; UserCatalogNotWritable.</exception>
    public async Task<IReadOnlyList<ModelDefinition>> AddAsync(IReadOnlyList<ModelDefinition> models, CancellationToken cancellationToken)
    {
        try
        {
            using var fileLock = await FileLock.AcquireAsync(FilePath + ".lock", LockTimeout, null, cancellationToken).ConfigureAwait(false);
            var existing = File.Exists(FilePath) ? CatalogReader.ReadFile(FilePath) : Array.Empty<ModelDefinition>();
            var added = new List<ModelDefinition>();
            foreach (var model in models)
            {
                var known = existing.Concat(added).ToList();
                var sameName = known.FirstOrDefault(m => string.Equals(m.Name, model.Name, StringComparison.OrdinalIgnoreCase));
                if (sameName is not null && string.Equals(sameName.FileName, model.FileName, StringComparison.Ordinal) && sameName.Sha256 == model.Sha256)
                {
                    continue;
                }

                if ((sameName ?? known.FirstOrDefault(m => string.Equals(m.FileName, model.FileName, StringComparison.OrdinalIgnoreCase))) is { } conflict)
                {
                    throw Conflict(model, conflict);
                }

                added.Add(model);
            }

            if (added.Count > 0)
            {
                Write(added);
            }

            return added;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("UserCatalogNotWritable", ModelCacheErrorKind.WriteError,
                $"Cannot write the user catalog '{FilePath}': {ex.Message}", "Check that the folder exists and is writable by you.", ex);
        }
    }

    private void Write(IReadOnlyList<ModelDefinition> added)
    {
        // Appends to the parsed file rather than re-serialising definitions, so fields and entries the user wrote stay.
        var root = File.Exists(FilePath) ? JObject.Parse(RegularFile.ReadAllText(FilePath)) : new JObject { ["models"] = new JArray() };
        var list = (JArray)root["models"]!;
        foreach (var model in added)
        {
            list.Add(CatalogWriter.ToEntry(model));
        }

        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        AtomicFile.WriteAllText(FilePath, root.ToString(Formatting.Indented));
    }

    private ModelCacheException Conflict(ModelDefinition model, ModelDefinition existing) => new("UserCatalogConflict", ModelCacheErrorKind.InvalidData,
        $"{model.Name} ('{model.FileName}', SHA-256 {model.Sha256}) cannot be added to the user catalog '{FilePath}': it already has {existing.Name} ('{existing.FileName}', SHA-256 {existing.Sha256}).",
        $"Keep the existing entry, or edit '{FilePath}' by hand if the new one should replace it.");
}
