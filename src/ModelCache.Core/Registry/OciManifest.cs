using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.Primitives;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Registry;

/// <summary>The media types of a ModelCache bundle stored as an OCI artifact (image-spec manifest.md, "artifacts with a config blob").</summary>
public static class OciMediaTypes
{
    /// <summary>The OCI image manifest, v1: what a bundle artifact is.</summary>
    public const string ImageManifest = "application/vnd.oci.image.manifest.v1+json";

    /// <summary>An OCI image index: never followed (a bundle is one manifest).</summary>
    public const string ImageIndex = "application/vnd.oci.image.index.v1+json";

    /// <summary>The artifact's type, set on the manifest so registries and tools can tell bundles apart.</summary>
    public const string BundleArtifact = "application/vnd.modelcache.bundle.v1";

    /// <summary>The config blob: the bundle manifest (the schema of a bundle's manifest.json), carried catalog entries included.</summary>
    public const string BundleConfig = "application/vnd.modelcache.bundle.manifest.v1+json";

    /// <summary>A layer: one model file, its bytes as they are in the cache (not a tar).</summary>
    public const string ModelFile = "application/vnd.modelcache.model.file.v1";
}

/// <summary>Annotation keys written on a bundle artifact's layers.</summary>
public static class OciAnnotations
{
    /// <summary>The file name (image-spec annotations.md): what ORAS and skopeo-based tools name the file by.</summary>
    public const string Title = "org.opencontainers.image.title";

    /// <summary>The model's catalog name, Family/Member.</summary>
    public const string ModelName = "io.modelcache.model.name";
}

/// <summary>An OCI content descriptor (image-spec descriptor.md): what a blob is, its digest and size.</summary>
public sealed class OciDescriptor
{
    public OciDescriptor(string mediaType, string digest, long size, IReadOnlyDictionary<string, string>? annotations = null)
    {
        MediaType = mediaType;
        Digest = digest;
        Size = size;
        Annotations = annotations is null ? new SortedDictionary<string, string>(StringComparer.Ordinal) : new SortedDictionary<string, string>(annotations.ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal);
    }

    public string MediaType { get; }

    /// <summary><c>sha256:&lt;64 lowercase hex&gt;</c>.</summary>
    public string Digest { get; }

    public long Size { get; }

    /// <summary>Sorted by key (ordinal), so the serialized manifest is the same bytes every time.</summary>
    public IReadOnlyDictionary<string, string> Annotations { get; }

    /// <summary>The 64 hex digits of the SHA-256 digest.</summary>
    public string Sha256 => Digest.Substring(OciManifest.DigestPrefix.Length);

    /// <summary>The value of annotation <paramref name="key"/>, or null.</summary>
    public string? Annotation(string key) => Annotations.TryGetValue(key, out var value) ? value : null;

    /// <summary>A descriptor for content whose SHA-256 (hex) is known.</summary>
    public static OciDescriptor ForSha256(string mediaType, string sha256, long size, IReadOnlyDictionary<string, string>? annotations = null) =>
        new(mediaType, OciManifest.DigestPrefix + sha256.ToLowerInvariant(), size, annotations);

    /// <summary>A descriptor for bytes held in memory (a config blob).</summary>
    public static OciDescriptor ForBytes(string mediaType, byte[] bytes) => ForSha256(mediaType, Sha256Hasher.HashBytes(bytes), bytes.Length);

    internal void Write(JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WritePropertyName("mediaType");
        writer.WriteValue(MediaType);
        writer.WritePropertyName("digest");
        writer.WriteValue(Digest);
        writer.WritePropertyName("size");
        writer.WriteValue(Size);
        OciManifest.WriteAnnotations(writer, Annotations);
        writer.WriteEndObject();
    }
}

/// <summary>
/// An OCI image manifest (image-spec manifest.md). Written as canonical bytes (fixed member order, annotations sorted,
/// no whitespace) so that the same bundle always has the same digest; read from a registry with <see cref="Parse"/>,
/// which treats the bytes as a stranger's.
/// </summary>
public sealed class OciManifest
{
    public const string DigestPrefix = "sha256:";

    /// <summary>A manifest larger than this is refused unread (the distribution registry itself caps manifests at 4 MiB).</summary>
    public const int MaxManifestBytes = 4 * 1024 * 1024;

    /// <summary>More layers than this is not a bundle of models.</summary>
    public const int MaxLayers = 4096;

    public const int MaxAnnotations = 64;
    public const int MaxAnnotationKeyLength = 256;
    public const int MaxAnnotationValueLength = 4096;

    private static readonly Regex DigestShape = new("^sha256:[a-f0-9]{64}$", RegexOptions.CultureInvariant);

    // RFC 6838 section 4.2 type/subtype names, as the image spec requires of media types.
    private static readonly Regex MediaTypeShape = new(@"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$", RegexOptions.CultureInvariant);

    public OciManifest(OciDescriptor config, IReadOnlyList<OciDescriptor> layers, string? artifactType = null, IReadOnlyDictionary<string, string>? annotations = null)
    {
        Config = config;
        Layers = layers;
        ArtifactType = artifactType;
        Annotations = new SortedDictionary<string, string>((annotations ?? new Dictionary<string, string>()).ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal);
    }

