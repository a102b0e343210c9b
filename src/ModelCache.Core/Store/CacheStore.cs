using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using Newtonsoft.Json;

namespace ModelCache.Store;

/// <summary>
/// One cache root on disk. Layout: <c>models/&lt;Family&gt;/&lt;Member&gt;/&lt;FileName&gt;</c> with
/// <c>entry.json</c> beside it, partial downloads as <c>&lt;FileName&gt;.partial</c> in the same folder
/// (so promotion is a same-directory rename), and lock files under <c>locks/</c>, which are never deleted.
/// A file under its final name is always complete and verified.
/// </summary>
/// <remarks>
/// The root may be a copy from a stranger: every path comes from the catalog and this layout, never
/// from <c>entry.json</c> (bounded, validated, and rebuilt when it lies), and no link under the root
/// is followed when listing, reading, writing or removing.
/// </remarks>
public sealed class CacheStore
{
    public const string MetadataFileName = CacheFiles.MetadataFileName;
    public const string PartialSuffix = CacheFiles.PartialSuffix;

    /// <summary>Beside a partial download: where it came from and its validator, for resuming.</summary>
    public const string PartialStateSuffix = CacheFiles.PartialStateSuffix;
    private static readonly JsonSerializerSettings JsonSettings = new() { Formatting = Formatting.Indented, DateParseHandling = DateParseHandling.DateTimeOffset };

    private static readonly TimeSpan RecordLockTimeout = TimeSpan.FromSeconds(5);

