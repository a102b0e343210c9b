using System;
using System.IO;
using Newtonsoft.Json;

namespace ModelCache.Store;

/// <summary>
/// Reads and writes an entry's metadata file, which is data from whoever wrote the root: bounded, checked,
/// and never a source of paths. Family and member always come from the layout, not from the file.
/// </summary>
internal static class EntryMetadataFile
{
    private static readonly JsonSerializerSettings JsonSettings = new() { Formatting = Formatting.Indented, DateParseHandling = DateParseHandling.DateTimeOffset };

    /// <summary>
    /// The metadata at <paramref name="path"/>, or null when it is absent or cannot be trusted: a link, over
    /// <see cref="CacheFiles.MaxMetadataBytes"/>, not JSON, or naming a file that is not a plain name (or not
    /// <paramref name="expectedFileName"/> when the layout knows the file's name).
    /// </summary>
    public static EntryMetadata? TryRead(string? path, string family, string member, string? expectedFileName)
    {
        if (path is null)
        {
            return null;
        }

        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || CacheFiles.IsLink(path) || info.Length > CacheFiles.MaxMetadataBytes)
            {
                return null;
            }

            var metadata = JsonConvert.DeserializeObject<EntryMetadata>(File.ReadAllText(path), JsonSettings);
            if (metadata is null || !CacheFiles.IsPlainFileName(metadata.FileName) || CacheFiles.IsStoreFileName(metadata.FileName)
                || (expectedFileName is not null && !string.Equals(metadata.FileName, expectedFileName, StringComparison.Ordinal)))
            {
                return null;
            }

            metadata.Family = family;
            metadata.Member = member;
            return metadata;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Writes atomically; the caller holds the model's lock and has checked the path is contained.</summary>
    public static void Write(string path, EntryMetadata metadata)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.WriteAllText(path, JsonConvert.SerializeObject(metadata, JsonSettings));
    }
}
