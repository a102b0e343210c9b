using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Transfer;
using Newtonsoft.Json.Linq;
using ModelCache.IO;

namespace ModelCache.Bundles;

/// <summary>
/// Makes a model file someone has usable by name (Import-Model): hashes it, defines <c>Family/Member</c> for it with
/// every check of a catalog entry, refuses a name or file name the catalog already gives another model, places the file
/// through the saver's stage → verify → promote path, and only then keeps the entry in the user's catalog.json.
/// </summary>
public sealed class ModelFileImporter
{
    private readonly ModelCatalog _catalog;
    private readonly UserCatalogFile _userCatalog;

    /// <param name="catalog">The merged catalog the new name must not collide with.</param>
    /// <param name="userCatalog">Where the entry is kept.</param>
    public ModelFileImporter(ModelCatalog catalog, UserCatalogFile userCatalog)
    {
        _catalog = catalog;
        _userCatalog = userCatalog;
    }

    /// <summary>Hashes <paramref name="file"/> and decides what importing it as <paramref name="name"/> means, changing nothing.</summary>
    /// <exception cref="ModelCacheException">
    /// ModelNameInvalid, ModelFileNameInvalid, ModelUrlInvalid, ImportSourceNotFound, CacheFolderIsLink, ModelNameConflict, ModelFileNameConflict.
    /// </exception>
    public async Task<ModelFilePlan> PlanAsync(string file, string name, string? task, Uri? url, string? license, CancellationToken cancellationToken)
    {
        var (family, member) = SplitName(name);
        var fileName = Path.GetFileName(file);
        if (!CacheFiles.IsPlainFileName(fileName) || CacheFiles.IsStoreFileName(fileName))
        {
            throw new ModelCacheException("ModelFileNameInvalid", ModelCacheErrorKind.InvalidArgument,
                $"'{fileName}' cannot name a model in the cache: a model's file name must be a plain file name (no '/', '\\', '..', invalid characters), and not one the cache writes beside models ({CacheFiles.MetadataFileName}, *{CacheFiles.PartialSuffix}, *{CacheFiles.TempSuffix}).",
                "Copy the file under a plain name such as 'detector.onnx', then import the copy.");
        }

        if (url is not null && !(url.IsAbsoluteUri && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeFile)))
        {
            throw new ModelCacheException("ModelUrlInvalid", ModelCacheErrorKind.InvalidArgument,
                $"'{url}' is not an absolute http, https or file URL.", "Give the URL the file can be downloaded from, or leave -Url out.");
        }

        var info = new FileInfo(file);
        if (!info.Exists)
        {
            throw new ModelCacheException("ImportSourceNotFound", ModelCacheErrorKind.NotFound, $"The file '{file}' does not exist.", "Check the path given to -LiteralPath.");
        }

        if (CacheFiles.IsLink(file))
        {
            throw new ModelCacheException(RootGuard.LinkErrorId, ModelCacheErrorKind.SecurityError,
                $"'{file}' is a link; models are imported from the file itself, never through a link.", "Import the file the link points to.");
        }

        var sha256 = await Sha256Hasher.HashFileAsync(file, null, cancellationToken).ConfigureAwait(false);
        var model = Define(family, member, task, fileName, url, sha256, info.Length, license);
        if (_catalog.TryGet(model.Name, out var known))
        {
            if (known!.Sha256 != sha256)
            {
                throw new ModelCacheException("ModelNameConflict", ModelCacheErrorKind.InvalidOperation,
                    $"{known.Name} is already {Describe(known)} with SHA-256 {known.Sha256}; '{file}' hashes to {sha256}. A name stands for one file's bytes, so it is not redefined.",
                    $"Import the file under another name (-Name {known.Family}/<another member>), or remove {known.Name} from '{known.Origin}' first if it should change.");
            }

            // The same bytes under the same name: already known, so the import only (re)places the file.
            return new ModelFilePlan(known, file, info.Length, writesCatalogEntry: false, _userCatalog.FilePath);
        }

        if (_catalog.FindByFileName(fileName).FirstOrDefault() is { } sameFile)
        {
            throw new ModelCacheException("ModelFileNameConflict", ModelCacheErrorKind.InvalidOperation,
                $"The file name '{fileName}' is already {sameFile.Name}'s ({Describe(sameFile)}); two models under one file name would overwrite each other in flat layouts and mirrors.",
                $"Copy the file under another name and import the copy, or import it as {sameFile.Name} if it is that model.");
        }