    public CacheStore(string root)
    {
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    public string ModelsDirectory => Path.Combine(Root, "models");

    public string LocksDirectory => Path.Combine(Root, "locks");

    public string GetModelDirectory(ModelDefinition model) => Path.Combine(ModelsDirectory, model.Family, model.Member);

    public string GetModelPath(ModelDefinition model) => Path.Combine(GetModelDirectory(model), model.FileName);

    public string GetPartialPath(ModelDefinition model) => GetModelPath(model) + PartialSuffix;

    /// <summary>
    /// Creates the model's directory and returns where its partial download goes. A link planted where a
    /// work file goes is removed (the store never writes one), so a download cannot write through it.
    /// </summary>
    public string PreparePartial(ModelDefinition model)
    {
        var directory = GetModelDirectory(model);
        EnsureNoLinkOnTheWay(directory);
        Directory.CreateDirectory(directory);
        var partial = GetPartialPath(model);
        foreach (var workFile in new[] { partial, GetModelPath(model) + PartialStateSuffix })
        {
            if (CacheFiles.IsLink(workFile))
            {
                File.Delete(workFile);
            }
        }

        return partial;
    }

    public string GetLockPath(string family, string member) => Path.Combine(LocksDirectory, family, member + ".lock");

    /// <summary>Creates the root if needed and proves it is writable, or says clearly why not.</summary>
    public void EnsureWritable()
    {
        if (CheckWritable() is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>Null when the root is (made) writable; otherwise the CacheRootNotWritable error saying why.</summary>
    public ModelCacheException? CheckWritable()
    {
        try
        {
            Directory.CreateDirectory(ModelsDirectory);
            Directory.CreateDirectory(LocksDirectory);
            var probe = Path.Combine(Root, ".write-test-" + Guid.NewGuid().ToString("N"));
            File.WriteAllText(probe, string.Empty);
            File.Delete(probe);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new ModelCacheException("CacheRootNotWritable", ModelCacheErrorKind.PermissionDenied,
                $"The model cache root '{Root}' is not writable: {ex.Message}",
                "Choose another root with -Path, Set-ModelCacheLocation or $env:MODELCACHE_HOME, or fix the directory's permissions.", ex);
        }
    }

    /// <summary>Takes the per-model lock that serialises downloads, commits and removals across processes.</summary>
    public Task<FileLock> LockAsync(string family, string member, TimeSpan timeout, Action? onWaiting, CancellationToken cancellationToken)
    {
        var familyLocks = Path.Combine(LocksDirectory, family);
        if (CacheFiles.IsLink(LocksDirectory) || CacheFiles.IsLink(familyLocks) || CacheFiles.IsLink(GetLockPath(family, member)))
        {
            throw LinkRefused(familyLocks);
        }

        return FileLock.AcquireAsync(GetLockPath(family, member), timeout, onWaiting, cancellationToken);
    }

    /// <summary>Throws CacheFolderIsLink when a folder on the way to the model's files is a link.</summary>
    public void EnsureContained(ModelDefinition model) => EnsureNoLinkOnTheWay(GetModelDirectory(model));

    /// <summary>The cached entry for <paramref name="model"/>, or null when its file is absent.</summary>
    public async Task<ModelCacheEntry?> FindAsync(ModelDefinition model, CancellationToken cancellationToken = default)
    {
        var path = GetModelPath(model);
        return File.Exists(path) && !IsLinkedAnywhere(GetModelDirectory(model)) ? await ReadEntryAsync(GetModelDirectory(model), model, cancellationToken).ConfigureAwait(false) : null;
    }

    /// <summary>Every cached model, catalog or not, with metadata rebuilt where it was lost.</summary>
    public async Task<IReadOnlyList<ModelCacheEntry>> ListAsync(ModelCatalog catalog, CancellationToken cancellationToken = default)
    {
        var entries = new List<ModelCacheEntry>();
        if (!Directory.Exists(ModelsDirectory))
        {
            return entries;
        }

        foreach (var familyDirectory in RealDirectories(ModelsDirectory))
        {
            foreach (var memberDirectory in RealDirectories(familyDirectory))
            {
                var name = Path.GetFileName(familyDirectory) + "/" + Path.GetFileName(memberDirectory);
                catalog.TryGet(name, out var model);
                try
                {
                    if (await ReadEntryAsync(memberDirectory, model, cancellationToken).ConfigureAwait(false) is { } entry)
                    {
                        entries.Add(entry);
                    }
                }
                catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
                {
                    // Removed by another process while this one walked the cache: it is simply not there.
                }
            }
        }

        return entries;
    }

    /// <summary>
    /// Moves a fully written and verified partial file under its final name and records its metadata.
    /// The caller holds the model's lock.
    /// </summary>
    public ModelCacheEntry Commit(ModelDefinition model, string partialPath, string sha256, string? sourceUrl)
    {
        var finalPath = GetModelPath(model);
        AtomicFile.Promote(partialPath, finalPath);
        var now = DateTimeOffset.UtcNow;
        var metadata = new EntryMetadata
        {
            Family = model.Family,
            Member = model.Member,
            Task = model.Task,
            FileName = model.FileName,
            Sha256 = sha256,
            Size = new FileInfo(finalPath).Length,
            SourceUrl = sourceUrl,
            SavedAt = now,
            LastUsed = now,
            VerifiedAt = now,
            Verified = true,
        };
        WriteMetadata(GetModelDirectory(model), metadata);
        return ToEntry(GetModelDirectory(model), metadata, model);
    }

    /// <summary>Records a hash check (and optionally a use) of the cached file of <paramref name="model"/>.</summary>
    public ModelCacheEntry RecordVerification(ModelDefinition model, ModelHashResult result, bool used)
    {
        var directory = GetModelDirectory(model);
        var metadata = Checked(model, result, used);
        WriteMetadata(directory, metadata);
        return ToEntry(directory, metadata, model);
    }

    /// <summary>The entry as a hash check just found it, written nowhere (a read-only cache).</summary>
    public ModelCacheEntry DescribeCheck(ModelDefinition model, ModelHashResult result) =>
        ToEntry(GetModelDirectory(model), Checked(model, result, used: false), model);

    private EntryMetadata Checked(ModelDefinition model, ModelHashResult result, bool used)
    {
        var metadata = TryReadMetadata(GetModelDirectory(model), model) ?? NewMetadata(model, new FileInfo(result.Path));
        var now = DateTimeOffset.UtcNow;
        metadata.Sha256 = result.Actual;
        metadata.Size = new FileInfo(result.Path).Length;
        metadata.Verified = result.Status == HashStatus.Valid;
        metadata.VerifiedAt = now;
        if (used)
        {
            metadata.LastUsed = now;
        }

        return metadata;
    }

    /// <summary>
    /// The entry of a model just opened for use, with LastUsed updated best-effort (under the model's lock
    /// when it is free at once; never failing a read). <paramref name="freshCheck"/> is the hash check made
    /// to open it, if one was.
    /// </summary>
    public async Task<ModelCacheEntry> RecordUseAsync(ModelDefinition model, ModelHashResult? freshCheck, CancellationToken cancellationToken = default)
    {
        var directory = GetModelDirectory(model);
        var metadata = freshCheck is not null ? Checked(model, freshCheck, used: true) : TryReadMetadata(directory, model) ?? NewMetadata(model, new FileInfo(GetModelPath(model)));
        metadata.LastUsed = DateTimeOffset.UtcNow;
        await TryWriteMetadataIfFreeAsync(directory, metadata, cancellationToken).ConfigureAwait(false);
        return ToEntry(directory, metadata, model);
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
                return File.Exists(result.Path) && !IsLinkedAnywhere(GetModelDirectory(model)) ? RecordVerification(model, result, used: false) : null;
            }
        }
        catch (ModelCacheException ex) when (ex.ErrorId == "LockTimeout")
        {
            return null;
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex))
        {
            return null;
        }
    }

