using System;
using System.Collections.Generic;
using ModelCache.Layouts;

namespace ModelCache.Store;

/// <summary>One cache root at a glance (Get-ModelCache -Summary), computed from disk each time.</summary>
public sealed class CacheSummary
{
    internal CacheSummary(string root, CacheLayoutKind layout)
    {
        Root = root;
        Layout = layout;
    }

    public string Root { get; }

    public CacheLayoutKind Layout { get; }

    public CacheHealth Health { get; internal set; }

    /// <summary>Why <see cref="Health"/> is not Good, each naming its threshold or count; empty when Good.</summary>
    public IReadOnlyList<string> Reasons { get; internal set; } = Array.Empty<string>();

    /// <summary>Model files, catalog or not.</summary>
    public int EntryCount { get; internal set; }

    /// <summary>Bytes of model files, orphans and partial downloads: what the cache takes on disk.</summary>
    public long TotalBytes { get; internal set; }

    /// <summary>Model files, orphans and partial downloads, as counted against the file threshold.</summary>
    public int FileCount { get; internal set; }

    public IReadOnlyDictionary<string, int> ByTask { get; internal set; } = new SortedDictionary<string, int>();

    /// <summary>Bytes of model files by task (partial downloads are in no task).</summary>
    public IReadOnlyDictionary<string, long> BytesByTask { get; internal set; } = new SortedDictionary<string, long>();

    public IReadOnlyDictionary<string, int> ByFamily { get; internal set; } = new SortedDictionary<string, int>();

    public int PartialCount { get; internal set; }

    public long PartialBytes { get; internal set; }

    /// <summary>When the oldest partial download was last written to.</summary>
    public DateTimeOffset? OldestPartial { get; internal set; }

    /// <summary>Files whose model is in no catalog.</summary>
    public int OrphanCount { get; internal set; }

    public long OrphanBytes { get; internal set; }

    /// <summary>Entries without metadata (rebuilt, with a hash, the next time the cache is listed).</summary>
    public int MetadataMissing { get; internal set; }

    /// <summary>Entries whose metadata was there but not trusted.</summary>
    public int MetadataInvalid { get; internal set; }

    /// <summary>Slots whose model file is a folder, FIFO, socket or device: reported, never opened, Corrupt.</summary>
    public int NotRegularFiles { get; internal set; }

    /// <summary>Entries whose last recorded hash check failed.</summary>
    public int FailedChecks { get; internal set; }

    /// <summary>Entries never hashed since they were recorded.</summary>
    public int NeverVerified { get; internal set; }

    /// <summary>The oldest last-verification time among the entries; null when none was ever verified.</summary>
    public DateTimeOffset? OldestVerification { get; internal set; }

    /// <summary>Bytes free on the volume for this user; null when the OS does not tell.</summary>
    public long? FreeSpace { get; internal set; }

    public CacheHealthThresholds Thresholds { get; internal set; } = new();

    public override string ToString() => $"{Root}: {Health}";
}
