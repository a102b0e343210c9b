using System;
using Newtonsoft.Json;

namespace ModelCache.Store;

/// <summary>What an entry's metadata (<c>entry.json</c> beside a native model file) holds. Rebuilt from the file when lost.</summary>
internal sealed class EntryMetadata
{
    [JsonProperty("schemaVersion")]
    public int SchemaVersion { get; set; } = 1;

    [JsonProperty("family")]
    public string Family { get; set; } = string.Empty;

    [JsonProperty("member")]
    public string Member { get; set; } = string.Empty;

    [JsonProperty("task")]
    public string Task { get; set; } = string.Empty;

    [JsonProperty("fileName")]
    public string FileName { get; set; } = string.Empty;

    [JsonProperty("sha256")]
    public string? Sha256 { get; set; }

    [JsonProperty("size")]
    public long Size { get; set; }

    [JsonProperty("sourceUrl")]
    public string? SourceUrl { get; set; }

    [JsonProperty("savedAt")]
    public DateTimeOffset? SavedAt { get; set; }

    [JsonProperty("lastUsed")]
    public DateTimeOffset? LastUsed { get; set; }

    [JsonProperty("verifiedAt")]
    public DateTimeOffset? VerifiedAt { get; set; }

    [JsonProperty("verified")]
    public bool Verified { get; set; }

    /// <summary>The file's fingerprint when it was last hashed (<see cref="Integrity.FileFingerprint"/>), to tell whether it changed since.</summary>
    [JsonProperty("fingerprint")]
    public string? Fingerprint { get; set; }

    /// <summary>Kept out of eviction and unnamed removals (Set-ModelCacheEntry -Pinned). A rebuilt entry is unpinned.</summary>
    [JsonProperty("pinned")]
    public bool Pinned { get; set; }
}
