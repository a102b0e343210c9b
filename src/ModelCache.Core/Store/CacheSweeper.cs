using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Layouts;
using ModelCache.IO;

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
            // A native member folder belongs to one model: every work file there is its own. A shared folder (flat,
            // or a per-model location) holds other models' too, so only this file's are.
            found.AddRange(SafeGetFiles(directory).Where(path => IsWorkFileOf(Path.GetFileName(path), Layout.SlotDirectoryIsExclusive(family, member) ? null : fileName)));
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
                    DeleteEmptyFolders(family, member);
                }
            }
            catch (ModelCacheException ex) when (ex.ErrorId is "LockTimeout" or "CacheFolderIsLink")
            {
                // A download is in progress there; its partial is not abandoned.
            }
        }

        return freed;
    }

    /// <summary>
    /// Every partial download under the root, beside a finished model or not, with the model it belongs to (by folder in
    /// the native layout, by file name in a flat one). Links are skipped. Nothing is locked or written.
    /// </summary>
    public IReadOnlyList<PartialFile> ListPartials(ModelCatalog catalog)
    {
        var found = new List<PartialFile>();
        if (Layout is NativeLayout native)
        {
            foreach (var slot in native.EnumerateSlots(catalog))
            {
                foreach (var path in SafeGetFiles(native.GetSlotDirectory(slot.Family, slot.Member)).Where(IsPartial))
                {
                    // A member folder under the root is the model's own (as DeleteWorkFiles treats it); a per-model
                    // folder may hold other downloads, so there only the model's own file name counts.
                    var fileName = StripPartial(path);
                    if (slot.FileName is null || slot.FileName == fileName || native.SlotDirectoryIsExclusive(slot.Family, slot.Member))
                    {
                        found.Add(Describe(slot.Family, slot.Member, fileName, path, slot.Model));
                    }
                }
            }

            return found;
        }

        foreach (var path in SafeGetFiles(Layout.Root).Where(IsPartial))
        {
            var fileName = StripPartial(path);
            if (!CacheFiles.IsPlainFileName(fileName) || CacheFiles.IsStoreFileName(fileName))
            {
                continue;
            }

            var model = catalog.FindByExactFileName(fileName);
            found.Add(model is null ? Describe(string.Empty, fileName, fileName, path, null) : Describe(model.Family, model.Member, model.FileName, path, model));
        }

        return found;
    }

    /// <summary>
    /// Deletes a partial download and its resume state when no process is writing it: only while its model's lock is
    /// free at once. Returns the bytes freed, or null when the lock was held (a download in progress).
    /// </summary>
    public async Task<long?> RemovePartialAsync(PartialFile partial, CancellationToken cancellationToken)
    {
        var directory = Layout.GetSlotDirectory(partial.Family, partial.Member);
        var path = CacheFiles.PartialPathFor(System.IO.Path.Combine(directory, partial.FileName));
        if (!CacheFiles.IsPlainFileName(partial.FileName) || !string.Equals(System.IO.Path.GetFullPath(partial.Path), path, StringComparison.Ordinal) || !Layout.IsContained(path))
        {
            throw CacheLayout.LinkRefused(partial.Path);
        }

        try
        {
            using (await _store.LockAsync(partial.Family, partial.Member, TimeSpan.Zero, null, cancellationToken).ConfigureAwait(false))
            {
                var freed = FileCleanup.TryDelete(path) + FileCleanup.TryDelete(CacheFiles.PartialStatePathFor(System.IO.Path.Combine(directory, partial.FileName)));
                DeleteEmptyFolders(partial.Family, partial.Member);
                return freed;
            }
        }
        catch (ModelCacheException ex) when (ex.ErrorId == "LockTimeout")
        {
            return null;
        }
    }

    private static bool IsPartial(string path) => path.EndsWith(CacheFiles.PartialSuffix, StringComparison.Ordinal) && !CacheFiles.IsLink(path);

    private static string StripPartial(string path)
    {
        var name = Path.GetFileName(path);
        return name.Substring(0, name.Length - CacheFiles.PartialSuffix.Length);
    }

    private static PartialFile Describe(string family, string member, string fileName, string path, ModelDefinition? model)
    {
        var info = new FileInfo(path);
        return new PartialFile(family, member, fileName, info.FullName, info.Exists ? info.Length : 0, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero),
            model?.Task ?? "unknown", model is not null);
    }

    /// <summary>
    /// Removes a native member folder under the root, then its family folder, where they hold nothing any more.
    /// A per-model location's folder is the user's, and is never removed.
    /// </summary>
    public void DeleteEmptyFolders(string family, string member)
    {
        if (Layout is not NativeLayout native)
        {
            return;
        }

        var entryDirectory = native.GetEntryDirectory(family, member);
        if (!Layout.IsContained(entryDirectory, Layout.Root))
        {
            return;
        }

        DeleteIfEmpty(entryDirectory);
        DeleteIfEmpty(Path.GetDirectoryName(entryDirectory)!);
    }

    /// <summary>
    /// After every model of the root went elsewhere: lock files no process holds, then the folders left empty, bottom
    /// up, the root (and a separate state folder) included. Links are neither followed nor removed.
    /// </summary>
    public async Task RemoveLeftoversAsync(CancellationToken cancellationToken)
    {
        if (Layout.LockRoot is { } locks && Layout.IsContained(locks, Layout.StateRoot) && Directory.Exists(locks))
        {
            foreach (var lockFile in Directory.GetFiles(locks, "*.lock", SearchOption.AllDirectories).Where(f => Layout.IsContained(f, Layout.StateRoot)))
            {
                await DeleteFreeLockAsync(lockFile, cancellationToken).ConfigureAwait(false);
            }
        }

        // The last sync's record describes this root's models, which went elsewhere: it would keep the root alive.
        if (Layout.IsContained(LastSyncRecord.PathFor(Layout), Layout.StateRoot))
        {
            FileCleanup.TryDelete(LastSyncRecord.PathFor(Layout));
        }

        DeleteEmptyTree(Layout.Root);
        if (!string.Equals(Layout.StateRoot, Layout.Root, StringComparison.Ordinal))
        {
            DeleteEmptyTree(Layout.StateRoot);
        }
    }

    /// <summary>
    /// A lock file is deleted only while this process holds it, so no other process is inside the section it guards;
    /// where the OS refuses to delete an open file (Windows), right after releasing it.
    /// </summary>
    private static async Task DeleteFreeLockAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            using (await FileLock.AcquireAsync(path, TimeSpan.Zero, null, cancellationToken).ConfigureAwait(false))
            {
                if (FileCleanup.TryDelete(path) > 0 || !File.Exists(path))
                {
                    return;
                }
            }

            FileCleanup.TryDelete(path);
        }
        catch (ModelCacheException ex) when (ex.ErrorId == "LockTimeout")
        {
            // Held by a process still working in the old root: the lock and its folders stay.
        }
    }

    private static void DeleteEmptyTree(string directory)
    {
        if (CacheFiles.IsLink(directory) || !Directory.Exists(directory))
        {
            return;
        }

        foreach (var child in SafeGetDirectories(directory))
        {
            if (!CacheFiles.IsLink(child))
            {
                DeleteEmptyTree(child);
            }
        }

        DeleteIfEmpty(directory);
    }

    private static string[] SafeGetDirectories(string directory)
    {
        try
        {
            return Directory.GetDirectories(directory);
        }
        catch (DirectoryNotFoundException)
        {
            return Array.Empty<string>();
        }
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
