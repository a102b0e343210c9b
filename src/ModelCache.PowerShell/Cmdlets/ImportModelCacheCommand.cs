using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.PowerShell.Hosting;
using ModelCache.Transfer;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Places models in a cache from a bundle (written by Export-ModelCache), a static mirror (its index.json), or any
/// other folder of model files (uniface's, a plain folder, a copied cache root; matched to the catalog by
/// FolderScanner): the bundle is checked first, then each model goes through the same stage → verify → promote path
/// as a download. Idempotent: a model already cached and valid is skipped. With -Layout HuggingFace, a bundle
/// written by Export-ModelCache -Layout HuggingFace is placed into a hub cache (HubBundleImporter).
/// </summary>
[Cmdlet(VerbsData.Import, "ModelCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = PathParameterSet)]
[OutputType(typeof(ModelImportResult))]
public sealed class ImportModelCacheCommand : ModelCacheCmdlet
{
    private const string PathParameterSet = "Path";
    private const string LiteralPathParameterSet = "LiteralPath";

    /// <summary>What to import: bundle .zip files, bundle or static mirror folders, or any folder of model files; wildcards are expanded.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathParameterSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>As -Path, taken literally (FileInfo and DirectoryInfo objects bind here through FullName / PSPath).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathParameterSet)]
    [Alias("PSPath", "FullName")]
    [ValidateNotNullOrEmpty]
    public string[]? LiteralPath { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    [Parameter]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    protected override void Process()
    {
        if (IsHubLayout(Layout))
        {
            var root = ResolveHubRoot(CachePath);
            foreach (var (input, bundle) in ResolveItemPaths(Path, LiteralPath))
            {
                ImportHub(bundle, root, input);
            }

            return;
        }

        var catalog = LoadCatalog(CatalogPath);
        var store = OpenStore(CachePath, ParseLayout(Layout));
        foreach (var (literal, location) in ResolveItemPaths(Path, LiteralPath))
        {
            if (Directory.Exists(location) && !Bundle.IsBundleFolder(location))
            {
                ImportFolder(location, catalog, store, literal);
                continue;
            }

            Bundle bundle;
            try
            {
                bundle = Bundle.Open(location, catalog);
            }
            catch (ModelCacheException ex)
            {
                // A bundle that fails its checks is refused whole: nothing of it is trusted.
                WriteFailure(ex, literal);
                continue;
            }

            using (bundle)
            {
                WriteVerbose($"Bundle '{bundle.Location}': {bundle.Models.Count} models, manifest SHA-256 {bundle.ManifestSha256}.");
                Import(bundle.Models.Select(m => m.Model).ToList(), new BundleSource(bundle), bundle.NewModels, store, bundle.Location, literal);
            }
        }
    }

    /// <summary>A hub bundle: checked whole first, then each file through the importer, one result per file.</summary>
    private void ImportHub(string location, string root, string input)
    {
        Bundle bundle;
        try
        {
            bundle = Directory.Exists(location) && !Bundle.IsBundleFolder(location)
                ? throw new ModelCacheException("BundleLayoutMismatch", ModelCacheErrorKind.InvalidArgument,
                    $"'{location}' is a folder without a bundle manifest; -Layout HuggingFace imports only bundles written by 'Export-ModelCache -Layout HuggingFace'. Nothing was imported from it.",
                    "Import a plain folder of models with -Layout Native (or Uniface), or copy a hub cache folder as it is and point HF_HUB_CACHE at it.")
                : Bundle.OpenHub(location);
        }
        catch (ModelCacheException ex)
        {
            // A bundle that fails its checks is refused whole: nothing of it is trusted.
            WriteFailure(ex, input);
            return;
        }

        using (bundle)
        {
            WriteVerbose($"Bundle '{bundle.Location}': {bundle.HubFiles.Count} hub files, manifest SHA-256 {bundle.ManifestSha256}.");
            var importer = new HubBundleImporter(bundle, root, HubSettings.FromEnvironment(Environment, root).DisableSymlinks);
            var done = 0;
            foreach (var file in bundle.HubFiles)
            {
                if (ShouldProcess($"{file.Name} ({importer.TargetOf(file)})", $"Import from '{bundle.Location}'"))
                {
                    try
                    {
                        WriteObject(RunAsync((bridge, token) =>
                        {
                            var progress = new ProgressWriter(this, bridge, "Importing hub cache files");
                            progress.ReportBatch(done, bundle.HubFiles.Count);
                            return importer.ImportAsync(file, progress, message => bridge.Post(() => WriteWarning(message)), token);
                        }));
                    }
                    catch (ModelCacheException ex)
                    {
                        WriteObject(new ModelImportResult(file.Name, ModelImportStatus.Failed, null, 0, ex.Message, bundle.Location, importer.SourceOf(file)));
                        WriteFailure(ex, input);
                    }
                }

                done++;
            }
        }
    }

    /// <summary>Any other folder: its files matched to the catalog (by name and size, else by hash), then imported like a bundle's.</summary>
    private void ImportFolder(string location, ModelCatalog catalog, CacheStore store, string input)
    {
        var scan = RunAsync((_, token) => new FolderScanner(catalog).ScanAsync(location, token));
        foreach (var link in scan.Links)
        {
            WriteWarning($"'{link}' is a link; it was not followed or read.");
        }

        foreach (var (file, why) in scan.Unmatched)
        {
            WriteVerbose($"'{file}' is not imported: {why}.");
        }

        if (scan.Unmatched.Count > 0)
        {
            WriteWarning($"{scan.Unmatched.Count} files in '{scan.Root}' match no catalog model and were not imported (-Verbose lists them).");
        }

        if (scan.LimitReached)
        {
            WriteWarning($"'{scan.Root}' holds more than {FolderScanner.MaxEntries} files and folders; the rest were not looked at. Import its model folder itself.");
        }

        foreach (var match in scan.Matches)
        {
            WriteVerbose($"'{match.File}' is a candidate for {match.Model.Name} by its {(match.ByHash ? "SHA-256" : "file name and size")}.");
        }

        Import(scan.Matches.Select(m => m.Model).ToList(), new FolderFileSource(scan), Array.Empty<ModelDefinition>(), store, scan.Root, input);
    }

    /// <summary>
    /// Each model through the saver (stage, verify, promote); a model the local catalog did not know gets its entry
    /// in the user's catalog.json once its bytes are verified and placed, under the same ShouldProcess, so it stays usable by name afterwards.
    /// </summary>
    private void Import(IReadOnlyList<ModelDefinition> models, IModelSource source, IReadOnlyList<ModelDefinition> newModels, CacheStore store, string from, string input)
    {
        using var planner = new SourcePlanner(Array.Empty<string>(), mirrorOnly: true, offline: true);
        var saver = new ModelSaver(store, planner);
        var userCatalog = UserCatalog;
        var done = 0;
        foreach (var model in models)
        {
            var isNew = newModels.Contains(model);
            var target = $"{model.Name} ({store.GetModelPath(model)}{(isNew ? $"; catalog entry in '{userCatalog.FilePath}'" : string.Empty)})";
            if (!ShouldProcess(target, $"Import from '{from}'"))
            {
                continue;
            }

            try
            {
                var saved = RunAsync((bridge, token) =>
                {
                    var progress = new ProgressWriter(this, bridge, "Importing models");
                    progress.ReportBatch(done, models.Count);
                    return saver.SaveFromAsync(model, new[] { source }, false, progress, message => bridge.Post(() => WriteWarning(message)), token);
                });

                // Only once the bytes matched it: an entry from a bundle whose file failed is never kept.
                if (isNew)
                {
                    RunAsync((_, token) => userCatalog.AddAsync(new[] { model }, token));
                    WriteVerbose($"{model.Name}: catalog entry written to '{userCatalog.FilePath}'.");
                }
                var skipped = saved.Source == TransferSource.Cache;
                WriteObject(new ModelImportResult(model.Name, skipped ? ModelImportStatus.Skipped : ModelImportStatus.Imported, saved.Path,
                    saved.Transfer?.BytesTransferred ?? 0, skipped ? "already cached and valid" : null, from, source.Locate(model)));
            }
            catch (ModelCacheException ex)
            {
                WriteObject(new ModelImportResult(model.Name, ModelImportStatus.Failed, null, 0, ex.Message, from, source.Locate(model)));
                WriteFailure(ex, input);
            }

            done++;
        }
    }
}
