using System;
using System.Collections.Generic;
using System.Linq;
using ModelCache.Layouts;
using ModelCache.Primitives;

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

    /// <summary>The verdict in one line, for people: "Good — 9 models, 14.6 MiB, 66.7 GiB free".</summary>
    public string Headline => $"{Health} — {EntryCount} {(EntryCount == 1 ? "model" : "models")}, {ByteSize.Format(TotalBytes)}"
        + (FreeSpace is { } free ? $", {ByteSize.Format(free)} free" : "");

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

    /// <summary>Bytes of model files by family (by repository in a hub cache).</summary>
    public IReadOnlyDictionary<string, long> BytesByFamily { get; internal set; } = new SortedDictionary<string, long>();

    /// <summary>Models and bytes per task, then per family: one row each, for a table.</summary>
    public IReadOnlyList<CacheBreakdown> Breakdown =>
        ByTask.Select(t => new CacheBreakdown("Task", t.Key, t.Value, BytesByTask.TryGetValue(t.Key, out var b) ? b : 0))
            .Concat(ByFamily.Select(f => new CacheBreakdown("Family", f.Key, f.Value, BytesByFamily.TryGetValue(f.Key, out var b) ? b : 0)))
            .ToList();

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

    public override string ToString() => $"{Root}: {Headline}";
}

/// <summary>One row of a cache summary's breakdown: the models of one task or family and their bytes.</summary>
public sealed class CacheBreakdown
{
    internal CacheBreakdown(string group, string name, int models, long bytes)
    {
        Group = group;
        Name = name;
        Models = models;
        Bytes = bytes;
    }

    /// <summary>"Task" or "Family".</summary>
    public string Group { get; }

    public string Name { get; }

    public int Models { get; }

    public long Bytes { get; }

    public override string ToString() => $"{Group} {Name}: {Models}, {ByteSize.Format(Bytes)}";
}
