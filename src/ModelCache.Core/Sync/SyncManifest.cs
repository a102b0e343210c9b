using System;
using System.Collections.Generic;
using System.Linq;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Primitives;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Sync;

/// <summary>
/// The desired state of a cache (Sync-ModelCache / Test-ModelCache -Manifest):
/// <c>{ "formatVersion": 1, "models": [ "Family/Member", { a full catalog entry }, ... ] }</c>. Names resolve like
/// everywhere else; entries are read by the catalog reader, with its checks, and merged over the catalog.
/// </summary>
public sealed class SyncManifest
{
    public const int CurrentFormatVersion = 1;

    /// <summary>A manifest larger than this is refused.</summary>
    public const int MaxBytes = 1 << 20;

    private SyncManifest(string source, IReadOnlyList<string> names, IReadOnlyList<ModelDefinition> customModels)
    {
        Source = source;
        Names = names;
        CustomModels = customModels;
    }

    /// <summary>Where the manifest came from, for messages.</summary>
    public string Source { get; }

    /// <summary>Models listed by name.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Models listed as full catalog entries.</summary>
    public IReadOnlyList<ModelDefinition> CustomModels { get; }

    public static SyncManifest Parse(string json, string source)
    {
        if (json.Length > MaxBytes)
        {
            throw Invalid(source, $"it is over {MaxBytes} bytes");
        }

        // Keys are read in any case, and Json.NET keeps the last of a repeated one: a second "models" is refused.
        if (JsonDuplicateKeys.Find(json, StringComparer.OrdinalIgnoreCase) is { } duplicate)
        {
            throw Invalid(source, $"it writes the key \"{duplicate.Name}\" twice in one object, at line {duplicate.FirstLine} and at line {duplicate.Line}");
        }

        JObject root;
        try
        {
            root = JToken.Parse(json) as JObject ?? throw Invalid(source, "the top level must be an object with a \"models\" array");
        }
        catch (JsonException ex)
        {
            throw Invalid(source, "it is not valid JSON: " + ex.Message);
        }

        var version = root["formatVersion"] ?? root["FormatVersion"];
        if (version is null || version.Type != JTokenType.Integer || (int)version != CurrentFormatVersion)
        {
            throw Invalid(source, $"formatVersion must be {CurrentFormatVersion}");
        }

        if ((root["models"] ?? root["Models"]) is not JArray models)
        {
            throw Invalid(source, "it has no \"models\" array");
        }

        var names = new List<string>();
        var entries = new JArray();
        foreach (var item in models)
        {
            switch (item.Type)
            {
                case JTokenType.String:
                    names.Add((string)item!);
                    break;
                case JTokenType.Object:
                    entries.Add(LowerCaseKeys((JObject)item));
                    break;
                default:
                    throw Invalid(source, "each model is a name or a catalog entry object");
            }
        }

        var custom = entries.Count == 0 ? Array.Empty<ModelDefinition>() : CatalogReader.Read(new JObject { ["models"] = entries }.ToString(), source, source);
        return new SyncManifest(source, names, custom);
    }

    /// <summary>
    /// The desired state a registry bundle describes: its models, those the catalog knows by name, the others by the
    /// carried entries the bundle manifest reader has already checked.
    /// </summary>
    public static SyncManifest FromBundle(string source, IEnumerable<ModelDefinition> models, IReadOnlyCollection<ModelDefinition> newModels) =>
        new(source, models.Where(m => !newModels.Contains(m)).Select(m => m.Name).ToList(), newModels.ToList());

    /// <summary>The catalog with the manifest's own entries merged over it, and every model the manifest lists, in order.</summary>
    public (ModelCatalog Catalog, IReadOnlyList<ModelDefinition> Models) Resolve(ModelCatalog catalog)
    {
        var merged = CustomModels.Count == 0 ? catalog : new ModelCatalog(catalog.Models.Concat(CustomModels));
        var listed = new List<ModelDefinition>();
        foreach (var name in Names)
        {
            try
            {
                listed.Add(merged.Resolve(name));
            }
            catch (ModelNameException ex)
            {
                throw Invalid(Source, ex.Message);
            }
        }

        listed.AddRange(CustomModels.Select(m => merged.Resolve(m.Name)));
        return (merged, listed.GroupBy(m => m.Name, StringComparer.OrdinalIgnoreCase).Select(g => g.First()).ToList());
    }

    /// <summary>PowerShell data files are written with PascalCase keys; the catalog schema is camelCase.</summary>
    private static JObject LowerCaseKeys(JObject entry)
    {
        var copy = new JObject();
        foreach (var property in entry.Properties())
        {
            var name = property.Name.Length > 0 ? char.ToLowerInvariant(property.Name[0]) + property.Name.Substring(1) : property.Name;
            copy[name] = property.Value is JObject nested ? LowerCaseKeys(nested) : property.Value;
        }

        return copy;
    }

    private static ModelCacheException Invalid(string source, string why) => new("SyncManifestInvalid", ModelCacheErrorKind.InvalidData,
        $"The manifest '{source}' cannot be used: {why}.", "Fix the manifest; see Get-Help Sync-ModelCache for its schema.");
}
