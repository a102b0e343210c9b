using System;
using System.Collections.Generic;
using System.IO;
using System.Text.RegularExpressions;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.IO;
using ModelCache.Primitives;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Catalog;

/// <summary>
/// Reads catalog JSON (the built-in one and user catalogs share one schema). Every problem is
/// reported as a <see cref="CatalogFormatException"/> naming the file and line, never a crash.
/// </summary>
public static class CatalogReader
{
    private static readonly Regex Sha256Pattern = new("^[0-9a-fA-F]{64}$", RegexOptions.CultureInvariant);
    private static readonly Regex NamePartPattern = new(@"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", RegexOptions.CultureInvariant);

    /// <summary>The rule for a family or member name: a letter or digit first, then letters, digits, '_', '.' and '-'.</summary>
    public static bool IsValidNamePart(string? part) => part is not null && NamePartPattern.IsMatch(part);

    public static IReadOnlyList<ModelDefinition> ReadFile(string path)
    {
        string text;
        try
        {
            text = RegularFile.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CatalogFormatException(path, 0, 0, ex.Message, ex);
        }

        return Read(text, path, path);
    }

    /// <param name="json">Catalog text.</param>
    /// <param name="sourceName">Name used in error messages.</param>
    /// <param name="origin">Recorded on every entry as its origin.</param>
    public static IReadOnlyList<ModelDefinition> Read(string json, string sourceName, string origin)
    {
        try
        {
            // Line information costs time on a large catalog and only serves error messages: read without it, and
            // read again with it when something is wrong, so the error names the line.
            return Read(json, sourceName, origin, LineInfoHandling.Ignore);
        }
        catch (CatalogFormatException)
        {
            return Read(json, sourceName, origin, LineInfoHandling.Load);
        }
    }

    private static IReadOnlyList<ModelDefinition> Read(string json, string sourceName, string origin, LineInfoHandling lineInfo)
    {
        // A repeated key (a second "models", a second "sha256") would hide the first value: refused, with both places named.
        if (lineInfo == LineInfoHandling.Load && JsonDuplicateKeys.Find(json, StringComparer.Ordinal) is { } duplicate)
        {
            throw new CatalogFormatException(sourceName, duplicate.Line, duplicate.Position,
                $"the key \"{duplicate.Name}\" is written twice in one object, first at line {duplicate.FirstLine}, position {duplicate.FirstPosition}");
        }

        JObject root;
        try
        {
            using var reader = new JsonTextReader(new StringReader(json)) { DateParseHandling = DateParseHandling.None };
            var token = JToken.ReadFrom(reader, new JsonLoadSettings { LineInfoHandling = lineInfo, DuplicatePropertyNameHandling = DuplicatePropertyNameHandling.Error });
            root = token as JObject ?? throw Problem(sourceName, token, "the top level must be an object with a \"models\" array");
            while (reader.Read())
            {
                if (reader.TokenType != JsonToken.Comment)
                {
                    throw new CatalogFormatException(sourceName, reader.LineNumber, reader.LinePosition, "unexpected content after the catalog object");
                }
            }
        }
        catch (JsonReaderException ex)
        {
            throw new CatalogFormatException(sourceName, ex.LineNumber, ex.LinePosition, ex.Message, ex);
        }

        if (root["models"] is not JArray models)
        {
            throw Problem(sourceName, root, "missing the \"models\" array");
        }

        var result = new List<ModelDefinition>(models.Count);
        // Names resolve case-insensitively, so one file listing a name twice (in any case) would silently keep only the last.
        var seen = new Dictionary<string, JObject>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in models)
        {
            if (item is not JObject model)
            {
                throw Problem(sourceName, item, "each entry of \"models\" must be an object");
            }

            var definition = ReadModel(model, sourceName, origin);
            if (seen.TryGetValue(definition.Name, out var first))
            {
                var where = ((IJsonLineInfo)first).HasLineInfo() ? $" at line {((IJsonLineInfo)first).LineNumber}" : string.Empty;
                throw Problem(sourceName, model, $"{definition.Name} is listed twice in this file, first{where}; a catalog file lists each model once");
            }

            seen.Add(definition.Name, model);
            result.Add(definition);
        }

