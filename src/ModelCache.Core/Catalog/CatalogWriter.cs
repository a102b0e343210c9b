using System.Collections.Generic;
using System.Linq;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Catalog;

/// <summary>
/// Writes definitions back in the catalog schema <see cref="CatalogReader"/> reads, so an entry carried in a bundle
/// or kept in the user's catalog file reads back through the same checks as any catalog.
/// </summary>
public static class CatalogWriter
{
    /// <summary>One catalog entry: family, member, task, fileName, url (when known), huggingFace, sha256, size, license.</summary>
    public static JObject ToEntry(ModelDefinition model)
    {
        var entry = new JObject
        {
            ["family"] = model.Family,
            ["member"] = model.Member,
            ["task"] = model.Task,
            ["fileName"] = model.FileName,
        };
        if (model.Url is { } url)
        {
            entry["url"] = url.ToString();
        }

        entry["sha256"] = model.Sha256;
        if (model.HuggingFace is { } hub)
        {
            entry["huggingFace"] = new JObject { ["repo"] = hub.Repo.Id, ["file"] = hub.File, ["revision"] = hub.Revision };
        }

        if (model.Size is { } size)
        {
            entry["size"] = size;
        }

        if (model.ApproximateSize is { } approximate)
        {
            entry["approximateSize"] = approximate;
        }

        if (model.IsDefault)
        {
            entry["isDefault"] = true;
        }

        if (model.License is { } license)
        {
            entry["license"] = license;
        }

        return entry;
    }

    /// <summary>A whole catalog file: <c>{"models": [...]}</c>.</summary>
    public static string Serialize(IEnumerable<ModelDefinition> models) =>
        new JObject { ["models"] = new JArray(models.Select(ToEntry)) }.ToString(Formatting.Indented);
}
