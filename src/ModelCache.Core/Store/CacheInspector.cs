using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.IO;
using ModelCache.Primitives;

namespace ModelCache.Store;

/// <summary>
/// Computes a <see cref="CacheSummary"/> from disk: the layout's slots (metadata and file sizes) and the store's
/// partial downloads, nothing else read. Nothing is hashed, rebuilt, locked or written, so a summary is cheap on a large cache and
/// safe on a read-only or foreign one.
/// </summary>
public sealed class CacheInspector
{
    /// <summary>A partial download untouched for this long is taken for abandoned, and counted as clutter.</summary>
    public static readonly TimeSpan StalePartialAge = TimeSpan.FromHours(1);

    private readonly CacheStore _store;
    private readonly IFileSystemNative _fileSystem;
    private readonly Func<DateTimeOffset> _now;

    public CacheInspector(CacheStore store, IFileSystemNative? fileSystem = null, Func<DateTimeOffset>? now = null)
    {
        _store = store;
        _fileSystem = fileSystem ?? NativeFileSystem.Current;
        _now = now ?? (() => DateTimeOffset.UtcNow);
    }

    /// <param name="problems">Receives one error per thing not trusted on the way (a link, tampered metadata).</param>
    public CacheSummary Summarize(ModelCatalog catalog, CacheHealthThresholds thresholds, ICollection<ModelCacheException>? problems, CancellationToken cancellationToken)
    {
        var layout = _store.Layout;
        var summary = new CacheSummary(layout.Root, layout.Kind) { Thresholds = thresholds };
        var byTask = new SortedDictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var byFamily = new SortedDictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var bytesByTask = new SortedDictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        var bytesByFamily = new SortedDictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        var stalePartials = 0;
        var slotDirectories = new HashSet<string>(StringComparer.Ordinal);
        if (Directory.Exists(layout.Root))
        {
            // Reading a slot is a handful of system calls and a small JSON parse; on a cache of thousands of entries
            // that is most of the time, so slots are read in parallel and added up in order afterwards.
            var slots = layout.EnumerateSlots(catalog, problems).ToList();
            var readings = new (SlotReading Reading, ModelCacheEntry? Entry, bool NotRegular)[slots.Count];
            var found = new ConcurrentQueue<ModelCacheException>();
            Parallel.For(0, slots.Count, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount }, index =>
            {
                var slotProblems = new List<ModelCacheException>();
                var reading = _store.ReadSlot(slots[index], slotProblems);
                // A model file that is a folder, FIFO, socket or device is no entry, but the cache is not healthy either.
                var notRegular = reading.File is null && slotProblems.Any(p => p.ErrorId == CacheIOFailure.NotARegularFileId);
                readings[index] = (reading, reading.File is null ? null : _store.Describe(slots[index], reading), notRegular);
                slotProblems.ForEach(found.Enqueue);
            });
            foreach (var problem in found)
            {
                problems?.Add(problem);
            }

            foreach (var (reading, entry, notRegular) in readings)
            {
                summary.MetadataInvalid += reading.MetadataRejected ? 1 : 0;
                summary.NotRegularFiles += notRegular ? 1 : 0;
                if (entry is null)
                {
                    continue;
                }

                summary.MetadataMissing += reading.Metadata is null && reading.MetadataPath is not null && !reading.MetadataRejected ? 1 : 0;
                summary.EntryCount++;
                summary.TotalBytes += entry.Size;
                if (!entry.InCatalog)
                {
                    summary.OrphanCount++;
                    summary.OrphanBytes += entry.Size;
                }

                Increment(byTask, entry.Task);
                bytesByTask[entry.Task] = (bytesByTask.TryGetValue(entry.Task, out var taskBytes) ? taskBytes : 0) + entry.Size;
                var family = entry.Family.Length == 0 ? "(none)" : entry.Family;
                Increment(byFamily, family);
                bytesByFamily[family] = (bytesByFamily.TryGetValue(family, out var familyBytes) ? familyBytes : 0) + entry.Size;
                summary.FailedChecks += entry.LastCheck == EntryCheckResult.Failed ? 1 : 0;
                if (entry.VerifiedAt is { } verified)
                {
                    summary.OldestVerification = summary.OldestVerification is { } oldest && oldest <= verified ? oldest : verified;
                }
                else
                {
                    summary.NeverVerified++;
                }
            }

            // The same list Clear-ModelCache -Partial works from: each model's own partials, links skipped.
            foreach (var partial in _store.ListPartials(catalog))
            {
                summary.PartialCount++;
                summary.PartialBytes += partial.Size;
                summary.OldestPartial = summary.OldestPartial is { } oldest && oldest <= partial.LastWrite ? oldest : partial.LastWrite;
                stalePartials += _now() - partial.LastWrite >= StalePartialAge ? 1 : 0;
            }
        }

        summary.TotalBytes += summary.PartialBytes;
        summary.FileCount = summary.EntryCount + summary.PartialCount;
        summary.ByTask = byTask;
        summary.ByFamily = byFamily;
        summary.BytesByTask = bytesByTask;
        summary.BytesByFamily = bytesByFamily;
        summary.FreeSpace = _fileSystem.GetAvailableFreeSpace(layout.Root);
        Judge(summary, thresholds, stalePartials);
        return summary;
    }

    internal static void Judge(CacheSummary summary, CacheHealthThresholds thresholds, int stalePartials)
    {
        var reasons = new List<(CacheHealth Health, string Reason)>();
        if (summary.FailedChecks > 0)
        {
            reasons.Add((CacheHealth.Corrupt, $"{summary.FailedChecks} entries failed their last hash check (repair: Save-Model <name> -Force)"));
        }

        if (summary.MetadataInvalid > 0)
        {
            reasons.Add((CacheHealth.Corrupt, $"{summary.MetadataInvalid} entries have metadata that is not trusted (check: Test-ModelHash)"));
        }

        if (summary.NotRegularFiles > 0)
        {
            reasons.Add((CacheHealth.Corrupt, $"{summary.NotRegularFiles} model files are not regular files (see the NotARegularFile errors)"));
        }

        if (summary.FileCount > thresholds.MaxFiles)
        {
            reasons.Add((CacheHealth.Cluttered, $"{summary.FileCount} files, over the {thresholds.MaxFiles}-file threshold"));
        }

        if (stalePartials > 0)
        {
            reasons.Add((CacheHealth.Cluttered, $"{stalePartials} partial downloads untouched for over {StalePartialAge.TotalHours:0} h"));
        }

        if (summary.OrphanCount > 0)
        {
            reasons.Add((CacheHealth.Cluttered, $"{summary.OrphanCount} files in no catalog ({ByteSize.Format(summary.OrphanBytes)})"));
        }

        if (summary.TotalBytes > thresholds.MaxBytes)
        {
            reasons.Add((CacheHealth.Large, $"{ByteSize.Format(summary.TotalBytes)} on disk, over the {ByteSize.Format(thresholds.MaxBytes)} threshold"));
        }

        summary.Health = reasons.Count == 0 ? CacheHealth.Good : reasons.Max(r => r.Health);
        summary.Reasons = reasons.OrderByDescending(r => r.Health).Select(r => r.Reason).ToList();
    }

    private static void Increment(IDictionary<string, int> counts, string key) => counts[key] = counts.TryGetValue(key, out var count) ? count + 1 : 1;
}
