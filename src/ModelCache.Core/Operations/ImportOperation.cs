using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Transfer;

namespace ModelCache.Operations;

/// <summary>One file or model an import would place, confirmed by itself before it is placed.</summary>
public sealed class ImportItem
{
    internal ImportItem(string name, string target, object subject)
    {
        Name = name;
        Target = target;
        Subject = subject;
    }

    public string Name { get; }

    /// <summary>What is placed where, for the confirmation.</summary>
    public string Target { get; }

    internal object Subject { get; }
}

/// <summary>
/// Import-ModelCache for every layout. <see cref="Open"/> checks what is imported (a bundle whole, or a folder matched to the
/// catalog) and lists its items; each confirmed item then goes through the cache's own write path (stage, verify, promote),
/// as a download does. A catalog model the local catalog did not know gets its entry in the user's catalog once its bytes are placed.
/// </summary>
public abstract class ImportOperation : IDisposable
{
    private protected ImportOperation(string from, IReadOnlyList<ImportItem> items)
    {
        From = from;
        Items = items;
    }

    /// <summary>The bundle or folder imported from.</summary>
    public string From { get; }

    public IReadOnlyList<ImportItem> Items { get; }

    /// <summary>What was looked at and left out, for verbose output.</summary>
    public List<string> Notes { get; } = new();

    /// <summary>What the user should know before anything is placed (links not followed, files matching nothing).</summary>
    public List<string> Warnings { get; } = new();

    /// <summary>Checks <paramref name="location"/> and lists what it would place in <paramref name="backend"/>'s cache.</summary>
    /// <exception cref="ModelCacheException">The bundle fails its checks (nothing of it is trusted), or is not one this cache takes.</exception>
    public static async Task<ImportOperation> OpenAsync(ICacheBackend backend, string location, ModelCatalog catalog, UserCatalogFile userCatalog, IEnvironment environment,
        CancellationToken cancellationToken)
    {
        if (backend is HubCacheBackend hub)
        {
            return HubImport.Open(hub, location, environment);
        }

        var store = CacheBackends.StoreOf(backend)!;
        if (Directory.Exists(location) && !Bundle.IsBundleFolder(location))
        {
            var scan = await new FolderScanner(catalog).ScanAsync(location, cancellationToken).ConfigureAwait(false);
            return CatalogImport.FromFolder(store, scan, userCatalog);
        }

        return CatalogImport.FromBundle(store, Bundle.Open(location, catalog), userCatalog);
    }