    public int SchemaVersion => 2;

    public string MediaType => OciMediaTypes.ImageManifest;

    public string? ArtifactType { get; }

    public OciDescriptor Config { get; }

    public IReadOnlyList<OciDescriptor> Layers { get; }

    public IReadOnlyDictionary<string, string> Annotations { get; }

    /// <summary>Whether this is a ModelCache bundle: its config is the bundle manifest.</summary>
    public bool IsBundle => Config.MediaType == OciMediaTypes.BundleConfig;

    /// <summary>The canonical bytes: the same manifest gives the same bytes, hence the same digest, on every push.</summary>
    public byte[] ToBytes()
    {
        using var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        using (var writer = new JsonTextWriter(text) { Formatting = Formatting.None, StringEscapeHandling = StringEscapeHandling.Default })
        {
            writer.WriteStartObject();
            writer.WritePropertyName("schemaVersion");
            writer.WriteValue(SchemaVersion);
            writer.WritePropertyName("mediaType");
            writer.WriteValue(MediaType);
            if (ArtifactType is not null)
            {
                writer.WritePropertyName("artifactType");
                writer.WriteValue(ArtifactType);
            }

            writer.WritePropertyName("config");
            Config.Write(writer);
            writer.WritePropertyName("layers");
            writer.WriteStartArray();
            foreach (var layer in Layers)
            {
                layer.Write(writer);
            }

            writer.WriteEndArray();
            WriteAnnotations(writer, Annotations);
            writer.WriteEndObject();
        }

        return new UTF8Encoding(false).GetBytes(text.ToString());
    }

    /// <summary><c>sha256:&lt;hex&gt;</c> of <paramref name="bytes"/>.</summary>
    public static string DigestOf(byte[] bytes) => DigestPrefix + Sha256Hasher.HashBytes(bytes);

    /// <summary>Whether <paramref name="digest"/> is <c>sha256:</c> and 64 lowercase hex digits, the only digests used here.</summary>
    public static bool IsDigest(string? digest) => digest is not null && DigestShape.IsMatch(digest);

    /// <summary>
    /// Reads a manifest a registry sent: at most <see cref="MaxManifestBytes"/>, JSON without repeated keys,
    /// schemaVersion 2, the OCI image manifest media type (an index is refused, never followed), sha256 digests,
    /// sizes ≥ 0, at most <see cref="MaxLayers"/> layers, bounded annotations. Unknown members are ignored, as the
    /// spec asks. <paramref name="where"/> names the artifact in messages.
    /// </summary>
    /// <param name="contentType">The response's Content-Type, used when the manifest has no mediaType member.</param>
    /// <exception cref="ModelCacheException">OciManifestInvalid.</exception>
    public static OciManifest Parse(byte[] bytes, string? contentType, string where)
    {
        if (bytes.Length > MaxManifestBytes)
        {
            throw Invalid(where, $"it is {bytes.Length} bytes, more than the {MaxManifestBytes} a manifest may have");
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Invalid(where, "it is not UTF-8 text");
        }

        if (JsonDuplicateKeys.Find(text, StringComparer.Ordinal) is { } duplicate)
        {
            throw Invalid(where, $"it writes the key \"{Shorten(duplicate.Name)}\" twice in one object");
        }

        JObject json;
        try
        {
            using var reader = new JsonTextReader(new StringReader(text)) { MaxDepth = 16, DateParseHandling = DateParseHandling.None, FloatParseHandling = FloatParseHandling.Decimal };
            json = JObject.Load(reader);
            if (reader.Read())
            {
                throw Invalid(where, "it has content after its JSON object");
            }
        }
        catch (JsonException ex)
        {
            throw Invalid(where, "it is not a JSON object: " + Shorten(ex.Message));
        }

        if (json["schemaVersion"] is not JValue { Type: JTokenType.Integer } version || Convert.ToInt64(version.Value, System.Globalization.CultureInfo.InvariantCulture) != 2)
        {
            throw Invalid(where, "its schemaVersion is not 2");
        }

        var mediaType = OptionalString(json, "mediaType", where) ?? contentType;
        if (mediaType == OciMediaTypes.ImageIndex)
        {
            throw Invalid(where, "it is an image index (a list of manifests), not one manifest; name the bundle's own manifest by its tag or digest");
        }

        if (mediaType != OciMediaTypes.ImageManifest)
        {
            throw Invalid(where, $"its media type is '{Shorten(mediaType)}', not {OciMediaTypes.ImageManifest}");
        }

        var artifactType = OptionalString(json, "artifactType", where);
        if (artifactType is not null && !MediaTypeShape.IsMatch(artifactType))
        {
            throw Invalid(where, $"its artifactType '{Shorten(artifactType)}' is not a media type");
        }

        var config = ReadDescriptor(json["config"], "its config", where);
        if (json["layers"] is not JArray layersJson)
        {
            throw Invalid(where, "it has no layers array");
        }

        if (layersJson.Count > MaxLayers)
        {
            throw Invalid(where, $"it lists {layersJson.Count} layers, more than the {MaxLayers} a bundle may have");
        }

        var layers = new List<OciDescriptor>(layersJson.Count);
        for (var i = 0; i < layersJson.Count; i++)
        {
            layers.Add(ReadDescriptor(layersJson[i], $"its layer {i}", where));
        }

        return new OciManifest(config, layers, artifactType, ReadAnnotations(json["annotations"], "its annotations", where));
    }