    /// <summary>
    /// Removes an entry: its file, partial download and metadata. Takes the model's lock so a
    /// download in progress elsewhere is not pulled from under it.
    /// </summary>
    public async Task RemoveAsync(ModelCacheEntry entry, CancellationToken cancellationToken = default)
    {
        var directory = Path.Combine(ModelsDirectory, entry.Family, entry.Member);
        if (!CacheFiles.IsPlainFileName(entry.Family) || !CacheFiles.IsPlainFileName(entry.Member) || !CacheFiles.IsPlainFileName(entry.FileName)
            || !string.Equals(Path.GetFullPath(entry.Path), Path.Combine(directory, entry.FileName), StringComparison.Ordinal)
            || IsLinkedAnywhere(directory))
        {
            throw new ModelCacheException("CacheEntryOutsideRoot", ModelCacheErrorKind.SecurityError,
                $"Refusing to remove '{entry.Path}': it is not the file of {entry.Family}/{entry.Member} under '{ModelsDirectory}', or a folder on the way there is a link.",
                "Remove it by hand after checking what it is; the cache only removes files of its own layout.");
        }

        try
        {
            using (await LockAsync(entry.Family, entry.Member, TimeSpan.FromSeconds(10), null, cancellationToken).ConfigureAwait(false))
            {
                foreach (var file in new[] { entry.Path, Path.Combine(directory, MetadataFileName) })
                {
                    if (File.Exists(file))
                    {
                        File.Delete(file);
                    }
                }

                DeleteWorkFiles(directory);
                DeleteMemberDirectoryIfEmpty(directory);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("CacheEntryNotRemovable", ModelCacheErrorKind.WriteError,
                $"Cannot remove '{entry.Path}': {ex.Message}",
                "Close programs using the model file and check permissions on the cache directory.", ex);
        }
    }

    private async Task<ModelCacheEntry?> ReadEntryAsync(string directory, ModelDefinition? model, CancellationToken cancellationToken)
    {
        var metadata = TryReadMetadata(directory, model);
        var fileName = metadata?.FileName ?? model?.FileName ?? GuessModelFile(directory);
        if (fileName is null)
        {
            return null;
        }

        var file = new FileInfo(Path.Combine(directory, fileName));
        if (!file.Exists || CacheFiles.IsLink(file.FullName))
        {
            return null;
        }

        if (metadata is null)
        {
            // Metadata was lost: rebuild it from the file itself, hashing it so "Verified" stays truthful.
            metadata = NewMetadata(model, file, directory);
            metadata.Sha256 = await Sha256Hasher.HashFileAsync(file.FullName, null, cancellationToken).ConfigureAwait(false);
            metadata.Verified = model is not null && metadata.Sha256 == model.Sha256;
            metadata.VerifiedAt = DateTimeOffset.UtcNow;
            await TryWriteMetadataIfFreeAsync(directory, metadata, cancellationToken).ConfigureAwait(false);
        }

        return ToEntry(directory, metadata, model);
    }

    private ModelCacheEntry ToEntry(string directory, EntryMetadata metadata, ModelDefinition? model)
    {
        var file = new FileInfo(Path.Combine(directory, metadata.FileName));
        var unchangedSinceCheck = file.Exists && file.Length == metadata.Size && metadata.VerifiedAt is { } at && file.LastWriteTimeUtc <= at.UtcDateTime.AddSeconds(2);
        var matchesCatalog = model is null || string.Equals(model.Sha256, metadata.Sha256, StringComparison.OrdinalIgnoreCase);
        return new ModelCacheEntry(metadata.Family, metadata.Member, model?.Task ?? metadata.Task, metadata.FileName, file.FullName, Root,
            file.Exists ? file.Length : 0, metadata.Sha256, model?.Sha256, metadata.SourceUrl, metadata.SavedAt, metadata.LastUsed,
            metadata.Verified && unchangedSinceCheck && matchesCatalog, metadata.VerifiedAt, model is not null);
    }

    private static EntryMetadata NewMetadata(ModelDefinition? model, FileInfo file, string? directory = null)
    {
        var memberDirectory = directory ?? file.DirectoryName!;
        return new EntryMetadata
        {
            Family = model?.Family ?? Path.GetFileName(Path.GetDirectoryName(memberDirectory))!,
            Member = model?.Member ?? Path.GetFileName(memberDirectory)!,
            Task = model?.Task ?? "unknown",
            FileName = file.Name,
            Size = file.Length,
            SourceUrl = model?.Url.ToString(),
            SavedAt = new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero),
        };
    }

