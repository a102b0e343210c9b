using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.IO;
using ModelCache.Layouts;

namespace ModelCache.Store;

/// <summary>
/// Optimize-ModelCache's engine. <see cref="PlanAsync"/> walks the root without writing anything (hashing every
/// selected file, never through a link) and lists the steps; <see cref="ExecuteAsync"/> performs one step under
/// its model's lock, after checking the file is still what the plan hashed, so the caller can ask before each.
/// </summary>
public sealed class CacheOptimizer
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(10);
    private readonly CacheStore _store;
    private readonly ModelCatalog _catalog;
    private readonly IFileSystemNative _fileSystem;

    public CacheOptimizer(CacheStore store, ModelCatalog catalog, IFileSystemNative? fileSystem = null)
    {
        _store = store;
        _catalog = catalog;
        _fileSystem = fileSystem ?? NativeFileSystem.Current;
    }

    private CacheLayout Layout => _store.Layout;

    /// <summary>What optimizing would do; changes nothing (-WhatIf shows this).</summary>
    public async Task<CacheOptimizePlan> PlanAsync(CacheOptimizeOptions options, CancellationToken cancellationToken = default)
    {
        var steps = new List<CacheOptimizeStep>();
        var problems = new List<ModelCacheException>();
        var notes = new List<string>();
        bool Selected(string family, string member) => options.Select?.Invoke(family, member) ?? true;

        foreach (var (family, member, fileName) in _store.Sweeper.WorkFileCandidates(_catalog, withFinishedFiles: true))
        {
            var work = _store.Sweeper.WorkFiles(family, member, fileName);
            if (!Selected(family, member) || work.Count == 0)
            {
                continue;
            }

            if (IsLockHeld(family, member))
            {
                notes.Add($"Kept the partial download of {Qualified(family, member)}: a process is downloading it.");
                continue;
            }

            steps.Add(new CacheOptimizeStep(CacheOptimizeActionKind.RemovedPartial, family, member, fileName ?? string.Empty, null, work[0],
                work.Sum(SizeOf), $"{work.Count} work file(s) no process is writing"));
        }

        var kept = new List<CacheOptimizeStep>();
        foreach (var slot in Layout.EnumerateSlots(_catalog, problems))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Selected(slot.Family, slot.Member) && await InspectAsync(slot, options, steps, problems, notes, cancellationToken).ConfigureAwait(false) is { } file)
            {
                kept.Add(file);
            }
        }

        steps.AddRange(PlanDeduplication(kept));
        return new CacheOptimizePlan(steps, problems, notes);
    }

    /// <summary>
    /// Performs one planned step under its model's lock (both models' for a de-duplication). Null when its premise
    /// no longer holds (a download started, the file changed or became valid), or when the file system refused a
    /// hard link (said through <paramref name="warn"/>): nothing was changed then.
    /// </summary>
    public async Task<CacheOptimizeAction?> ExecuteAsync(CacheOptimizeStep step, Action<string>? warn = null, CancellationToken cancellationToken = default)
    {
        if (step.Kind == CacheOptimizeActionKind.RemovedOrphan)
        {
            // The store's own removal: the entry's names are checked against the layout and the lock is taken there.
            var entry = _store.Entries.Create(step.Path, CacheEntryFactory.Describe(step.Family, step.Member, null, new FileInfo(step.Path)), null);
            await _store.RemoveAsync(entry, cancellationToken).ConfigureAwait(false);
            return Done(step, step.Bytes, "no catalog names this file");
        }

        FileLock held;
        try
        {
            held = await _store.LockAsync(step.Family, step.Member, step.Kind == CacheOptimizeActionKind.RemovedPartial ? TimeSpan.Zero : LockTimeout, null, cancellationToken).ConfigureAwait(false);
        }
        catch (ModelCacheException ex) when (ex.ErrorId == "LockTimeout" && step.Kind == CacheOptimizeActionKind.RemovedPartial)
        {
            return null; // A download started there since the plan: its partial is live.
        }

        using (held)
        {
            switch (step.Kind)
            {
                case CacheOptimizeActionKind.RemovedPartial:
                    var freed = _store.Sweeper.DeleteWorkFiles(step.Family, step.Member, step.FileName.Length == 0 ? null : step.FileName);
                    _store.Sweeper.DeleteEmptyFolders(step.Family, step.Member);
                    return Done(step, freed, step.Detail);
                case CacheOptimizeActionKind.RemovedCorrupt:
                case CacheOptimizeActionKind.Quarantined:
                    return await RemoveCorruptAsync(step, cancellationToken).ConfigureAwait(false);
                case CacheOptimizeActionKind.RebuiltMetadata:
                    return await RebuildMetadataAsync(step, cancellationToken).ConfigureAwait(false);
                case CacheOptimizeActionKind.Deduplicated:
                    using (await LockKeeperAsync(step, cancellationToken).ConfigureAwait(false))
                    {
                        return await DeduplicateAsync(step, warn, cancellationToken).ConfigureAwait(false);
                    }

                default:
                    throw new ArgumentOutOfRangeException(nameof(step), step.Kind, "Not a step the optimizer plans.");
            }
        }
    }

    /// <summary>Hashes one slot's file and plans what it needs; returns it when it stays (for de-duplication).</summary>
    private async Task<CacheOptimizeStep?> InspectAsync(LayoutSlot slot, CacheOptimizeOptions options, List<CacheOptimizeStep> steps,
        List<ModelCacheException> problems, List<string> notes, CancellationToken cancellationToken)
    {
        var directory = Layout.GetSlotDirectory(slot.Family, slot.Member);
        var metadataPath = Layout.GetMetadataPath(slot.Family, slot.Member);
        string? rejection = null;
        var metadata = metadataPath is not null && Layout.IsContained(metadataPath, Layout.StateRoot)
            ? EntryMetadataFile.TryRead(metadataPath, slot.Family, slot.Member, slot.FileName, out rejection)
            : null;
        var fileName = slot.FileName ?? metadata?.FileName ?? CacheStore.GuessModelFile(directory);
        var path = fileName is null ? null : Path.Combine(directory, fileName);
        if (path is not null && Directory.Exists(path))
        {
            problems.Add(CacheIOFailure.NotARegularFile(new NotARegularFileException(path, FileKind.Directory), slot.Name));
            return null;
        }

        if (path is null || !File.Exists(path))
        {
            return null;
        }

        if (!Layout.IsContained(path))
        {
            problems.Add(CacheLayout.LinkRefused(path));
            return null;
        }

        FileFingerprint? fingerprint;
        string sha256;
        try
        {
            // The store's one check, always hashing here; it records the fingerprint, which vouches for the file when the step runs.
            var check = await _store.Verifier.VerifyAsync(slot.Name, path, null, VerifyPolicy.HashAlways, null, null, cancellationToken).ConfigureAwait(false);
            if (check.Result.Actual is null)
            {
                return null; // Removed by another process meanwhile.
            }

            (fingerprint, sha256) = (check.Fingerprint, check.Result.Actual);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null; // Removed by another process meanwhile.
        }
        catch (NotARegularFileException ex)
        {
            problems.Add(CacheIOFailure.NotARegularFile(ex, slot.Name));
            return null;
        }

        var size = fingerprint?.Size ?? SizeOf(path);
        CacheOptimizeStep Step(CacheOptimizeActionKind kind, string detail) =>
            new(kind, slot.Family, slot.Member, fileName!, slot.Model, path, size, detail) { Fingerprint = fingerprint, Sha256 = sha256 };

        if (slot.Model is { } model && !string.Equals(sha256, model.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            steps.Add(Step(options.Quarantine ? CacheOptimizeActionKind.Quarantined : CacheOptimizeActionKind.RemovedCorrupt,
                $"SHA-256 {sha256} is not the catalog's {model.Sha256.ToLowerInvariant()}"));
            return null;
        }

        if (slot.Model is null && options.RemoveOrphans)
        {
            steps.Add(Step(CacheOptimizeActionKind.RemovedOrphan, "no catalog names this file"));
            return null;
        }

        if (slot.Model is null)
        {
            notes.Add($"Kept {Qualified(slot.Family, slot.Member)}, which no catalog knows ({path}); -RemoveOrphans removes it.");
        }

        if (metadataPath is not null && (metadata is null || !string.Equals(metadata.Sha256, sha256, StringComparison.OrdinalIgnoreCase) || metadata.Size != size))
        {
            steps.Add(Step(CacheOptimizeActionKind.RebuiltMetadata,
                rejection is not null ? "the metadata was not trusted: " + rejection
                : metadata is null ? "the metadata was lost"
                : "the metadata recorded another hash or size than the file has"));
        }

        return Step(CacheOptimizeActionKind.Deduplicated, string.Empty);
    }

    /// <summary>For each content held by several entries, one keeper (catalog models first, then by name) and a link step for each other copy.</summary>
    private static IEnumerable<CacheOptimizeStep> PlanDeduplication(IEnumerable<CacheOptimizeStep> files)
    {
        foreach (var group in files.GroupBy(f => f.Sha256!, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            var ordered = group.OrderBy(f => f.Model is null).ThenBy(f => f.Name, StringComparer.Ordinal).ToList();
            var keeper = ordered[0];
            foreach (var copy in ordered.Skip(1))
            {
                if (copy.Fingerprint?.FileId is > 0 && copy.Fingerprint?.FileId == keeper.Fingerprint?.FileId)
                {
                    continue; // Already one file under two names.
                }

                yield return new CacheOptimizeStep(CacheOptimizeActionKind.Deduplicated, copy.Family, copy.Member, copy.FileName, copy.Model, copy.Path, copy.Bytes,
                    $"same content (SHA-256 {copy.Sha256}) as {keeper.Name}")
                { Fingerprint = copy.Fingerprint, Sha256 = copy.Sha256, Keeper = keeper };
            }
        }
    }

    private async Task<CacheOptimizeAction?> RemoveCorruptAsync(CacheOptimizeStep step, CancellationToken cancellationToken)
    {
        if (!await StillHashesAsync(step, step.Sha256!, cancellationToken).ConfigureAwait(false))
        {
            return null; // Replaced (saved again) since the plan: not the file that was found corrupt.
        }

        string detail;
        if (step.Kind == CacheOptimizeActionKind.Quarantined)
        {
            var folder = Path.Combine(Layout.QuarantineDirectory, step.Family.Length == 0 ? "_files" : step.Family, step.Member);
            Layout.EnsureContained(folder, Layout.StateRoot);
            Directory.CreateDirectory(folder);
            var destination = Path.Combine(folder, DateTimeOffset.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'") + "-" + step.Sha256!.Substring(0, 12) + "-" + step.FileName);
            File.Move(step.Path, destination);
            detail = $"{step.Detail}; moved to '{destination}'";
        }
        else
        {
            File.Delete(step.Path);
            detail = step.Detail;
        }

        if (Layout.GetMetadataPath(step.Family, step.Member) is { } metadata && Layout.IsContained(metadata, Layout.StateRoot))
        {
            FileCleanup.TryDelete(metadata);
        }

        _store.Sweeper.DeleteDerivedFiles(step.Family, step.Member, step.FileName);
        _store.Sweeper.DeleteEmptyFolders(step.Family, step.Member);
        return Done(step, step.Kind == CacheOptimizeActionKind.Quarantined ? 0 : step.Bytes, detail);
    }

    private async Task<CacheOptimizeAction?> RebuildMetadataAsync(CacheOptimizeStep step, CancellationToken cancellationToken)
    {
        if (!await StillHashesAsync(step, step.Sha256!, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var metadata = CacheEntryFactory.Describe(step.Family, step.Member, step.Model, new FileInfo(step.Path));
        CacheEntryFactory.RecordHash(metadata, step.Path, step.Sha256, step.Model);
        return _store.TryWriteMetadata(metadata) ? Done(step, 0, step.Detail) : null;
    }

    private async Task<CacheOptimizeAction?> DeduplicateAsync(CacheOptimizeStep step, Action<string>? warn, CancellationToken cancellationToken)
    {
        var keeper = step.Keeper!;
        if (!Layout.IsContained(step.Path) || !Layout.IsContained(keeper.Path)
            || !await StillHashesAsync(step, step.Sha256!, cancellationToken).ConfigureAwait(false)
            || !await StillHashesAsync(keeper, step.Sha256!, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        // A link made under a temporary name, then renamed over the copy: readers see one file or the other, never neither.
        var temp = CacheFiles.TempPathFor(step.Path);
        if (!_fileSystem.TryCreateHardLink(keeper.Path, temp))
        {
            warn?.Invoke($"{step.Name} and {keeper.Name} hold the same content ({step.Bytes} bytes), but the file system at '{Layout.Root}' refused a hard link; both copies are kept.");
            return null;
        }

        try
        {
            AtomicFile.Promote(temp, step.Path);
        }
        finally
        {
            FileCleanup.TryDelete(temp);
        }

        // Both names now share one file whose change time moved: record the fingerprint each entry's check now refers to.
        RecordLinked(step);
        RecordLinked(keeper);
        return Done(step, step.Bytes, step.Detail + $"; now a hard link to '{keeper.Path}'");
    }

    private void RecordLinked(CacheOptimizeStep file)
    {
        if (Layout.GetMetadataPath(file.Family, file.Member) is { } path && Layout.IsContained(path, Layout.StateRoot)
            && EntryMetadataFile.TryRead(path, file.Family, file.Member, file.FileName) is { } metadata)
        {
            CacheEntryFactory.RecordHash(metadata, file.Path, file.Sha256, file.Model);
            _store.TryWriteMetadata(metadata);
        }
    }

    /// <summary>
    /// True when the file still holds the hashed content: vouched for by the fingerprint recorded when it was hashed for
    /// the plan (a replacement is a new file), else hashed again.
    /// </summary>
    private async Task<bool> StillHashesAsync(CacheOptimizeStep file, string sha256, CancellationToken cancellationToken) =>
        FileIdentity.Read(file.Path) is not null
        && (await _store.Verifier.VerifyAsync(file.Name, file.Path, sha256, VerifyPolicy.FingerprintMayVouch, null, null, cancellationToken).ConfigureAwait(false)).Result.IsValid;

    /// <summary>The keeper's lock, unless it is the step's own (two names of one model cannot happen, but never lock twice).</summary>
    private async Task<IDisposable?> LockKeeperAsync(CacheOptimizeStep step, CancellationToken cancellationToken)
    {
        var keeper = step.Keeper!;
        return string.Equals(_store.GetLockPath(keeper.Family, keeper.Member), _store.GetLockPath(step.Family, step.Member), StringComparison.Ordinal)
            ? null
            : await _store.LockAsync(keeper.Family, keeper.Member, LockTimeout, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>True when another process holds the model's lock. An absent lock file is free, and checking creates none.</summary>
    private bool IsLockHeld(string family, string member)
    {
        var path = _store.GetLockPath(family, member);
        if (!File.Exists(path) || !Layout.IsContained(path, Layout.StateRoot))
        {
            return false;
        }

        try
        {
            using (RegularFile.Open(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            {
                return false;
            }
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return false; // Gone, or a read-only cache where nothing can be removed anyway.
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static CacheOptimizeAction Done(CacheOptimizeStep step, long freed, string detail) => new(step.Kind, step.Name, step.Path, freed, detail);

    private static string Qualified(string family, string member) => family.Length == 0 ? member : family + "/" + member;

    private static long SizeOf(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? info.Length : 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
