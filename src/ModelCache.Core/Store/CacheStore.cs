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
public sealed class CacheStore
{
    public const string MetadataFileName = "entry.json";
    public const string PartialSuffix = ".partial";

    /// <summary>Beside a partial download: where it came from and its validator, for resuming.</summary>
    public const string PartialStateSuffix = ".partial.json";
    private static readonly JsonSerializerSettings JsonSettings = new() { Formatting = Formatting.Indented, DateParseHandling = DateParseHandling.DateTimeOffset };

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

    /// <summary>Creates the model's directory and returns where its partial download goes.</summary>
    public string PreparePartial(ModelDefinition model)
    {
        Directory.CreateDirectory(GetModelDirectory(model));
        return GetPartialPath(model);
    }

    public string GetLockPath(string family, string member) => Path.Combine(LocksDirectory, family, member + ".lock");

    /// <summary>Creates the root if needed and proves it is writable, or says clearly why not.</summary>
    public void EnsureWritable()
    {
        try
        {
            Directory.CreateDirectory(ModelsDirectory);
            Directory.CreateDirectory(LocksDirectory);
            var probe = Path.Combine(Root, ".write-test-" + Guid.NewGuid().ToString("N"));
            File.WriteAllText(probe, string.Empty);
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("CacheRootNotWritable", ModelCacheErrorKind.PermissionDenied,
                $"The model cache root '{Root}' is not writable: {ex.Message}",
                "Choose another root with -Path, Set-ModelCacheLocation or $env:MODELCACHE_HOME, or fix the directory's permissions.", ex);
        }
    }

    /// <summary>Takes the per-model lock that serialises downloads, commits and removals across processes.</summary>
    public Task<FileLock> LockAsync(string family, string member, TimeSpan timeout, Action? onWaiting, CancellationToken cancellationToken) =>
        FileLock.AcquireAsync(GetLockPath(family, member), timeout, onWaiting, cancellationToken);

    /// <summary>The cached entry for <paramref name="model"/>, or null when its file is absent.</summary>
    public async Task<ModelCacheEntry?> FindAsync(ModelDefinition model, CancellationToken cancellationToken = default)
    {
        var path = GetModelPath(model);
        return File.Exists(path) ? await ReadEntryAsync(GetModelDirectory(model), model, cancellationToken).ConfigureAwait(false) : null;
    }

    /// <summary>Every cached model, catalog or not, with metadata rebuilt where it was lost.</summary>
    public async Task<IReadOnlyList<ModelCacheEntry>> ListAsync(ModelCatalog catalog, CancellationToken cancellationToken = default)
    {
        var entries = new List<ModelCacheEntry>();
        if (!Directory.Exists(ModelsDirectory))
        {
            return entries;
        }

        foreach (var familyDirectory in Directory.GetDirectories(ModelsDirectory).OrderBy(d => d, StringComparer.OrdinalIgnoreCase))
        {
            foreach (var memberDirectory in Directory.GetDirectories(familyDirectory).OrderBy(d => d, StringComparer.OrdinalIgnoreCase))
            {
                var name = Path.GetFileName(familyDirectory) + "/" + Path.GetFileName(memberDirectory);
                catalog.TryGet(name, out var model);
                var entry = await ReadEntryAsync(memberDirectory, model, cancellationToken).ConfigureAwait(false);
                if (entry is not null)
                {
                    entries.Add(entry);
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
        var metadata = TryReadMetadata(directory) ?? NewMetadata(model, new FileInfo(result.Path));
        var now = DateTimeOffset.UtcNow;
        metadata.Sha256 = result.Actual;
        metadata.Size = new FileInfo(result.Path).Length;
        metadata.Verified = result.Status == HashStatus.Valid;
        metadata.VerifiedAt = now;
        if (used)
        {
            metadata.LastUsed = now;
        }

        WriteMetadata(directory, metadata);
        return ToEntry(directory, metadata, model);
    }

    /// <summary>
    /// Removes an entry: its file, partial download and metadata. Takes the model's lock so a
    /// download in progress elsewhere is not pulled from under it.
    /// </summary>
    public async Task RemoveAsync(ModelCacheEntry entry, CancellationToken cancellationToken = default)
    {
        var directory = Path.GetDirectoryName(entry.Path)!;
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
        var metadata = TryReadMetadata(directory);
        var fileName = metadata?.FileName ?? model?.FileName ?? GuessModelFile(directory);
        if (fileName is null)
        {
            return null;
        }

        var file = new FileInfo(Path.Combine(directory, fileName));
        if (!file.Exists)
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
            TryWriteMetadata(directory, metadata);
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
            .Select(Path.GetFileName)
            .Where(name => name != MetadataFileName && !IsWorkFile(name!))
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

        foreach (var memberDirectory in Directory.GetDirectories(ModelsDirectory).SelectMany(Directory.GetDirectories))
        {
            var files = Directory.GetFiles(memberDirectory);
            if (files.Length == 0 || !files.All(f => IsWorkFile(Path.GetFileName(f))))
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
    public void RemoveWorkFiles(string family, string member) => DeleteWorkFiles(Path.Combine(ModelsDirectory, family, member));

    /// <summary>Removes a member folder, then its family folder, where they hold nothing any more.</summary>
    private static void DeleteMemberDirectoryIfEmpty(string memberDirectory)
    {
        DeleteIfEmpty(memberDirectory);
        DeleteIfEmpty(Path.GetDirectoryName(memberDirectory)!);
    }

    /// <returns>The bytes freed.</returns>
    private static long DeleteWorkFiles(string directory) =>
        Directory.Exists(directory)
            ? Directory.GetFiles(directory).Where(f => IsWorkFile(Path.GetFileName(f))).Sum(FileCleanup.TryDelete)
            : 0;

    private static bool IsWorkFile(string name) =>
        name.EndsWith(PartialSuffix, StringComparison.Ordinal) || name.EndsWith(PartialStateSuffix, StringComparison.Ordinal) || name.EndsWith(".tmp", StringComparison.Ordinal);

    private static EntryMetadata? TryReadMetadata(string directory)
    {
        var path = Path.Combine(directory, MetadataFileName);
        try
        {
            return File.Exists(path) ? JsonConvert.DeserializeObject<EntryMetadata>(File.ReadAllText(path), JsonSettings) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    private static void WriteMetadata(string directory, EntryMetadata metadata) =>
        AtomicFile.WriteAllText(Path.Combine(directory, MetadataFileName), JsonConvert.SerializeObject(metadata, JsonSettings));

    private static void TryWriteMetadata(string directory, EntryMetadata metadata)
    {
        try
        {
            WriteMetadata(directory, metadata);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A read-only cache (e.g. a shared offline copy) is still listable.
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