    private static string? GuessModelFile(string directory) =>
        Directory.GetFiles(directory)
            .Where(path => !CacheFiles.IsLink(path))
            .Select(Path.GetFileName)
            .Where(name => !CacheFiles.IsStoreFileName(name!))
            .OrderBy(name => name, StringComparer.Ordinal)
            .FirstOrDefault();

    /// <summary>
    /// Deletes partial downloads that no process is working on (their lock is free) in folders
    /// that hold no finished model. Returns the bytes freed.
    /// </summary>
    public async Task<long> RemoveAbandonedDownloadsAsync(CancellationToken cancellationToken = default)
    {
        long freed = 0;
        if (!Directory.Exists(ModelsDirectory))
        {
            return freed;
        }

        foreach (var memberDirectory in RealDirectories(ModelsDirectory).SelectMany(RealDirectories))
        {
            var files = Directory.GetFiles(memberDirectory);
            if (files.Length == 0 || !files.All(f => CacheFiles.IsWorkFile(Path.GetFileName(f))))
            {
                continue;
            }

            var family = Path.GetFileName(Path.GetDirectoryName(memberDirectory))!;
            try
            {
                using (await LockAsync(family, Path.GetFileName(memberDirectory), TimeSpan.Zero, null, cancellationToken).ConfigureAwait(false))
                {
                    freed += DeleteWorkFiles(memberDirectory);
                    DeleteMemberDirectoryIfEmpty(memberDirectory);
                }
            }
            catch (ModelCacheException ex) when (ex.ErrorId == "LockTimeout")
            {
                // A download is in progress there; its partial is not abandoned.
            }
        }

        return freed;
    }

    /// <summary>
    /// Deletes what a killed process may have left beside a finished model (a partial, its resume
    /// state, a half-written metadata temp file). The caller holds the model's lock.
    /// </summary>
    public void RemoveWorkFiles(string family, string member)
    {
        var directory = Path.Combine(ModelsDirectory, family, member);
        if (!IsLinkedAnywhere(directory))
        {
            DeleteWorkFiles(directory);
        }
    }

    /// <summary>Removes a member folder, then its family folder, where they hold nothing any more.</summary>
    private static void DeleteMemberDirectoryIfEmpty(string memberDirectory)
    {
        DeleteIfEmpty(memberDirectory);
        DeleteIfEmpty(Path.GetDirectoryName(memberDirectory)!);
    }