    /// <summary>
    /// Reads the bundle artifact <paramref name="reference"/> (oci://host[:port]/repository:tag or @sha256:…) and lists what
    /// it would place: its manifest and config are checked like any hostile bundle's before anything is listed, and each
    /// model's layer is fetched through the transfer engine and verified against the catalog (or its carried entry) before promotion.
    /// </summary>
    /// <param name="offline">Offline mode ($env:MODELCACHE_OFFLINE): a registry is not read (RegistryManifestOffline).</param>
    /// <exception cref="ModelCacheException">The reference, the registry's answers or the bundle manifest fail their checks; nothing of it is trusted.</exception>
    public static async Task<ImportOperation> OpenRegistryAsync(ICacheBackend backend, string reference, ModelCatalog catalog, UserCatalogFile userCatalog,
        NetworkOptions network, bool offline, IEnvironment environment, CancellationToken cancellationToken)
    {
        var artifact = Registry.OciArtifactReference.Parse(reference);
        if (offline)
        {
            throw Registry.RegistryManifest.Offline(artifact);
        }

        if (backend is HubCacheBackend)
        {
            throw new ModelCacheException("BundleLayoutMismatch", ModelCacheErrorKind.InvalidArgument,
                $"The registry artifact '{artifact}' holds catalog models; -Layout HuggingFace imports only hub bundles from files. Nothing was imported from it.",
                "Import it with -Layout Native (or Uniface).");
        }

        var store = CacheBackends.StoreOf(backend)!;
        var http = SourcePlanner.CreateClient(network, environment);
        try
        {
            var client = new Registry.OciRegistryClient(http, artifact.Registry, network.MirrorCredential, environment, network.Timeout, push: false);
            var bundle = await client.PullBundleAsync(artifact, catalog, cancellationToken).ConfigureAwait(false);
            var planner = new SourcePlanner(Array.Empty<string>(), mirrorOnly: true, offline: false, network, environment);
            var import = new CatalogImport(bundle.Location, bundle.Models.Select(m => m.Model).ToList(), client.LayerSource(bundle), bundle.NewModels, store, userCatalog, http, planner);
            import.Notes.Add($"Artifact '{bundle.Location}': {bundle.Models.Count} models, manifest {bundle.ManifestDigest}, bundle manifest (config) {bundle.ConfigDigest}.");
            return import;
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    /// <summary>Places one confirmed item; a failure is thrown as a <see cref="ModelCacheException"/> about that item only.</summary>
    public abstract Task<ModelImportResult> ImportAsync(ImportItem item, IProgress<TransferProgress>? progress, Action<string>? warn, CancellationToken cancellationToken);

    /// <summary>The result reported for an item that failed.</summary>
    public abstract ModelImportResult Failed(ImportItem item, ModelCacheException failure);

    public virtual void Dispose()
    {
    }

    private sealed class HubImport : ImportOperation
    {
        private readonly Bundle _bundle;
        private readonly HubBundleImporter _importer;

        private HubImport(Bundle bundle, HubBundleImporter importer, IReadOnlyList<ImportItem> items)
            : base(bundle.Location, items)
        {
            _bundle = bundle;
            _importer = importer;
        }

        public static HubImport Open(HubCacheBackend backend, string location, IEnvironment environment)
        {
            var bundle = Directory.Exists(location) && !Bundle.IsBundleFolder(location)
                ? throw new ModelCacheException("BundleLayoutMismatch", ModelCacheErrorKind.InvalidArgument,
                    $"'{location}' is a folder without a bundle manifest; -Layout HuggingFace imports only bundles written by 'Export-ModelCache -Layout HuggingFace'. Nothing was imported from it.",
                    "Import a plain folder of models with -Layout Native (or Uniface), or copy a hub cache folder as it is and point HF_HUB_CACHE at it.")
                : Bundle.OpenHub(location);
            var importer = new HubBundleImporter(bundle, backend.Root, HubSettings.FromEnvironment(environment, backend.Root).DisableSymlinks);
            var import = new HubImport(bundle, importer, bundle.HubFiles.Select(f => new ImportItem(f.Name, $"{f.Name} ({importer.TargetOf(f)})", f)).ToList());
            import.Notes.Add($"Bundle '{bundle.Location}': {bundle.HubFiles.Count} hub files, manifest SHA-256 {bundle.ManifestSha256}.");
            return import;
        }

        public override Task<ModelImportResult> ImportAsync(ImportItem item, IProgress<TransferProgress>? progress, Action<string>? warn, CancellationToken cancellationToken) =>
            _importer.ImportAsync((HubBundleFile)item.Subject, progress, warn, cancellationToken);

        public override ModelImportResult Failed(ImportItem item, ModelCacheException failure) =>
            new(item.Name, ModelImportStatus.Failed, null, 0, failure.Message, _bundle.Location, _importer.SourceOf((HubBundleFile)item.Subject));

        public override void Dispose() => _bundle.Dispose();
    }

    private sealed class CatalogImport : ImportOperation
    {
        private readonly IModelSource _source;
        private readonly IReadOnlyList<ModelDefinition> _newModels;
        private readonly CacheStore _store;
        private readonly UserCatalogFile _userCatalog;
        private readonly SourcePlanner _planner;
        private readonly IDisposable? _bundle;

        /// <param name="planner">Network settings (retries, caps) for a source that reads over the network; null for local sources.</param>
        internal CatalogImport(string from, IReadOnlyList<ModelDefinition> models, IModelSource source, IReadOnlyList<ModelDefinition> newModels, CacheStore store,
            UserCatalogFile userCatalog, IDisposable? bundle, SourcePlanner? planner = null)
            : base(from, models.Select(m => new ImportItem(m.Name,
                $"{m.Name} ({store.GetModelPath(m)}{(newModels.Contains(m) ? $"; catalog entry in '{userCatalog.FilePath}'" : string.Empty)})", m)).ToList())
        {
            _source = source;
            _newModels = newModels;
            _store = store;
            _userCatalog = userCatalog;
            _bundle = bundle;
            _planner = planner ?? new SourcePlanner(Array.Empty<string>(), mirrorOnly: true, offline: true);
        }

        public static CatalogImport FromBundle(CacheStore store, Bundle bundle, UserCatalogFile userCatalog)
        {
            var import = new CatalogImport(bundle.Location, bundle.Models.Select(m => m.Model).ToList(), new BundleSource(bundle), bundle.NewModels, store, userCatalog, bundle);
            import.Notes.Add($"Bundle '{bundle.Location}': {bundle.Models.Count} models, manifest SHA-256 {bundle.ManifestSha256}.");
            return import;
        }

        /// <summary>Any other folder: its files matched to the catalog (by name and size, else by hash).</summary>
        public static CatalogImport FromFolder(CacheStore store, FolderScan scan, UserCatalogFile userCatalog)
        {
            var import = new CatalogImport(scan.Root, scan.Matches.Select(m => m.Model).ToList(), new FolderFileSource(scan), Array.Empty<ModelDefinition>(), store, userCatalog, null);
            import.Warnings.AddRange(scan.Links.Select(link => $"'{link}' is a link; it was not followed or read."));
            import.Notes.AddRange(scan.Unmatched.Select(u => $"'{u.File}' is not imported: {u.Why}."));
            if (scan.Unmatched.Count > 0)
            {
                import.Warnings.Add($"{scan.Unmatched.Count} files in '{scan.Root}' match no catalog model and were not imported (-Verbose lists them).");
            }

            if (scan.LimitReached)
            {
                import.Warnings.Add($"'{scan.Root}' holds more than {FolderScanner.MaxEntries} files and folders; the rest were not looked at. Import its model folder itself.");
            }

            import.Notes.AddRange(scan.Matches.Select(m => $"'{m.File}' is a candidate for {m.Model.Name} by its {(m.ByHash ? "SHA-256" : "file name and size")}."));
            return import;
        }

        public override async Task<ModelImportResult> ImportAsync(ImportItem item, IProgress<TransferProgress>? progress, Action<string>? warn, CancellationToken cancellationToken)
        {
            var model = (ModelDefinition)item.Subject;
            var saved = await new ModelSaver(_store, _planner).SaveFromAsync(model, new[] { _source }, false, progress, warn, cancellationToken).ConfigureAwait(false);

            // Only once the bytes matched it: an entry from a bundle whose file failed is never kept.
            if (_newModels.Contains(model))
            {
                await _userCatalog.AddAsync(new[] { model }, cancellationToken).ConfigureAwait(false);
                Notes.Add($"{model.Name}: catalog entry written to '{_userCatalog.FilePath}'.");
            }

            var skipped = saved.Source == TransferSource.Cache;
            return new ModelImportResult(model.Name, skipped ? ModelImportStatus.Skipped : ModelImportStatus.Imported, saved.Path,
                saved.Transfer?.BytesTransferred ?? 0, skipped ? "already cached and valid" : null, From, _source.Locate(model));
        }

        public override ModelImportResult Failed(ImportItem item, ModelCacheException failure) =>
            new(item.Name, ModelImportStatus.Failed, null, 0, failure.Message, From, _source.Locate((ModelDefinition)item.Subject));

        public override void Dispose()
        {
            _planner.Dispose();
            _bundle?.Dispose();
        }
    }
}
