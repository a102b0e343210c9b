using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store;
using Newtonsoft.Json;

namespace ModelCache.Bundles;

/// <summary>
/// Reads a bundle's manifest as input from a stranger: bounded in size, one supported format version, and every
/// model checked against the catalog (name, file name, size, SHA-256), so a manifest can only name what the
/// catalog already trusts. Paths come from the catalog, never from the manifest.
/// </summary>
public static class BundleManifestReader
{
    /// <summary>A manifest larger than this is not a manifest.</summary>
    public const int MaxManifestBytes = 1 << 20;

    /// <summary>Checks a manifest read with <see cref="ReadBounded"/>; <paramref name="where"/> names the bundle in messages.</summary>
    /// <returns>Each manifest model with its catalog definition.</returns>
    public static IReadOnlyList<(BundleModel Entry, ModelDefinition Model)> Read(byte[] bytes, ModelCatalog catalog, string where)
    {
        BundleManifest? parsed;
        try
        {
            parsed = JsonConvert.DeserializeObject<BundleManifest>(Encoding.UTF8.GetString(bytes), new JsonSerializerSettings { MissingMemberHandling = MissingMemberHandling.Ignore, MaxDepth = 16 });
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

        var models = new List<(BundleModel, ModelDefinition)>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var files = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in parsed.Models ?? new List<BundleModel>())
        {
            if (entry is null || !catalog.TryGet(entry.Name ?? string.Empty, out var model) || model is null)
            {
                throw Invalid(where, $"it lists '{Shorten(entry?.Name)}', which is not a model of the catalog (add it with -CatalogPath first)");
            }

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

    private static string Shorten(string? text) => text is null ? "(none)" : text.Length <= 80 ? text : text.Substring(0, 80) + "…";
}
