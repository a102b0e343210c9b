using System.IO;

namespace ModelCache.Store;

/// <summary>What one layout slot holds on disk, read without hashing or writing (see <see cref="CacheStore.ReadSlot"/>).</summary>
internal sealed class SlotReading
{
    public SlotReading(FileInfo? file, EntryMetadata? metadata, bool metadataRejected, string? metadataPath)
    {
        File = file;
        Metadata = metadata;
        MetadataRejected = metadataRejected;
        MetadataPath = metadataPath;
    }

    /// <summary>The model file; null when absent or reached through a link.</summary>
    public FileInfo? File { get; }

    /// <summary>The entry's metadata when present and trusted.</summary>
    public EntryMetadata? Metadata { get; }

    /// <summary>Metadata was there but failed its checks (tampered, or written by something else).</summary>
    public bool MetadataRejected { get; }

    /// <summary>Where the layout keeps this slot's metadata; null for layouts that keep none.</summary>
    public string? MetadataPath { get; }
}