        return new ModelFilePlan(model, file, info.Length, writesCatalogEntry: true, _userCatalog.FilePath);
    }

    /// <summary>
    /// Places the planned file in the cache through <paramref name="saver"/> (its lock, staging, full hash and atomic
    /// promotion; a valid cached copy is kept as it is), then adds the entry to the user's catalog.json.
    /// </summary>
    /// <returns>The cache entry; its <c>Transfer.Source</c> is Cache when the model was already there and valid.</returns>
    public async Task<ModelCacheEntry> ImportAsync(ModelFilePlan plan, ModelSaver saver, IProgress<TransferProgress>? progress, Action<string>? warn, CancellationToken cancellationToken)
    {
        var scan = new FolderScan(Path.GetDirectoryName(Path.GetFullPath(plan.SourceFile))!,
            new[] { new FolderMatch(plan.Model, Path.GetFullPath(plan.SourceFile), plan.Size, byHash: true) },
            Array.Empty<(string, string)>(), Array.Empty<string>(), limitReached: false);
        var entry = await saver.SaveFromAsync(plan.Model, new IModelSource[] { new FolderFileSource(scan, TransferSource.File) }, false, progress, warn, cancellationToken)
            .ConfigureAwait(false);

        // Only once the bytes are verified and placed, as for a bundle's entries: a failed import leaves no name behind.
        if (plan.WritesCatalogEntry)
        {
            await _userCatalog.AddAsync(new[] { plan.Model }, cancellationToken).ConfigureAwait(false);
        }

        return entry;
    }

    /// <summary>A definition for an imported file, read back through <see cref="CatalogReader"/> so it obeys every rule a catalog file does.</summary>
    public ModelDefinition Define(string family, string member, string? task, string fileName, Uri? url, string sha256, long size, string? license)
    {
        var definition = new ModelDefinition(family, member, string.IsNullOrWhiteSpace(task) ? ModelTasks.Unknown : ValidTask(task!), fileName, url, sha256, size,
            license: string.IsNullOrWhiteSpace(license) ? null : license!.Trim(), origin: _userCatalog.FilePath);
        return CatalogReader.ReadEntry(CatalogWriter.ToEntry(definition), "Import-Model", _userCatalog.FilePath);
    }

    /// <summary>The catalog's spelling of a task given by the user (FaceDetection is face_detection); anything else is refused.</summary>
    private static string ValidTask(string task) => ModelTasks.Normalize(task) ?? throw new ModelCacheException("ModelTaskInvalid", ModelCacheErrorKind.InvalidArgument,
        $"'{task}' is not a model task. The tasks are: {ModelTasks.List}.",
        "Give one of these tasks to -Task (Tab completes them), or leave -Task out: Import-Model then recognises a face detector from the model's own inputs and outputs.");

    private static (string Family, string Member) SplitName(string name)
    {
        var parts = (name ?? string.Empty).Trim().Split('/');
        if (parts.Length != 2 || !CatalogReader.IsValidNamePart(parts[0]) || !CatalogReader.IsValidNamePart(parts[1]))
        {
            throw new ModelCacheException("ModelNameInvalid", ModelCacheErrorKind.InvalidArgument,
                $"'{name}' is not a model name: give Family/Member, each part starting with a letter or digit and holding only letters, digits, '_', '.' and '-'.",
                "For example: -Name MyDetectors/SITE_A.");
        }

        return (parts[0], parts[1]);
    }

    private static string Describe(ModelDefinition model) => model.IsBuiltIn ? "a built-in model" : $"defined in '{model.Origin}'";
}

/// <summary>What importing one file will do: the model it becomes, and whether its entry is new to the user's catalog.json.</summary>
public sealed class ModelFilePlan
{
    public ModelFilePlan(ModelDefinition model, string sourceFile, long size, bool writesCatalogEntry, string userCatalogPath)
    {
        Model = model;
        SourceFile = sourceFile;
        Size = size;
        WritesCatalogEntry = writesCatalogEntry;
        UserCatalogPath = userCatalogPath;
    }

    public ModelDefinition Model { get; }

    public string SourceFile { get; }

    /// <summary>The file's size when it was hashed; no more is read when it is placed.</summary>
    public long Size { get; }

    /// <summary>False when the catalog already knows this name with these bytes.</summary>
    public bool WritesCatalogEntry { get; }

    public string UserCatalogPath { get; }
}
