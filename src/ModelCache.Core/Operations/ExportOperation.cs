using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Registry;
using ModelCache.Store;
using ModelCache.Transfer;

namespace ModelCache.Operations;

/// <summary>
/// Export-ModelCache for every layout: which cached files may travel, and the bundle they travel in (catalog models with
/// their definitions, or hub files with their repo, commit, path, blob id and refs).
/// </summary>
public sealed class ExportOperation
{
    private readonly ICacheBackend _backend;
    private readonly ModelCatalog _catalog;

    public ExportOperation(ICacheBackend backend, ModelCatalog catalog)
    {
        _backend = backend;
        _catalog = catalog;
    }

    private bool IsHub => _backend is HubCacheBackend;

    /// <summary>What the exported files are called in messages: "models" or "hub files".</summary>
    public string Unit => IsHub ? "hub files" : "models";

    /// <summary>The error saying why the options cannot be met by this cache; null when they can.</summary>
    public ModelCacheException? CheckOptions(bool asMirror) => IsHub && asMirror
        ? new ModelCacheException("LayoutNotSupported", ModelCacheErrorKind.InvalidArgument,
            "-AsMirror is not available for the Hugging Face hub cache: a static mirror serves catalog file names, not hub repos.",
            "Export a bundle instead ('Export-ModelCache -Layout HuggingFace -Path hub.zip') and import it with 'Import-ModelCache -Layout HuggingFace'.")
        : null;

    /// <summary>What an export with no names takes: every hub file, or every catalog model (a file no catalog knows cannot be verified on the other side).</summary>
    public IReadOnlyList<CachedFile> Exportable(IReadOnlyList<CachedFile> listed) =>
        listed.Where(f => f is not ModelCacheEntry entry || entry.InCatalog).ToList();

    /// <summary>Why a piped file cannot travel; null when it can.</summary>
    public ModelCacheException? Refuse(CachedFile file) => file is ModelCacheEntry entry && _catalog.DefinitionOf(entry) is null
        ? new ModelCacheException("ExpectedHashUnknown", ModelCacheErrorKind.NotFound,
            $"{entry.Name} at '{entry.Path}' is in no loaded catalog, so its bytes cannot be verified; it is not exported.",
            "Load the catalog that lists it with -CatalogPath.")
        : null;

    /// <summary>Why this cache cannot be pushed to a registry (hub files travel in file bundles only); null when it can.</summary>
    public ModelCacheException? RegistryRefused(bool hubFiles = false) => IsHub || hubFiles
        ? new ModelCacheException("LayoutNotSupported", ModelCacheErrorKind.InvalidArgument,
            "-Registry pushes catalog models (layouts Native and Uniface); Hugging Face hub files travel in a file bundle.",
            "Export them with 'Export-ModelCache -Layout HuggingFace -Path hub.zip', or push catalog models with -Layout Native or Uniface.")
        : null;

    /// <summary>
    /// Pushes catalog models to a registry as one bundle artifact (<see cref="BundlePusher"/>). Hub files do not travel
    /// this way: their bundle records repo, commit and path, which no registry layer names.
    /// </summary>
    /// <param name="onFailed">Called for each file left out (unreadable, outside its root, wrong size), from any thread.</param>
    public async Task<RegistryPushResult> PushAsync(IReadOnlyList<CachedFile> files, OciArtifactReference target, string tool, NetworkOptions network,
        Configuration.IEnvironment environment, IProgress<TransferProgress>? progress, Action<CachedFile, ModelCacheException> onFailed, CancellationToken cancellationToken)
    {
        if (files.Any(f => f is not ModelCacheEntry) && RegistryRefused(true) is { } refused)
        {
            throw refused;
        }

        var entries = files.Cast<ModelCacheEntry>().ToList();
        var byName = entries.GroupBy(e => e.Name, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => (CachedFile)g.First(), StringComparer.OrdinalIgnoreCase);
        var models = entries.Select(e => (e.Path, e.CacheRoot, Model: _catalog.DefinitionOf(e)!)).ToList();
        using var client = OciRegistryClient.Create(target.Registry, network, environment, push: true);
        return await BundlePusher.PushAsync(client, target, models, tool, progress, (model, failure) => onFailed(byName[model.Name], failure), cancellationToken,
            model => BundlePusher.MountSource(((ModelCacheEntry)byName[model.Name]).SourceUrl, target)).ConfigureAwait(false);
    }

    /// <param name="onFailed">Called for each file left out (unreadable, or not matching its hash), from any thread.</param>
    public Task<BundleExportResult> ExportAsync(IReadOnlyList<CachedFile> files, string destination, string tool, bool asMirror,
        IProgress<TransferProgress>? progress, Action<CachedFile, ModelCacheException> onFailed, CancellationToken cancellationToken)
    {
        // Piped files carry their layout: hub files travel as hub files whatever -Layout says; one bundle holds one kind.
        if (files.Any(f => f is HubCacheEntry) && files.Any(f => f is not HubCacheEntry))
        {
            throw new ModelCacheException("BundleLayoutMismatch", ModelCacheErrorKind.InvalidArgument,
                "A bundle holds either catalog models or Hugging Face hub files, not both; nothing was exported.",
                "Export each kind on its own: 'Get-ModelCache | Export-ModelCache ...' and 'Get-ModelCache -Layout HuggingFace | Export-ModelCache ...'.");
        }

        if (files.Count > 0 ? files[0] is HubCacheEntry : IsHub)
        {
            return HubBundleExporter.ExportAsync(files.Cast<HubCacheEntry>().ToList(), destination, tool, progress, (entry, failure) => onFailed(entry, failure), cancellationToken);
        }

        var entries = files.Cast<ModelCacheEntry>().ToList();
        var byName = entries.GroupBy(e => e.Name, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => (CachedFile)g.First(), StringComparer.OrdinalIgnoreCase);
        var models = entries.Select(e => (e.Path, Model: _catalog.DefinitionOf(e)!)).ToList();
        return BundleExporter.ExportAsync(models, destination, tool, progress, (model, failure) => onFailed(byName[model.Name], failure), cancellationToken, asMirror);
    }
}
