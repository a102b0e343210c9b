using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.Store;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using ModelCache.IO;

namespace ModelCache.Bundles;

/// <summary>
/// Reads a bundle's manifest as input from a stranger: bounded in size, one supported format version, and every
/// model checked against the catalog (name, file name, size, SHA-256), so a manifest can only name what the
/// catalog already trusts, or a new model whose carried <c>catalogEntry</c> passes the catalog's own checks and
/// collides with nothing local. Paths come from the catalog (or that checked entry), never from the manifest.
/// </summary>
public static class BundleManifestReader
{
    /// <summary>A manifest larger than this is not a manifest.</summary>
    public const int MaxManifestBytes = 1 << 20;

    /// <summary>Checks a manifest read with <see cref="ReadBounded"/>; <paramref name="where"/> names the bundle in messages.</summary>
    /// <returns>Each manifest model with its catalog definition.</returns>
    public static IReadOnlyList<(BundleModel Entry, ModelDefinition Model)> Read(byte[] bytes, ModelCatalog catalog, string where)
    {
        var parsed = Parse(bytes, where);
        if (parsed.Models?.Find(m => m?.Hub is not null) is { } hubEntry)
        {
            throw LayoutMismatch(where, $"it holds Hugging Face hub cache files ({Shorten(hubEntry.Name)}), not catalog models", "Import it with 'Import-ModelCache -Layout HuggingFace'");
        }

        var models = new List<(BundleModel, ModelDefinition)>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var files = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in parsed.Models ?? new List<BundleModel>())
        {
            if (entry is null)
            {
                throw Invalid(where, "it lists an empty model");
            }

            var model = Resolve(entry, catalog, where);
            if (!names.Add(model.Name) || !files.Add(model.FileName))
            {
                throw Invalid(where, $"it lists {model.Name} twice");
            }

            if (!string.Equals(entry.FileName, model.FileName, StringComparison.Ordinal) || !CacheFiles.IsPlainFileName(entry.FileName))
            {
                throw Invalid(where, $"it names the file of {model.Name} '{Shorten(entry.FileName)}', but the catalog says '{model.FileName}'");
            }

            if (!string.Equals(entry.Sha256, model.Sha256, StringComparison.OrdinalIgnoreCase) || (model.Size is { } size && size != entry.Size) || entry.Size <= 0)
            {
                throw Invalid(where, $"its size or SHA-256 for {model.Name} ({entry.Size} bytes, {Shorten(entry.Sha256)}) is not the catalog's ({model.Size?.ToString() ?? "size unknown"}, {model.Sha256})");
            }

            models.Add((entry, model));
        }