    /// <returns>The bytes freed.</returns>
    private static long DeleteWorkFiles(string directory) =>
        Directory.Exists(directory)
            ? Directory.GetFiles(directory).Where(f => CacheFiles.IsWorkFile(Path.GetFileName(f))).Sum(FileCleanup.TryDelete)
            : 0;

    /// <summary>
    /// The entry's metadata, or null when it is absent or cannot be trusted: a link, over
    /// <see cref="CacheFiles.MaxMetadataBytes"/>, not JSON, or naming a file that is not a plain name
    /// (or, for a catalog model, not the catalog's file name). Family and member always come from the
    /// folder, never from the file.
    /// </summary>
    private static EntryMetadata? TryReadMetadata(string directory, ModelDefinition? model)
    {
        var path = Path.Combine(directory, MetadataFileName);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || CacheFiles.IsLink(path) || info.Length > CacheFiles.MaxMetadataBytes)
            {
                return null;
            }

            var metadata = JsonConvert.DeserializeObject<EntryMetadata>(File.ReadAllText(path), JsonSettings);
            if (metadata is null || !CacheFiles.IsPlainFileName(metadata.FileName) || CacheFiles.IsStoreFileName(metadata.FileName)
                || (model is not null && !string.Equals(metadata.FileName, model.FileName, StringComparison.Ordinal)))
            {
                return null;
            }

            metadata.Family = model?.Family ?? Path.GetFileName(Path.GetDirectoryName(directory))!;
            metadata.Member = model?.Member ?? Path.GetFileName(directory);
            return metadata;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Sub-folders that are real folders, not links (which would lead out of the root).</summary>
    private static IEnumerable<string> RealDirectories(string directory)
    {
        try
        {
            return Directory.GetDirectories(directory).Where(d => !CacheFiles.IsLink(d)).OrderBy(d => d, StringComparer.OrdinalIgnoreCase).ToList();
        }
        catch (DirectoryNotFoundException)
        {
            return Array.Empty<string>(); // Vanished mid-walk (another process cleared it).
        }
    }

    /// <summary>True when the member folder, its family folder or the models folder is a link.</summary>
    private bool IsLinkedAnywhere(string memberDirectory) =>
        CacheFiles.IsLink(memberDirectory) || CacheFiles.IsLink(Path.GetDirectoryName(memberDirectory)!) || CacheFiles.IsLink(ModelsDirectory);

    private void EnsureNoLinkOnTheWay(string memberDirectory)
    {
        if (IsLinkedAnywhere(memberDirectory))
        {
            throw LinkRefused(memberDirectory);
        }
    }

    private static ModelCacheException LinkRefused(string path) => new("CacheFolderIsLink", ModelCacheErrorKind.SecurityError,
        $"'{path}' or a folder above it in the cache is a link; the cache reads and writes nothing through links.",
        "Replace the link with a real folder, or choose another cache root.");

    private static void WriteMetadata(string directory, EntryMetadata metadata) =>
        AtomicFile.WriteAllText(Path.Combine(directory, MetadataFileName), JsonConvert.SerializeObject(metadata, JsonSettings));

    /// <summary>
    /// Best-effort metadata writes that must never fail a read (rebuilt while listing, LastUsed): under the
    /// model's lock like every metadata write, but only when the lock is free at once; a busy model or a
    /// read-only cache stays as it is.
    /// </summary>
    private async Task TryWriteMetadataIfFreeAsync(string directory, EntryMetadata metadata, CancellationToken cancellationToken)
    {
        try
        {
            using (await LockAsync(metadata.Family, metadata.Member, TimeSpan.Zero, null, cancellationToken).ConfigureAwait(false))
            {
                WriteMetadata(directory, metadata);
            }
        }
        catch (ModelCacheException ex) when (ex.ErrorId is "LockTimeout" or "CacheFolderIsLink")
        {
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex))
        {
        }
    }

    private static void DeleteIfEmpty(string directory)
    {
        if (Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any())
        {
            Directory.Delete(directory);
        }
    }
}
