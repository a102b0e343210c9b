using System;
using System.IO;
using ModelCache.Catalog;
using ModelCache.Integrity;
using ModelCache.Layouts;

namespace ModelCache.Store;

/// <summary>Turns an entry's metadata and its file as found now into the entry cmdlets show.</summary>
internal sealed class CacheEntryFactory
{
    private readonly CacheLayout _layout;

    public CacheEntryFactory(CacheLayout layout)
    {
        _layout = layout;
    }

    public ModelCacheEntry Create(string filePath, EntryMetadata metadata, ModelDefinition? model)
    {
        var file = new FileInfo(filePath);
        var checkedAt = metadata.VerifiedAt;
        var lastCheck = checkedAt is null || model is null || metadata.Sha256 is null
            ? EntryCheckResult.NotChecked
            : string.Equals(model.Sha256, metadata.Sha256, StringComparison.OrdinalIgnoreCase) ? EntryCheckResult.Passed : EntryCheckResult.Failed;
        bool? changed = checkedAt is null ? null : !file.Exists || ChangedSince(file, metadata);
        return new ModelCacheEntry(metadata.Family, metadata.Member, model?.Task ?? metadata.Task, metadata.FileName, file.FullName, _layout.Root,
            file.Exists ? file.Length : 0, metadata.Sha256, model?.Sha256, metadata.SourceUrl, metadata.SavedAt, metadata.LastUsed,
            lastCheck, changed, checkedAt, model is not null, _layout.Kind, pinned: metadata.Pinned);
    }

    /// <summary>Metadata for a file found without any (lost, or written by another tool).</summary>
    public static EntryMetadata Describe(string family, string member, ModelDefinition? model, FileInfo file) => new()
    {
        Family = family,
        Member = member,
        Task = model?.Task ?? "unknown",
        FileName = file.Name,
        Size = file.Exists ? file.Length : 0,
        SourceUrl = model?.Url?.ToString(),
        SavedAt = file.Exists ? new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero) : null,
    };

    /// <summary>Records a hash of the file as it is now: what it hashed to and the fingerprint it had.</summary>
    public static void RecordHash(EntryMetadata metadata, string filePath, string? sha256, ModelDefinition? model)
    {
        metadata.Sha256 = sha256;
        metadata.Size = new FileInfo(filePath).Length;
        metadata.Verified = model is not null && string.Equals(sha256, model.Sha256, StringComparison.OrdinalIgnoreCase);
        metadata.VerifiedAt = DateTimeOffset.UtcNow;
        metadata.Fingerprint = FileIdentity.Read(filePath)?.ToString();
    }

    private static bool ChangedSince(FileInfo file, EntryMetadata metadata)
    {
        if (FileFingerprint.Parse(metadata.Fingerprint) is { } recorded && FileIdentity.Read(file.FullName) is { } now)
        {
            return !recorded.Equals(now);
        }

        // Metadata from before fingerprints were kept: size and write time are all there is.
        return file.Length != metadata.Size || file.LastWriteTimeUtc > metadata.VerifiedAt!.Value.UtcDateTime.AddSeconds(2);
    }
}
