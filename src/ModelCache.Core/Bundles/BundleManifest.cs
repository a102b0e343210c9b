using System;
using System.Collections.Generic;
using ModelCache.Catalog;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Bundles;

/// <summary>
/// <c>manifest.json</c> of a bundle: what it carries and what each file must hash to. Written by Export-ModelCache,
/// read as untrusted input by Import-ModelCache (<see cref="BundleManifestReader"/>).
/// </summary>
public sealed class BundleManifest
{
    /// <summary>The bundle format this code writes and reads.</summary>
    public const int CurrentFormatVersion = 1;

    public const string FileName = "manifest.json";

    /// <summary>A static mirror's index: the same schema, for people and tools that browse the mirror.</summary>
    public const string MirrorIndexFileName = "index.json";

    [JsonProperty("formatVersion")]
    public int FormatVersion { get; set; } = CurrentFormatVersion;

    /// <summary>The tool and version that wrote the bundle, e.g. <c>ModelCache 0.4.0</c>.</summary>
    [JsonProperty("tool")]
    public string Tool { get; set; } = string.Empty;

    [JsonProperty("createdAt")]
    public DateTimeOffset CreatedAt { get; set; }

    [JsonProperty("models")]
    public List<BundleModel> Models { get; set; } = new();

    /// <summary>The manifest's bytes as every bundle writer stores them (indented UTF-8 JSON, no BOM).</summary>
    public byte[] ToBytes() => new System.Text.UTF8Encoding(false).GetBytes(JsonConvert.SerializeObject(this, new JsonSerializerSettings { Formatting = Formatting.Indented }));
}

/// <summary>One model in a bundle.</summary>
public sealed class BundleModel
{
    /// <summary><c>Family/Member</c>.</summary>
    [JsonProperty("name")]
    public string Name { get; set; } = string.Empty;

    /// <summary>The file's name inside the bundle (and in the cache): the catalog's file name.</summary>
    [JsonProperty("fileName")]
    public string FileName { get; set; } = string.Empty;

    [JsonProperty("task")]
    public string Task { get; set; } = string.Empty;

    [JsonProperty("size")]
    public long Size { get; set; }

    /// <summary>Lowercase hex SHA-256 of the file.</summary>
    [JsonProperty("sha256")]
    public string Sha256 { get; set; } = string.Empty;

    [JsonProperty("sourceUrl")]
    public string? SourceUrl { get; set; }

    [JsonProperty("license")]
    public string? License { get; set; }

    /// <summary>
    /// The model's full catalog entry (the catalog schema), written for models that are not built in so the other
    /// side can know them; absent for built-in models. Read as untrusted: it must pass the catalog's checks and agree
    /// with this entry's name, file name, size and SHA-256.
    /// </summary>
    [JsonProperty("catalogEntry", NullValueHandling = NullValueHandling.Ignore)]
    public JObject? CatalogEntry { get; set; }

    /// <summary>
    /// Where the file sits in a Hugging Face hub cache, for bundles written with <c>-Layout HuggingFace</c>; absent
    /// for catalog models. Readers before it ignore the member and refuse the entry, whose name no catalog can hold.
    /// </summary>
    [JsonProperty("hub", NullValueHandling = NullValueHandling.Ignore)]
    public BundleHubFile? Hub { get; set; }

    /// <summary>The manifest entry of <paramref name="model"/>, whose file has <paramref name="size"/> bytes hashing to <paramref name="sha256"/>.</summary>
    public static BundleModel From(ModelDefinition model, long size, string sha256, bool includeCatalogEntry) => new()
    {
        Name = model.Name,
        FileName = model.FileName,
        Task = model.Task,
        Size = size,
        Sha256 = sha256,
        SourceUrl = IsHttp(model.Url) ? model.Url!.ToString() : null,
        License = model.License,
        CatalogEntry = includeCatalogEntry ? Carried(model) : null,
    };

    /// <summary>
    /// The catalog entry a bundle (or a server's index.json) carries: a url that is not http(s) (a file on the exporting
    /// machine) is left out, as an importer refuses it and it names a local path; the bundle holds the bytes, and the
    /// model is then known by its hash.
    /// </summary>
    private static JObject Carried(ModelDefinition model)
    {
        var entry = CatalogWriter.ToEntry(model);
        if (model.Url is not null && !IsHttp(model.Url))
        {
            entry.Remove("url");
        }

        return entry;
    }

    private static bool IsHttp(Uri? url) => url is not null && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps);
}

/// <summary>A hub cache file in a bundle: enough to rebuild <c>blobs/</c>, <c>snapshots/</c> and <c>refs/</c> on the other side.</summary>
public sealed class BundleHubFile
{
    /// <summary>The repository id, <c>org/name</c>.</summary>
    [JsonProperty("repo")]
    public string Repo { get; set; } = string.Empty;

    /// <summary><c>model</c>, <c>dataset</c> or <c>space</c>.</summary>
    [JsonProperty("repoType")]
    public string RepoType { get; set; } = string.Empty;

    /// <summary>The 40-hex commit id of the snapshot.</summary>
    [JsonProperty("commit")]
    public string Commit { get; set; } = string.Empty;

    /// <summary>The file's path in the repository, <c>/</c>-separated.</summary>
    [JsonProperty("path")]
    public string Path { get; set; } = string.Empty;

    /// <summary>The blob's name: the SHA-256 (64 hex) of an LFS file or the git blob SHA-1 (40 hex) of a small one.</summary>
    [JsonProperty("blobId")]
    public string BlobId { get; set; } = string.Empty;

    /// <summary>Branch and tag names that point at <see cref="Commit"/>.</summary>
    [JsonProperty("refs")]
    public List<string> Refs { get; set; } = new();
}
