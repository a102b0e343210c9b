using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using ModelCache.Errors;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Server;

/// <summary>
/// A POST body judged before any change runs: empty, or one JSON object (declared <c>application/json</c>) of at most
/// <see cref="MaxDepth"/> levels, with no repeated member and no member the endpoint does not know. Each refusal is a
/// 400 (415 for the content type) whose error id and message name what was wrong.
/// </summary>
internal static class RequestBody
{
    public const int MaxDepth = 8;

    /// <summary>Names in one request (names to clear, export or pull): more is refused, not truncated.</summary>
    public const int MaxNames = 256;

    /// <summary>The longest name accepted; catalog names are far shorter.</summary>
    public const int MaxNameLength = 256;

    /// <summary>The body as an object (empty for an empty body); throws a ModelCacheException carrying the refusal.</summary>
    public static JObject Parse(byte[] body, string? contentType, IReadOnlyCollection<string> members, string example)
    {
        if (body.Length == 0)
        {
            return new JObject();
        }

        var mediaType = contentType?.Split(';')[0].Trim();
        if (!string.Equals(mediaType, "application/json", StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelCacheException("RequestBodyNotJson", ModelCacheErrorKind.InvalidArgument,
                $"The body is declared as '{Printable(contentType ?? "nothing")}'; send it as Content-Type: application/json.",
                "Send the body with 'Content-Type: application/json' (curl: -H 'Content-Type: application/json').");
        }

        JToken parsed;
        try
        {
            using var reader = new JsonTextReader(new StringReader(new UTF8Encoding(false, true).GetString(body))) { MaxDepth = MaxDepth, DateParseHandling = DateParseHandling.None };
            parsed = JToken.ReadFrom(reader, new JsonLoadSettings { DuplicatePropertyNameHandling = DuplicatePropertyNameHandling.Error });
            if (reader.Read())
            {
                throw new JsonReaderException("Text follows the JSON value.");
            }
        }
        catch (Exception ex) when (ex is JsonException or DecoderFallbackException)
        {
            throw Invalid($"The body is not one JSON object ({Printable(ex.Message)}); expected e.g. {example}.");
        }

        if (parsed is not JObject json)
        {
            throw Invalid($"The body must be a JSON object, e.g. {example}.");
        }

        var unknown = json.Properties().Select(p => p.Name).FirstOrDefault(n => !members.Contains(n, StringComparer.Ordinal));
        if (unknown is not null)
        {
            throw new ModelCacheException("RequestBodyUnknownMember", ModelCacheErrorKind.InvalidArgument,
                $"The body has a member this endpoint does not know: \"{Printable(unknown)}\". It takes: {string.Join(", ", members.Select(m => "\"" + m + "\""))}.",
                "Remove the member, or check its spelling (see GET /openapi.json).");
        }

        return json;
    }

    /// <summary>A <c>names</c> member: absent or null is none; otherwise an array of 1..<see cref="MaxNames"/> non-empty strings.</summary>
    public static IReadOnlyList<string>? Names(JObject body, string member = "names")
    {
        switch (body[member])
        {
            case null or { Type: JTokenType.Null }:
                return null;
            case JArray array when array.Count is > 0 and <= MaxNames && array.All(IsName):
                return array.Select(n => (string)n!).ToList();
            default:
                throw Invalid($"\"{member}\" must be an array of 1 to {MaxNames} model names (non-empty strings of at most {MaxNameLength} characters).");
        }
    }

    public static bool IsName(JToken token) =>
        token.Type == JTokenType.String && ((string)token!).Length is > 0 and <= MaxNameLength && !((string)token!).Any(char.IsControl);

    public static ModelCacheException Invalid(string message) =>
        new("RequestBodyInvalid", ModelCacheErrorKind.InvalidArgument, message, "Send the body GET /openapi.json describes for this endpoint.");

    /// <summary>A client's text, bounded and without control characters, as it may be quoted back.</summary>
    private static string Printable(string text)
    {
        var cleaned = new string(text.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return cleaned.Length > 80 ? cleaned.Substring(0, 80) + "…" : cleaned;
    }
}
