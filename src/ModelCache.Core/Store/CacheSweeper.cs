using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store.Layouts;

namespace ModelCache.Store;

/// <summary>
/// Removes what killed processes leave behind: partial downloads, their resume state and metadata temp files.
/// A work file belongs to its writer, so it is only removed under its model's lock, which proves that no
/// process is writing it.
/// </summary>
internal sealed class CacheSweeper
{
    private readonly CacheStore _store;

    public CacheSweeper(CacheStore store)
    {
        _store = store;
    }

    private CacheLayout Layout => _store.Layout;

    /// <summary>The work files of one model. The caller holds the model's lock. Returns the bytes freed.</summary>
    public long DeleteWorkFiles(string family, string member, string? fileName) => WorkFiles(family, member, fileName).Sum(FileCleanup.TryDelete);

    /// <summary>The work files of one model as they are now (a partial, its resume state, metadata temp files).</summary>
    public IReadOnlyList<string> WorkFiles(string family, string member, string? fileName)
    {
        var directory = Layout.GetSlotDirectory(family, member);
        var found = new List<string>();
        if (Layout.IsContained(directory))
        {
            // A native member folder belongs to one model: every work file there is its own.
            found.AddRange(SafeGetFiles(directory).Where(path => IsWorkFileOf(Path.GetFileName(path), Layout.Kind == CacheLayoutKind.Native ? null : fileName)));
        }

        if (Layout.GetMetadataPath(family, member) is { } metadata && Layout.IsContained(metadata, Layout.StateRoot) && Directory.Exists(Path.GetDirectoryName(metadata)))
        {
            var prefix = Path.GetFileName(metadata) + ".";
            found.AddRange(Directory.GetFiles(Path.GetDirectoryName(metadata)!, prefix + "*" + CacheFiles.TempSuffix));
        }

        return found.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>A model's optimized copy and its key. The caller holds the model's lock. Returns the bytes freed.</summary>
    public long DeleteDerivedFiles(string family, string member, string fileName)
    {
        var directory = Layout.GetDerivedDirectory(family, member);
        return Layout.IsContained(directory, Layout.StateRoot)
            ? new[] { CacheFiles.OptimizedSuffix, CacheFiles.OptimizedKeySuffix }.Sum(suffix => FileCleanup.TryDelete(Path.Combine(directory, fileName + suffix)))
            : 0;
    }

    /// <summary>
    /// Deletes partial downloads no process is working on (their model's lock is free) for models whose file is
    /// not there. Returns the bytes freed.
    /// </summary>
    public async Task<long> RemoveAbandonedDownloadsAsync(ModelCatalog catalog, CancellationToken cancellationToken)
    {
        long freed = 0;
        foreach (var (family, member, fileName) in WorkFileCandidates(catalog, withFinishedFiles: false))
        {
            try
            {
                using (await _store.LockAsync(family, member, TimeSpan.Zero, null, cancellationToken).ConfigureAwait(false))
                {
                    freed += DeleteWorkFiles(family, member, fileName);
                    DeleteEmptyFolders(Layout.GetSlotDirectory(family, member));
                }
            }
            catch (ModelCacheException ex) when (ex.ErrorId is "LockTimeout" or "CacheFolderIsLink")
            {
                // A download is in progress there; its partial is not abandoned.
            }
        }

        return freed;
    }

    /// <summary>Removes a native member folder, then its family folder, where they hold nothing any more.</summary>
    public void DeleteEmptyFolders(string slotDirectory)
    {
        if (Layout.Kind != CacheLayoutKind.Native || !Layout.IsContained(slotDirectory))
        {
            return;
        }

        DeleteIfEmpty(slotDirectory);
        DeleteIfEmpty(Path.GetDirectoryName(slotDirectory)!);
    }

    /// <summary>
    /// Models with work files no process may be writing any more, by the sweeper's rules: with
    /// <paramref name="withFinishedFiles"/>, also those beside a finished model (a killed process's leftovers).
    /// The caller proves them stale by taking the model's lock.
    /// </summary>
    public IEnumerable<(string Family, string Member, string? FileName)> WorkFileCandidates(ModelCatalog catalog, bool withFinishedFiles)
    {
        if (Layout is NativeLayout native)
        {
            // Folders holding nothing but work files.
            foreach (var slot in native.EnumerateSlots(catalog))
            {
                var directory = native.GetSlotDirectory(slot.Family, slot.Member);
                var files = SafeGetFiles(directory);
                if (files.Any(f => CacheFiles.IsWorkFile(Path.GetFileName(f))) && (withFinishedFiles || files.All(f => CacheFiles.IsWorkFile(Path.GetFileName(f)))))
                {
                    yield return (slot.Family, slot.Member, slot.FileName);
                }
            }

            yield break;
        }

        // A flat folder: partials of catalog models whose file is absent.
        foreach (var partial in SafeGetFiles(Layout.Root).Where(f => f.EndsWith(CacheFiles.PartialSuffix, StringComparison.Ordinal)))
        {
            var fileName = Path.GetFileName(partial).Substring(0, Path.GetFileName(partial).Length - CacheFiles.PartialSuffix.Length);
            if (catalog.FindByExactFileName(fileName) is { } model && (withFinishedFiles || !File.Exists(Layout.GetModelPath(model))))
            {
                yield return (model.Family, model.Member, model.FileName);
            }
        }
    }

    private static bool IsWorkFileOf(string name, string? fileName) =>
        CacheFiles.IsWorkFile(name) && (fileName is null || name.StartsWith(fileName + ".", StringComparison.Ordinal));

    private static string[] SafeGetFiles(string directory)
    {
        try
        {
            return Directory.Exists(directory) ? Directory.GetFiles(directory) : Array.Empty<string>();
        }
        catch (DirectoryNotFoundException)
        {
            return Array.Empty<string>();
        }
    }

    private static void DeleteIfEmpty(string directory)
    {
        try
        {
            if (Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any())
            {
                Directory.Delete(directory);
            }
        }
        catch (IOException)
        {
            // Filled again meanwhile (another process saving into it): it stays.
        }
    }
}
