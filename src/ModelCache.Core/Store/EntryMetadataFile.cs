using System;
using System.IO;
using ModelCache.IO;
using ModelCache.Primitives;
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
    public static EntryMetadata? TryRead(string? path, string family, string member, string? expectedFileName) =>
        TryRead(path, family, member, expectedFileName, out _);

    /// <param name="rejection">Why a metadata file that is there was not trusted; null when it was, or is absent.</param>
    public static EntryMetadata? TryRead(string? path, string family, string member, string? expectedFileName, out string? rejection)
    {
        rejection = null;
        if (path is null)
        {
            return null;
        }

        try
        {
            var info = new FileInfo(path);
            if (CacheFiles.IsLink(path))
            {
                rejection = "it is a link";
                return null;
            }

            if (!info.Exists)
            {
                return null;
            }

            if (info.Length > CacheFiles.MaxMetadataBytes)
            {
                rejection = $"it is {info.Length} bytes, over the {CacheFiles.MaxMetadataBytes}-byte limit";
                return null;
            }

            var text = RegularFile.ReadAllText(path);
            // The binder matches keys in any case and keeps the last of a repeated one, which would let a planted key stand.
            if (JsonDuplicateKeys.Find(text, StringComparer.OrdinalIgnoreCase) is { } duplicate)
            {
                rejection = $"it writes the key \"{Shorten(duplicate.Name)}\" twice, at line {duplicate.FirstLine} and at line {duplicate.Line}";
                return null;
            }

            var metadata = JsonConvert.DeserializeObject<EntryMetadata>(text, JsonSettings);
            if (metadata is null)
            {
                rejection = "it is empty";
                return null;
            }

            if (!CacheFiles.IsPlainFileName(metadata.FileName) || CacheFiles.IsStoreFileName(metadata.FileName)
                || (expectedFileName is not null && !string.Equals(metadata.FileName, expectedFileName, StringComparison.Ordinal)))
            {
                rejection = $"it names the file '{Shorten(metadata.FileName)}', which is not this entry's file";
                return null;
            }

            if ((metadata.Family.Length > 0 && metadata.Family != family) || (metadata.Member.Length > 0 && metadata.Member != member))
            {
                rejection = $"it names the model '{Shorten(metadata.Family)}/{Shorten(metadata.Member)}', not the one its place in the layout says";
                return null;
            }

            metadata.Family = family;
            metadata.Member = member;
            return metadata;
        }
        catch (JsonException ex)
        {
            rejection = "it is not valid metadata: " + ex.Message;
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            rejection = "it cannot be read: " + ex.Message;
            return null;
        }
    }

    private static string Shorten(string? text) => text is null ? string.Empty : text.Length <= 120 ? text : text.Substring(0, 120) + "…";

    /// <summary>Writes atomically; the caller holds the model's lock and has checked the path is contained.</summary>
    public static void Write(string path, EntryMetadata metadata)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.WriteAllText(path, JsonConvert.SerializeObject(metadata, JsonSettings));
    }
}
