using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using ModelCache.Errors;
using ModelCache.IO;
using ModelCache.Layouts;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Store;

/// <summary>
/// The models the last Sync-ModelCache manifest listed for a cache (<c>lastSync.json</c> in the layout's state folder), so
/// quota eviction keeps what the desired state needs. The file is data: bounded, and its names are only ever compared
/// with entry names, never used as paths, so a tampered record can at most keep entries, never remove one.
/// </summary>
public static class LastSyncRecord
{
    /// <summary>A record with more names than this, or a name longer than <see cref="MaxNameLength"/>, is not trusted.</summary>
    public const int MaxNames = 10_000;

    public const int MaxNameLength = 512;

    /// <summary>Where the layout keeps the record.</summary>
    public static string PathFor(CacheLayout layout) => Path.Combine(layout.StateRoot, CacheFiles.LastSyncFileName);

    /// <summary>Records the manifest's model names, under the store's lock for it and through temp-then-rename.</summary>
    /// <exception cref="ModelCacheException">CacheFolderIsLink, LockTimeout, LastSyncRecordNotWritable.</exception>
    public static void Write(CacheLayout layout, string manifest, IEnumerable<string> names)
    {
        var path = PathFor(layout);
        layout.EnsureContained(path, layout.StateRoot);
        var lockPath = Path.Combine(layout.LockRoot ?? layout.StateRoot, CacheFiles.LastSyncFileName + ".lock");
        layout.EnsureContained(lockPath, layout.StateRoot);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
            using var fileLock = FileLock.Acquire(lockPath, TimeSpan.FromSeconds(10), CancellationToken.None);
            var record = new JObject
            {
                ["formatVersion"] = 1,
                ["manifest"] = manifest,
                ["syncedAt"] = DateTimeOffset.UtcNow,
                ["models"] = new JArray(names.Distinct(StringComparer.OrdinalIgnoreCase).OrderBy(n => n, StringComparer.OrdinalIgnoreCase).ToArray()),
            };
            AtomicFile.WriteAllText(path, record.ToString(Formatting.Indented));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("LastSyncRecordNotWritable", ModelCacheErrorKind.WriteError,
                $"Cannot record the last sync's models in '{path}': {ex.Message}. Quota eviction may remove models the manifest lists until it is written.",
                "Check that the cache root is writable, then run Sync-ModelCache again.", ex);
        }
    }

    /// <summary>
    /// The names the last sync listed: empty when no sync was recorded. A record that is there but cannot be trusted
    /// (a link, over <see cref="CacheFiles.MaxMetadataBytes"/>, not the schema) throws LastSyncRecordInvalid, so that a
    /// caller about to evict stops rather than guess what the manifest needs.
    /// </summary>
    public static ISet<string> Read(CacheLayout layout)
    {
        var path = PathFor(layout);
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        try
        {
            if (!layout.IsContained(path, layout.StateRoot))
            {
                throw Invalid(path, "it is a link, or a folder above it is");
            }

            var file = new FileInfo(path);
            if (!file.Exists)
            {
                return names;
            }

            if (file.Length > CacheFiles.MaxMetadataBytes)
            {
                throw Invalid(path, $"it is {file.Length} bytes, over the {CacheFiles.MaxMetadataBytes}-byte limit");
            }

            if (JToken.Parse(RegularFile.ReadAllText(path)) is not JObject { } root || root["models"] is not JArray models || models.Count > MaxNames)
            {
                throw Invalid(path, $"it is not an object with a \"models\" array of at most {MaxNames} names");
            }

            foreach (var item in models)
            {
                if (item.Type != JTokenType.String || ((string)item!).Length is 0 or > MaxNameLength)
                {
                    throw Invalid(path, "a model name in it is not a string of 1 to " + MaxNameLength + " characters");
                }

                names.Add((string)item!);
            }

            return names;
        }
        catch (JsonException ex)
        {
            throw Invalid(path, "it is not valid JSON: " + ex.Message, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Invalid(path, "it cannot be read: " + ex.Message, ex);
        }
    }

    private static ModelCacheException Invalid(string path, string why, Exception? inner = null) => new("LastSyncRecordInvalid", ModelCacheErrorKind.InvalidData,
        $"The record of the last sync at '{path}' is not trusted: {why}. Nothing was evicted, so that no model the manifest needs goes.",
        "Run Sync-ModelCache again to rewrite it, or delete the file to let eviction go on without it.", inner);
}
