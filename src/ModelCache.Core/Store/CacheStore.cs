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
/// The transaction engine over one cache root and its <see cref="CacheLayout"/>: a per-model lock, staging
/// (the partial download beside the final file), promotion of a verified file under its final name with its
/// metadata, recorded checks and uses, listing and removal. A file under its final name is always complete
/// and verified.
/// </summary>
/// <remarks>
/// The root may be a copy from a stranger: every path comes from the catalog and the layout, never from
/// metadata (bounded, validated, and rebuilt when it lies), and nothing under the root is read, written or
/// removed through a link (the layout's containment check).
/// </remarks>
public sealed class CacheStore
{
    public const string MetadataFileName = CacheFiles.MetadataFileName;
    public const string PartialSuffix = CacheFiles.PartialSuffix;

    /// <summary>Beside a partial download: where it came from and its validator, for resuming.</summary>
    public const string PartialStateSuffix = CacheFiles.PartialStateSuffix;

    private static readonly TimeSpan RecordLockTimeout = TimeSpan.FromSeconds(5);
    private readonly CacheEntryFactory _entries;
    private readonly CacheSweeper _sweeper;

    /// <summary>A store over the native layout at <paramref name="root"/>.</summary>
    public CacheStore(string root)
        : this(new NativeLayout(root))
    {
    }

    public CacheStore(CacheLayout layout)
    {
        Layout = layout;
        _entries = new CacheEntryFactory(layout);
        _sweeper = new CacheSweeper(this);
    }

    public CacheLayout Layout { get; }

    public string Root => Layout.Root;

    public string GetModelDirectory(ModelDefinition model) => Layout.GetModelDirectory(model);

    public string GetModelPath(ModelDefinition model) => Layout.GetModelPath(model);

    public string GetPartialPath(ModelDefinition model) => CacheFiles.PartialPathFor(GetModelPath(model));

    public string GetLockPath(string family, string member) => Layout.GetLockPath(family, member);

    /// <summary>Where the ONNX Runtime–optimized copy of <paramref name="model"/> goes (its key beside it, see <see cref="CacheFiles.OptimizedKeySuffix"/>).</summary>
    public string GetOptimizedModelPath(ModelDefinition model) =>
        Path.Combine(Layout.GetDerivedDirectory(model.Family, model.Member), model.FileName + CacheFiles.OptimizedSuffix);

    /// <summary>
    /// The record of files hashed in this process that checks of this store use and every save and commit adds to
    /// (<see cref="FileVerifier.Process"/> unless a test plays another process).
    /// </summary>
    public FileVerifier Verifier { get; set; } = FileVerifier.Process;

    internal CacheSweeper Sweeper => _sweeper;

    internal CacheEntryFactory Entries => _entries;

    /// <summary>
    /// Creates the model's folder and returns where its partial download goes. A link planted where a work
    /// file goes is removed (the store never writes one), so a download cannot write through it.
    /// </summary>
    public string PreparePartial(ModelDefinition model)
    {
        EnsureContained(model);
        Directory.CreateDirectory(GetModelDirectory(model));
        var partial = GetPartialPath(model);
        foreach (var workFile in new[] { partial, CacheFiles.PartialStatePathFor(GetModelPath(model)) })
        {
            if (CacheFiles.IsLink(workFile))
            {
                File.Delete(workFile);
            }
        }

        return partial;
    }