    /// <summary>
    /// <see cref="Parse"/>, then what a ModelCache bundle must be: its config the bundle manifest (at most the size a
    /// bundle manifest may have) and every layer a model file named by its title annotation.
    /// </summary>
    public static OciManifest ParseBundle(byte[] bytes, string? contentType, string where)
    {
        var manifest = Parse(bytes, contentType, where);
        if (!manifest.IsBundle)
        {
            throw Invalid(where, $"its config is '{Shorten(manifest.Config.MediaType)}', not a ModelCache bundle manifest ({OciMediaTypes.BundleConfig})");
        }

        if (manifest.Config.Size > Bundles.BundleManifestReader.MaxManifestBytes)
        {
            throw Invalid(where, $"its bundle manifest is {manifest.Config.Size} bytes, more than the {Bundles.BundleManifestReader.MaxManifestBytes} a bundle manifest may have");
        }

        for (var i = 0; i < manifest.Layers.Count; i++)
        {
            var layer = manifest.Layers[i];
            if (layer.MediaType != OciMediaTypes.ModelFile || string.IsNullOrEmpty(layer.Annotation(OciAnnotations.Title)))
            {
                throw Invalid(where, $"its layer {i} is not a model file ({OciMediaTypes.ModelFile} with an {OciAnnotations.Title} annotation)");
            }
        }

        return manifest;
    }

    internal static void WriteAnnotations(JsonWriter writer, IReadOnlyDictionary<string, string> annotations)
    {
        if (annotations.Count == 0)
        {
            return;
        }

        writer.WritePropertyName("annotations");
        writer.WriteStartObject();
        foreach (var pair in annotations.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            writer.WritePropertyName(pair.Key);
            writer.WriteValue(pair.Value);
        }

        writer.WriteEndObject();
    }

    private static OciDescriptor ReadDescriptor(JToken? token, string what, string where)
    {
        if (token is not JObject json)
        {
            throw Invalid(where, $"{what} is not a descriptor object");
        }

        var mediaType = OptionalString(json, "mediaType", where);
        if (mediaType is null || !MediaTypeShape.IsMatch(mediaType))
        {
            throw Invalid(where, $"{what} has no valid mediaType ('{Shorten(mediaType)}')");
        }

        var digest = OptionalString(json, "digest", where);
        if (!IsDigest(digest))
        {
            throw Invalid(where, $"{what} has the digest '{Shorten(digest)}', not sha256: with 64 lowercase hex digits");
        }

        if (json["size"] is not JValue { Type: JTokenType.Integer } sizeValue || sizeValue.Value is not long size || size < 0)
        {
            throw Invalid(where, $"{what} has no size of 0 bytes or more");
        }

        return new OciDescriptor(mediaType, digest!, size, ReadAnnotations(json["annotations"], what + "'s annotations", where));
    }

    private static IReadOnlyDictionary<string, string>? ReadAnnotations(JToken? token, string what, string where)
    {
        if (token is null || token.Type == JTokenType.Null)
        {
            return null;
        }

        if (token is not JObject map)
        {
            throw Invalid(where, $"{what} are not a map of strings");
        }

        if (map.Count > MaxAnnotations)
        {
            throw Invalid(where, $"{what} number {map.Count}, more than {MaxAnnotations}");
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in map.Properties())
        {
            if (property.Value is not JValue { Type: JTokenType.String, Value: string value })
            {
                throw Invalid(where, $"{what} hold a value that is not a string (key '{Shorten(property.Name)}')");
            }

            if (property.Name.Length == 0 || property.Name.Length > MaxAnnotationKeyLength || value.Length > MaxAnnotationValueLength)
            {
                throw Invalid(where, $"{what} hold a key or value longer than allowed ({MaxAnnotationKeyLength} and {MaxAnnotationValueLength} characters)");
            }

            result[property.Name] = value;
        }

        return result;
    }

    private static string? OptionalString(JObject json, string name, string where)
    {
        var token = json[name];
        if (token is null || token.Type == JTokenType.Null)
        {
            return null;
        }

        return token is JValue { Type: JTokenType.String, Value: string value } ? value : throw Invalid(where, $"its {name} is not a string");
    }

    private static ModelCacheException Invalid(string where, string why) => new("OciManifestInvalid", ModelCacheErrorKind.InvalidData,
        $"The registry artifact '{where}' cannot be used: {why}. Nothing was imported from it.",
        "Check the reference (repository, tag or digest); push the bundle again with 'Export-ModelCache -Registry', or ask the registry's administrator what the artifact is.");

    private static string Shorten(string? text) => Bundles.BundleManifestReader.Shorten(text);
}
