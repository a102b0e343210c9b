using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelCache.Store;
using Newtonsoft.Json;
using ModelCache.IO;

namespace ModelCache.Integrity;

/// <summary>
/// Fingerprints of model files this user has hashed, kept in the user's own ModelCache folder (beside
/// settings.json), never inside a cache root, where anyone who can write the root could forge them.
/// Bounded (entries and bytes), written atomically, best-effort: an unreadable file is an empty store.
/// </summary>
public sealed class FingerprintStore
{
    /// <summary>The most files remembered; the oldest records go first.</summary>
    public const int MaxEntries = 2000;

    private const long MaxFileBytes = 1 << 20;
    private readonly object _gate = new();

    public FingerprintStore(string file)
    {
        File = file;
    }

    public string File { get; }

    /// <summary>The SHA-256 recorded for <paramref name="path"/> with exactly this fingerprint, else null.</summary>
    public string? Find(string path, FileFingerprint fingerprint)
    {
        lock (_gate)
        {
            return Load().TryGetValue(path, out var record) && FileFingerprint.Parse(record.Fingerprint) is { } recorded && recorded.Equals(fingerprint)
                ? record.Sha256
                : null;
        }
    }

    /// <summary>Remembers that <paramref name="path"/> with <paramref name="fingerprint"/> hashed to <paramref name="sha256"/>.</summary>
    public void Record(string path, FileFingerprint fingerprint, string sha256)
    {
        lock (_gate)
        {
            try
            {
                var records = Load();
                records[path] = new Entry { Fingerprint = fingerprint.ToString(), Sha256 = sha256, RecordedAt = DateTimeOffset.UtcNow };
                var kept = records.OrderByDescending(r => r.Value.RecordedAt).Take(MaxEntries).ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal);
                Directory.CreateDirectory(Path.GetDirectoryName(File)!);
                AtomicFile.WriteAllText(File, JsonConvert.SerializeObject(kept));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Best-effort: the next process hashes again.
            }
        }
    }

    private Dictionary<string, Entry> Load()
    {
        try
        {
            var info = new FileInfo(File);
            if (info.Exists && info.Length <= MaxFileBytes)
            {
                return JsonConvert.DeserializeObject<Dictionary<string, Entry>>(ModelCache.IO.RegularFile.ReadAllText(File)) is { } loaded
                    ? new Dictionary<string, Entry>(loaded.Where(r => r.Value is not null).ToDictionary(r => r.Key, r => r.Value), StringComparer.Ordinal)
                    : new Dictionary<string, Entry>(StringComparer.Ordinal);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
        }

        return new Dictionary<string, Entry>(StringComparer.Ordinal);
    }

    private sealed class Entry
    {
        [JsonProperty("fingerprint")]
        public string? Fingerprint { get; set; }

        [JsonProperty("sha256")]
        public string? Sha256 { get; set; }

        [JsonProperty("recordedAt")]
        public DateTimeOffset RecordedAt { get; set; }
    }
}