        return models;
    }

    /// <summary>The manifest's JSON in a supported format version, not yet checked entry by entry.</summary>
    internal static BundleManifest Parse(byte[] bytes, string where)
    {
        BundleManifest? parsed;
        var text = Encoding.UTF8.GetString(bytes);
        // The binder matches keys in any case and keeps the last of a repeated one: a second "models" or "sha256" is refused.
        if (JsonDuplicateKeys.Find(text, StringComparer.OrdinalIgnoreCase) is { } duplicate)
        {
            throw Invalid(where, $"it writes the key \"{duplicate.Name}\" twice in one object, at line {duplicate.FirstLine} and at line {duplicate.Line}");
        }

        try
        {
            parsed = JsonConvert.DeserializeObject<BundleManifest>(text, new JsonSerializerSettings { MissingMemberHandling = MissingMemberHandling.Ignore, MaxDepth = 16, DateParseHandling = DateParseHandling.None });
        }
        catch (JsonException ex)
        {
            throw Invalid(where, "it is not valid JSON: " + ex.Message);
        }

        if (parsed is null)
        {
            throw Invalid(where, "it is empty");
        }

        if (parsed.FormatVersion != BundleManifest.CurrentFormatVersion)
        {
            throw new ModelCacheException("BundleFormatUnsupported", ModelCacheErrorKind.InvalidData,
                $"The bundle '{where}' has format version {parsed.FormatVersion}; this ModelCache reads version {BundleManifest.CurrentFormatVersion}.",
                "Export the bundle again with this version of ModelCache, or update ModelCache on this machine.");
        }

        return parsed;
    }

    /// <summary>A bundle of one layout imported as the other: refused whole, before anything is written.</summary>
    internal static ModelCacheException LayoutMismatch(string where, string why, string fix) => new("BundleLayoutMismatch", ModelCacheErrorKind.InvalidArgument,
        $"The bundle '{where}' cannot be imported with this -Layout: {why}. Nothing was imported from it.", fix + ".");

    /// <summary>
    /// The definition a manifest entry stands for: the local catalog's when it knows the name (the local catalog
    /// wins, so a carried entry that disagrees with it is refused), else the entry's own <c>catalogEntry</c>, read
    /// with every check of a catalog file. The caller then holds the entry to that definition's file name, size and hash.
    /// </summary>
    private static ModelDefinition Resolve(BundleModel entry, ModelCatalog catalog, string where)
    {
        var name = Shorten(entry.Name);
        var carried = entry.CatalogEntry is null ? null : ReadCarried(entry.CatalogEntry, name, where);
        if (carried is not null && !ModelTasks.IsKnown(carried.Task))
        {
            throw Invalid(where, $"the catalogEntry of '{name}' has the task '{carried.Task}', which is not one of the catalog's tasks ({ModelTasks.List})");
        }

        if (catalog.TryGet(entry.Name ?? string.Empty, out var local) && local is not null)
        {
            if (carried is not null && (!string.Equals(carried.FileName, local.FileName, StringComparison.Ordinal) || carried.Sha256 != local.Sha256))
            {
                throw Invalid(where, $"its catalogEntry for {local.Name} says '{carried.FileName}' with SHA-256 {carried.Sha256}, but the local catalog says '{local.FileName}' with {local.Sha256}; the local catalog wins");
            }

            return local;
        }

        if (carried is null)
        {
            throw Invalid(where, $"it lists '{name}', which is not a model of the catalog and carries no catalogEntry (add it with -CatalogPath first)");
        }

        if (!string.Equals(carried.Name, entry.Name, StringComparison.Ordinal) || carried.Size != entry.Size)
        {
            throw Invalid(where, $"the catalogEntry of '{name}' names {carried.Name} with {carried.Size?.ToString() ?? "no"} bytes, which is not the manifest's entry ({entry.Size} bytes)");
        }

        // In a flat layout (uniface's) two models with one file name would share one file.
        if (catalog.FindByFileName(carried.FileName).FirstOrDefault() is { } other)
        {
            throw Invalid(where, $"the catalogEntry of '{name}' uses the file name '{carried.FileName}', which the catalog's {other.Name} already has");
        }

        return carried;
    }

    private static ModelDefinition ReadCarried(JObject catalogEntry, string name, string where)
    {
        try
        {
            var carried = CatalogReader.ReadEntry(catalogEntry, $"the catalogEntry of '{name}'", where);
            // A catalog the user writes may name a local file; one a stranger's bundle writes into it may not, or a
            // Save-Model (or a server's pull-through) would later read whatever file that is.
            if (catalogEntry["url"] is { Type: not JTokenType.Null } && carried.Url is { } url && url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
            {
                throw Invalid(where, $"the catalogEntry of '{name}' is refused: its \"url\" must be an http or https URL, or absent; a bundle cannot name a local file");
            }

            return carried;
        }
        catch (CatalogFormatException ex)
        {
            var position = ex.Line > 0 ? $" (manifest line {ex.Line}, position {ex.Position})" : string.Empty;
            throw Invalid(where, $"the catalogEntry of '{name}' is refused: {ex.Problem}{position}");
        }
    }

    /// <summary>The manifest's bytes, failing as soon as there are more than <see cref="MaxManifestBytes"/>.</summary>
    public static byte[] ReadBounded(Stream stream, string where)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxManifestBytes)
            {
                throw Invalid(where, $"its manifest is over {MaxManifestBytes} bytes");
            }
        }

        return buffer.ToArray();
    }

    internal static ModelCacheException Invalid(string where, string why) => new("BundleManifestInvalid", ModelCacheErrorKind.InvalidData,
        $"The bundle '{where}' cannot be imported: {why}. Nothing was imported from it.",
        "Export the bundle again from a trusted cache, and compare the manifest's SHA-256 with the one printed by Export-ModelCache.");

    internal static string Shorten(string? text) => text is null ? "(none)"
        : new string(text.Take(80).Select(c => char.IsControl(c) ? '?' : c).ToArray()) + (text.Length <= 80 ? string.Empty : "…");
}