    /// <summary>Creates the root if needed and proves it is writable for this layout, or says clearly why not.</summary>
    public void EnsureWritable()
    {
        if (CheckWritable() is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>Null when the root is (made) writable; otherwise the error saying why not.</summary>
    public ModelCacheException? CheckWritable() => Layout.CheckWritable();

    /// <summary>Takes the per-model lock that serialises downloads, commits, removals and metadata writes across processes.</summary>
    public Task<FileLock> LockAsync(string family, string member, TimeSpan timeout, Action? onWaiting, CancellationToken cancellationToken)
    {
        var path = Layout.GetLockPath(family, member);
        Layout.EnsureContained(path, Layout.StateRoot);
        return FileLock.AcquireAsync(path, timeout, onWaiting, cancellationToken);
    }

    /// <summary>Throws CacheFolderIsLink when a folder on the way to the model's file is a link.</summary>
    public void EnsureContained(ModelDefinition model) => Layout.EnsureContained(GetModelPath(model));

    /// <summary>The cached entry for <paramref name="model"/>, or null when its file is absent.</summary>
    public Task<ModelCacheEntry?> FindAsync(ModelDefinition model, CancellationToken cancellationToken = default) =>
        File.Exists(GetModelPath(model)) && Layout.IsContained(GetModelPath(model))
            ? ReadEntryAsync(new LayoutSlot(model.Family, model.Member, model.FileName, model), cancellationToken)
            : Task.FromResult<ModelCacheEntry?>(null);

    /// <summary>Every cached model, catalog or not, with metadata rebuilt where it was lost.</summary>
    public Task<IReadOnlyList<ModelCacheEntry>> ListAsync(ModelCatalog catalog, CancellationToken cancellationToken = default) =>
        ListAsync(catalog, null, cancellationToken);

    /// <summary>
    /// Every cached model, catalog or not, with metadata rebuilt where it was lost or could not be trusted. What
    /// was skipped or not trusted (links, tampered metadata) is added to <paramref name="problems"/>, one error each.
    /// </summary>
    public async Task<IReadOnlyList<ModelCacheEntry>> ListAsync(ModelCatalog catalog, ICollection<ModelCacheException>? problems, CancellationToken cancellationToken)
    {
        var entries = new List<ModelCacheEntry>();
        foreach (var slot in Layout.EnumerateSlots(catalog, problems))
        {
            try
            {
                if (await ReadEntryAsync(slot, cancellationToken, problems).ConfigureAwait(false) is { } entry)
                {
                    entries.Add(entry);
                }
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                // Removed by another process while this one walked the cache: it is simply not there.
            }
        }

        return entries;
    }

    /// <summary>Whether Clear-ModelCache -All may remove <paramref name="entry"/> without the user naming it.</summary>
    public bool MayRemoveUnnamed(ModelCacheEntry entry) => Layout.MayRemoveUnnamed(entry.InCatalog);

    /// <summary>
    /// The one check of a cached model's file against the catalog's hash: <see cref="VerifyPolicy.HashAlways"/> for saves,
    /// tests, cache checks and moves (each records the fingerprint it hashed), <see cref="VerifyPolicy.FingerprintMayVouch"/>
    /// for a use, which an earlier full hash of the same file may answer.
    /// </summary>
    public Task<FileCheck> VerifyAsync(ModelDefinition model, VerifyPolicy policy, UserFingerprints? user = null, IProgress<long>? bytesHashed = null,
        CancellationToken cancellationToken = default) =>
        Verifier.VerifyAsync(model.Name, GetModelPath(model), model.Sha256, policy, user, bytesHashed, cancellationToken);

    /// <summary>
    /// Moves a fully written and verified partial file under its final name and records its metadata.
    /// The caller holds the model's lock.
    /// </summary>
    public ModelCacheEntry Commit(ModelDefinition model, string partialPath, string sha256, string? sourceUrl) =>
        Commit(model, sha256, sourceUrl, () => AtomicFile.Promote(partialPath, GetModelPath(model)));

    /// <summary>Promotes a completed, verified <paramref name="staged"/> file of <paramref name="model"/> and records its metadata. The caller holds the model's lock.</summary>
    public ModelCacheEntry Commit(ModelDefinition model, StagedFile staged, string? sourceUrl) =>
        Commit(model, staged.Sha256 ?? throw new InvalidOperationException($"'{staged.Path}' is committed before it was completed."), sourceUrl, staged.Promote);

    private ModelCacheEntry Commit(ModelDefinition model, string sha256, string? sourceUrl, Action promote)
    {
        var finalPath = GetModelPath(model);
        // A re-save (-Force, a repair) keeps the user's pin: it is a choice about the model, not about these bytes.
        var pinned = ReadMetadata(model)?.Pinned ?? false;
        promote();
        var now = DateTimeOffset.UtcNow;
        var metadata = CacheEntryFactory.Describe(model.Family, model.Member, model, new FileInfo(finalPath));
        metadata.Pinned = pinned;
        metadata.SourceUrl = sourceUrl;
        metadata.SavedAt = now;
        metadata.LastUsed = now;
        CacheEntryFactory.RecordHash(metadata, finalPath, sha256, model);
        TryWriteMetadata(metadata);
        // Hashed while it was written: a use of it right after needs no hash.
        Verifier.Record(finalPath, sha256);
        return _entries.Create(finalPath, metadata, model);
    }

    /// <summary>Records a hash check (and optionally a use) of the cached file of <paramref name="model"/>. The caller holds the model's lock.</summary>
    public ModelCacheEntry RecordVerification(ModelDefinition model, ModelHashResult result, bool used)
    {
        var metadata = Checked(model, result, used);
        TryWriteMetadata(metadata);
        return _entries.Create(GetModelPath(model), metadata, model);
    }

    /// <summary>The entry as a hash check just found it, written nowhere (a read-only cache).</summary>
    public ModelCacheEntry DescribeCheck(ModelDefinition model, ModelHashResult result) =>
        _entries.Create(GetModelPath(model), Checked(model, result, used: false), model);

    /// <summary>
    /// The entry of a model just opened for use, with LastUsed updated best-effort (under the model's lock
    /// when it is free at once; never failing a read). <paramref name="freshCheck"/> is the hash check made
    /// to open it, if one was.
    /// </summary>
    public async Task<ModelCacheEntry> RecordUseAsync(ModelDefinition model, ModelHashResult? freshCheck, CancellationToken cancellationToken = default)
    {
        var metadata = freshCheck is not null ? Checked(model, freshCheck, used: true) : ReadMetadata(model) ?? CacheEntryFactory.Describe(model.Family, model.Member, model, new FileInfo(GetModelPath(model)));
        metadata.LastUsed = DateTimeOffset.UtcNow;
        await TryWriteMetadataIfFreeAsync(metadata, cancellationToken).ConfigureAwait(false);
        return _entries.Create(GetModelPath(model), metadata, model);
    }

    /// <summary>
    /// Records a hash check made outside a save (Test-ModelHash): under the model's lock, like every
    /// metadata write, and best-effort: a read-only cache, a lock held for long or a file removed meanwhile
    /// leave the metadata as it was and return null. The check itself stands either way.
    /// </summary>
    public async Task<ModelCacheEntry?> TryRecordCheckAsync(ModelDefinition model, ModelHashResult result, CancellationToken cancellationToken = default)
    {
        try
        {
            using (await LockAsync(model.Family, model.Member, RecordLockTimeout, null, cancellationToken).ConfigureAwait(false))
            {
                return File.Exists(result.Path) && Layout.IsContained(GetModelPath(model)) ? RecordVerification(model, result, used: false) : null;
            }
        }
        catch (ModelCacheException ex) when (ex.ErrorId is "LockTimeout" or "CacheFolderIsLink" or "CacheRootNotWritable")
        {
            return null;
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex))
        {
            return null;
        }
    }

    /// <summary>
    /// Removes an entry: its file, partial download and metadata. Takes the model's lock so a download in
    /// progress elsewhere is not pulled from under it. The entry's names are checked against the layout, so a
    /// crafted entry cannot point the removal anywhere else.
    /// </summary>
    public async Task RemoveAsync(ModelCacheEntry entry, CancellationToken cancellationToken = default)
    {
        EnsureOwnEntry(entry);
        try
        {
            using (await LockAsync(entry.Family, entry.Member, TimeSpan.FromSeconds(10), null, cancellationToken).ConfigureAwait(false))
            {
                RemoveOwnEntry(entry);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw NotRemovable(entry, ex);
        }
    }

    /// <summary>
    /// Removes an entry unless it is pinned, judged under the model's lock from the metadata as it is then, so a pin
    /// set by another process after the entry was listed still holds. Returns false when the entry was kept.
    /// </summary>
    public async Task<bool> RemoveUnlessPinnedAsync(ModelCacheEntry entry, CancellationToken cancellationToken = default)
    {
        EnsureOwnEntry(entry);
        try
        {
            using (await LockAsync(entry.Family, entry.Member, TimeSpan.FromSeconds(10), null, cancellationToken).ConfigureAwait(false))
            {
                if (ReadMetadata(entry.Family, entry.Member, entry.FileName)?.Pinned == true)
                {
                    return false;
                }

                RemoveOwnEntry(entry);
                return true;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw NotRemovable(entry, ex);
        }
    }

    /// <summary>
    /// Pins or unpins an entry: its metadata is read (or rebuilt from the file) and written under the model's lock.
    /// Returns the entry as it is now.
    /// </summary>
    /// <exception cref="ModelCacheException">CacheEntryOutsideRoot, PinNotSupported (no metadata is kept for it), CacheEntryVanished, EntryMetadataNotWritable.</exception>
    public async Task<ModelCacheEntry> SetPinnedAsync(ModelCacheEntry entry, bool pinned, ModelDefinition? model, CancellationToken cancellationToken = default)
    {
        EnsureOwnEntry(entry);
        if (Layout.GetMetadataPath(entry.Family, entry.Member) is not { } path || !Layout.IsContained(path, Layout.StateRoot))
        {
            throw new ModelCacheException("PinNotSupported", ModelCacheErrorKind.InvalidOperation,
                $"{entry.Name} cannot be pinned: the {Layout} keeps no metadata for a file no catalog knows.",
                "Add the model to a catalog (-CatalogPath or catalog.json), or keep the file elsewhere.");
        }

        using (await LockAsync(entry.Family, entry.Member, RecordLockTimeout, null, cancellationToken).ConfigureAwait(false))
        {
            var file = new FileInfo(entry.Path);
            if (!file.Exists)
            {
                throw new ModelCacheException("CacheEntryVanished", ModelCacheErrorKind.NotFound,
                    $"{entry.Name} is no longer in the cache at '{Root}'.", "List the cache again with Get-ModelCache.");
            }

            var metadata = ReadMetadata(entry.Family, entry.Member, entry.FileName);
            if (metadata is null)
            {
                metadata = CacheEntryFactory.Describe(entry.Family, entry.Member, model, file);
                CacheEntryFactory.RecordHash(metadata, file.FullName, await HashAsync(file.FullName, cancellationToken).ConfigureAwait(false), model);
            }

            metadata.Pinned = pinned;
            try
            {
                EntryMetadataFile.Write(path, metadata);
            }
            catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex))
            {
                throw new ModelCacheException("EntryMetadataNotWritable", ModelCacheErrorKind.WriteError,
                    $"Cannot record the pin of {entry.Name} in '{path}': {ex.Message}", "Check that the cache root is writable, or pin the model in a cache you can write.", ex);
            }

            return _entries.Create(file.FullName, metadata, model);
        }
    }

    /// <summary>Like <see cref="RemoveAsync"/>, for a caller that already holds the entry's model lock (a move, which also holds the destination's).</summary>
    public void Remove(ModelCacheEntry entry)
    {
        EnsureOwnEntry(entry);
        try
        {
            RemoveOwnEntry(entry);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw NotRemovable(entry, ex);
        }
    }

    /// <summary>
    /// What is left of a root whose models all went elsewhere: lock files no process holds, then every folder left
    /// empty, the root itself included. Anything else (a stranger's file, a held lock) stays, with its folders.
    /// </summary>
    public Task RemoveLeftoversAsync(CancellationToken cancellationToken = default) => _sweeper.RemoveLeftoversAsync(cancellationToken);

    private void EnsureOwnEntry(ModelCacheEntry entry)
    {
        var expectedPath = Path.Combine(Layout.GetSlotDirectory(entry.Family, entry.Member), entry.FileName);
        if (entry.Layout != Layout.Kind || (entry.Family.Length > 0 && !CacheFiles.IsPlainFileName(entry.Family)) || !CacheFiles.IsPlainFileName(entry.Member)
            || !CacheFiles.IsPlainFileName(entry.FileName) || CacheFiles.IsStoreFileName(entry.FileName)
            || !string.Equals(Path.GetFullPath(entry.Path), expectedPath, StringComparison.Ordinal) || !Layout.IsContained(expectedPath))
        {
            throw new ModelCacheException("CacheEntryOutsideRoot", ModelCacheErrorKind.SecurityError,
                $"Refusing to remove '{entry.Path}': it is not the file of {entry.Name} in the {Layout}, or a folder on the way there is a link.",
                "Remove it by hand after checking what it is; the cache only removes files of its own layout.");
        }
    }

    private void RemoveOwnEntry(ModelCacheEntry entry)
    {
        var directory = Layout.GetSlotDirectory(entry.Family, entry.Member);
        DeleteIfPresent(Path.Combine(directory, entry.FileName));
        if (Layout.GetMetadataPath(entry.Family, entry.Member) is { } metadata && Layout.IsContained(metadata, Layout.StateRoot))
        {
            DeleteIfPresent(metadata);
        }

        _sweeper.DeleteWorkFiles(entry.Family, entry.Member, entry.FileName);
        _sweeper.DeleteDerivedFiles(entry.Family, entry.Member, entry.FileName);
        _sweeper.DeleteEmptyFolders(entry.Family, entry.Member);
    }

    private static ModelCacheException NotRemovable(ModelCacheEntry entry, Exception ex) => new("CacheEntryNotRemovable", ModelCacheErrorKind.WriteError,
        $"Cannot remove '{entry.Path}': {ex.Message}",
        "Close programs using the model file and check permissions on the cache directory.", ex);

    /// <summary>
    /// Deletes partial downloads that no process is working on (their lock is free) for models whose file is
    /// not there. Returns the bytes freed.
    /// </summary>
    public Task<long> RemoveAbandonedDownloadsAsync(ModelCatalog catalog, CancellationToken cancellationToken = default) =>
        _sweeper.RemoveAbandonedDownloadsAsync(catalog, cancellationToken);

    /// <summary>Every partial download in the root, with the model it belongs to; nothing is locked or written.</summary>
    public IReadOnlyList<PartialFile> ListPartials(ModelCatalog catalog) => _sweeper.ListPartials(catalog);

    /// <summary>Deletes a partial download no process is writing (its model's lock is free); null when one is.</summary>
    public Task<long?> RemovePartialAsync(PartialFile partial, CancellationToken cancellationToken = default) => _sweeper.RemovePartialAsync(partial, cancellationToken);

    /// <summary>
    /// Deletes what a killed process may have left beside a finished model (a partial, its resume state, a
    /// half-written metadata temp file). The caller holds the model's lock.
    /// </summary>
    public void RemoveWorkFiles(ModelDefinition model) => _sweeper.DeleteWorkFiles(model.Family, model.Member, model.FileName);

    private async Task<ModelCacheEntry?> ReadEntryAsync(LayoutSlot slot, CancellationToken cancellationToken, ICollection<ModelCacheException>? problems = null)
    {
        var reading = ReadSlot(slot, problems);
        if (reading.File is not { } file)
        {
            return null;
        }

        var metadata = reading.Metadata;
        if (metadata is null)
        {
            metadata = CacheEntryFactory.Describe(slot.Family, slot.Member, slot.Model, file);
            if (reading.MetadataPath is not null)
            {
                // Metadata was lost (or another tool wrote the file): rebuild it from the file itself, hashing it so the check it records is real.
                CacheEntryFactory.RecordHash(metadata, file.FullName, await HashAsync(file.FullName, cancellationToken).ConfigureAwait(false), slot.Model);
                await TryWriteMetadataIfFreeAsync(metadata, cancellationToken).ConfigureAwait(false);
            }
        }

        return _entries.Create(file.FullName, metadata, slot.Model);
    }

    /// <summary>
    /// What a slot holds, read without hashing or writing anything: its model file (null when absent or reached
    /// through a link), its metadata when present and trusted, and whether metadata was there but refused.
    /// </summary>
    internal SlotReading ReadSlot(LayoutSlot slot, ICollection<ModelCacheException>? problems)
    {
        var directory = Layout.GetSlotDirectory(slot.Family, slot.Member);
        var metadataPath = Layout.GetMetadataPath(slot.Family, slot.Member);
        var name = slot.Name;
        string? rejection = null;
        EntryMetadata? metadata = null;
        if (metadataPath is not null && Layout.IsContained(metadataPath, Layout.StateRoot))
        {
            try
            {
                RegularFile.Check(metadataPath);
                metadata = EntryMetadataFile.TryRead(metadataPath, slot.Family, slot.Member, slot.FileName, out rejection);
            }
            catch (NotARegularFileException ex)
            {
                // Not read; the entry is described from its model file, and a rebuilt metadata file replaces it by rename.
                problems?.Add(Skipped(CacheIOFailure.NotARegularFile(ex, name), name));
                return ReadModelFile(slot, directory, null, refused: true, metadataPath, problems);
            }
        }

        if (rejection is not null)
        {
            problems?.Add(new ModelCacheException("CacheMetadataInvalid", ModelCacheErrorKind.InvalidData,
                $"The metadata of {name} at '{metadataPath}' is not trusted: {rejection}. It was rebuilt from the model file itself; nothing it names was used.",
                "None needed if the cache was copied from elsewhere; otherwise find out who changed the file. Run Test-ModelHash to check the model."));
        }

        return ReadModelFile(slot, directory, metadata, rejection is not null, metadataPath, problems);
    }

    private SlotReading ReadModelFile(LayoutSlot slot, string directory, EntryMetadata? metadata, bool refused, string? metadataPath, ICollection<ModelCacheException>? problems)
    {
        var fileName = slot.FileName ?? metadata?.FileName ?? GuessModelFile(directory);
        var file = fileName is null ? null : new FileInfo(Path.Combine(directory, fileName));
        if (file is null)
        {
            return new SlotReading(null, metadata, refused, metadataPath);
        }

        if (!file.Exists && !Directory.Exists(file.FullName))
        {
            return new SlotReading(null, metadata, refused, metadataPath);
        }

        if (!Layout.IsContained(file.FullName))
        {
            problems?.Add(CacheLayout.LinkRefused(file.FullName));
            return new SlotReading(null, metadata, refused, metadataPath);
        }

        if (RegularFile.KindOf(file.FullName) is not (FileKind.Regular or FileKind.Unknown or FileKind.Missing) and var kind)
        {
            // A directory, FIFO, socket or device where the model file belongs: reported, skipped, never opened.
            problems?.Add(Skipped(CacheIOFailure.NotARegularFile(new NotARegularFileException(file.FullName, kind), slot.Name), slot.Name));
            return new SlotReading(null, metadata, refused, metadataPath);
        }

        return new SlotReading(file, metadata, refused, metadataPath);
    }

    /// <summary>Key in a listing problem's <see cref="Exception.Data"/>: the model whose slot it concerns, so a caller does not also call it "not cached".</summary>
    public const string ProblemModelKey = "ModelCache.ModelName";

    private static ModelCacheException Skipped(ModelCacheException problem, string name)
    {
        problem.Data[ProblemModelKey] = name;
        return problem;
    }

    /// <summary>A listed entry from a slot reading, without rebuilding lost metadata (that needs a hash).</summary>
    internal ModelCacheEntry Describe(LayoutSlot slot, SlotReading reading) =>
        _entries.Create(reading.File!.FullName, reading.Metadata ?? CacheEntryFactory.Describe(slot.Family, slot.Member, slot.Model, reading.File), slot.Model);

    private EntryMetadata? ReadMetadata(ModelDefinition model) => ReadMetadata(model.Family, model.Member, model.FileName);

    private EntryMetadata? ReadMetadata(string family, string member, string fileName) =>
        Layout.GetMetadataPath(family, member) is { } path && Layout.IsContained(path, Layout.StateRoot)
            ? EntryMetadataFile.TryRead(path, family, member, fileName)
            : null;

    private EntryMetadata Checked(ModelDefinition model, ModelHashResult result, bool used)
    {
        var metadata = ReadMetadata(model) ?? CacheEntryFactory.Describe(model.Family, model.Member, model, new FileInfo(result.Path));
        CacheEntryFactory.RecordHash(metadata, result.Path, result.Actual, model);
        if (used)
        {
            metadata.LastUsed = DateTimeOffset.UtcNow;
        }

        return metadata;
    }

    /// <summary>The model file of a folder no catalog names: the first file that is neither the store's own nor a link.</summary>
    internal static string? GuessModelFile(string directory)
    {
        try
        {
            return Directory.GetFiles(directory)
                .Where(path => !CacheFiles.IsLink(path))
                .Select(Path.GetFileName)
                .Where(name => !CacheFiles.IsStoreFileName(name!))
                .OrderBy(name => name, StringComparer.Ordinal)
                .FirstOrDefault();
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Writes metadata under a lock the caller holds. Metadata is a record of facts that listing rebuilds when
    /// lost, so a failure to write it never fails the save or check that produced it.
    /// </summary>
    /// <returns>False when the layout keeps no metadata for the entry, or it could not be written.</returns>
    internal bool TryWriteMetadata(EntryMetadata metadata)
    {
        if (Layout.GetMetadataPath(metadata.Family, metadata.Member) is not { } path || !Layout.IsContained(path, Layout.StateRoot))
        {
            return false;
        }

        try
        {
            EntryMetadataFile.Write(path, metadata);
            return true;
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex))
        {
            return false;
        }
    }

    /// <summary>
    /// Best-effort metadata writes that must never fail a read (rebuilt while listing, LastUsed): under the
    /// model's lock like every metadata write, but only when the lock is free at once; a busy model or a
    /// read-only cache stays as it is.
    /// </summary>
    private async Task TryWriteMetadataIfFreeAsync(EntryMetadata metadata, CancellationToken cancellationToken)
    {
        try
        {
            using (await LockAsync(metadata.Family, metadata.Member, TimeSpan.Zero, null, cancellationToken).ConfigureAwait(false))
            {
                TryWriteMetadata(metadata);
            }
        }
        catch (ModelCacheException ex) when (ex.ErrorId is "LockTimeout" or "CacheFolderIsLink" or "CacheRootNotWritable")
        {
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex))
        {
        }
    }

    /// <summary>A full hash of a file of this store, recorded like every other (a use right after needs none).</summary>
    private async Task<string> HashAsync(string path, CancellationToken cancellationToken) =>
        (await Verifier.VerifyAsync(null, path, null, VerifyPolicy.HashAlways, null, null, cancellationToken).ConfigureAwait(false)).Result.Actual
        ?? throw new FileNotFoundException($"'{path}' was removed while it was hashed.", path);

    private static void DeleteIfPresent(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }
}