        return result;
    }

    /// <summary>Reads one entry on its own (a bundle's <c>catalogEntry</c>) with every check of a catalog file.</summary>
    /// <exception cref="CatalogFormatException">The entry breaks a catalog rule.</exception>
    public static ModelDefinition ReadEntry(JObject entry, string sourceName, string origin) =>
        ReadModel(entry, sourceName, origin);

    private static ModelDefinition ReadModel(JObject model, string sourceName, string origin)
    {
        var family = RequiredString(model, "family", sourceName);
        var member = RequiredString(model, "member", sourceName);
        foreach (var part in new[] { ("family", family), ("member", member) })
        {
            if (!IsValidNamePart(part.Item2))
            {
                throw Problem(sourceName, model[part.Item1]!, $"\"{part.Item1}\" must start with a letter or digit and hold only letters, digits, '_', '.' and '-'");
            }
        }

        var fileName = RequiredString(model, "fileName", sourceName);
        if (!ModelCache.IO.CacheFiles.IsPlainFileName(fileName))
        {
            throw Problem(sourceName, model["fileName"]!, "\"fileName\" must be a plain file name");
        }

        if (ModelCache.IO.CacheFiles.IsStoreFileName(fileName))
        {
            throw Problem(sourceName, model["fileName"]!, $"\"fileName\" must not be a name the cache writes beside models ({ModelCache.IO.CacheFiles.MetadataFileName}, *{ModelCache.IO.CacheFiles.PartialSuffix}, *{ModelCache.IO.CacheFiles.PartialStateSuffix}, *{ModelCache.IO.CacheFiles.TempSuffix})");
        }

        var huggingFace = ReadHuggingFace(model, sourceName);
        // "url" is optional: a model known only by its hash (Import-Model without -Url) is saved from the cache or a mirror.
        var urlText = OptionalString(model, "url", sourceName);
        Uri? url = null;
        if (urlText is not null && (!Uri.TryCreate(urlText, UriKind.Absolute, out url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeFile)))
        {
            throw Problem(sourceName, model["url"]!, "\"url\" must be an absolute http, https or file URL");
        }

        var sha = RequiredString(model, "sha256", sourceName);
        if (!Sha256Pattern.IsMatch(sha))
        {
            throw Problem(sourceName, model["sha256"]!, "\"sha256\" must be 64 hexadecimal characters");
        }

        long? size = null;
        if (model["size"] is { } sizeToken && sizeToken.Type != JTokenType.Null)
        {
            // Json.NET holds an integer beyond Int64 as a BigInteger: that is a bad size like any other, not a cast failure.
            if (sizeToken is not JValue { Value: long bytes } || bytes <= 0)
            {
                throw Problem(sourceName, sizeToken, $"\"size\" must be a positive whole number of bytes, at most {long.MaxValue}");
            }

            size = bytes;
        }

        var isDefault = false;
        if (model["isDefault"] is { } defaultToken && defaultToken.Type != JTokenType.Null)
        {
            if (defaultToken.Type != JTokenType.Boolean)
            {
                throw Problem(sourceName, defaultToken, "\"isDefault\" must be true or false");
            }

            isDefault = defaultToken.Value<bool>();
        }

        return new ModelDefinition(family, member, OptionalString(model, "task", sourceName) ?? "unknown", fileName,
            url ?? huggingFace?.ResolveUri(HubSettings.DefaultEndpoint), sha, size,
            OptionalString(model, "approximateSize", sourceName), isDefault, OptionalString(model, "license", sourceName), origin, huggingFace);
    }

    /// <summary><c>"huggingFace": {"repo": "org/name", "file": "path/in/repo", "revision": "main"}</c>, validated as the hub would.</summary>
    private static HubFileReference? ReadHuggingFace(JObject model, string sourceName)
    {
        var token = model["huggingFace"];
        if (token is null || token.Type == JTokenType.Null)
        {
            return null;
        }

        if (token is not JObject hub)
        {
            throw Problem(sourceName, token, "\"huggingFace\" must be an object with \"repo\", \"file\" and optionally \"revision\"");
        }

        var repo = RequiredString(hub, "repo", sourceName);
        if (!HubRepoId.TryParse(repo, HubRepoType.Model, out var repoId))
        {
            throw Problem(sourceName, hub["repo"]!, "\"huggingFace.repo\" must be a hub repository id, 'org/name'");
        }

        var file = RequiredString(hub, "file", sourceName);
        if (!HubNames.IsValidRepoPath(file))
        {
            throw Problem(sourceName, hub["file"]!, "\"huggingFace.file\" must be a relative path in the repository with '/' separators, without '..'");
        }

        var revision = OptionalString(hub, "revision", sourceName);
        if (revision is not null && !HubNames.IsValidRevision(revision))
        {
            throw Problem(sourceName, hub["revision"]!, "\"huggingFace.revision\" must be a branch, tag or commit id, without '..'");
        }

        return new HubFileReference(repoId!, file, revision);
    }

    private static string RequiredString(JObject model, string property, string sourceName)
    {
        return OptionalString(model, property, sourceName) ?? throw Problem(sourceName, model, $"missing required property \"{property}\"");
    }

    private static string? OptionalString(JObject model, string property, string sourceName)
    {
        var token = model[property];
        if (token is null || token.Type == JTokenType.Null)
        {
            return null;
        }

        if (token.Type != JTokenType.String || string.IsNullOrWhiteSpace(token.Value<string>()))
        {
            throw Problem(sourceName, token, $"\"{property}\" must be a non-empty string");
        }

        return token.Value<string>()!.Trim();
    }

    private static CatalogFormatException Problem(string sourceName, JToken token, string problem)
    {
        var info = (IJsonLineInfo)token;
        return info.HasLineInfo()
            ? new CatalogFormatException(sourceName, info.LineNumber, info.LinePosition, problem)
            : new CatalogFormatException(sourceName, 0, 0, problem);
    }
}
