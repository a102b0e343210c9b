using System;
using System.Linq;
using System.Management.Automation;
using ModelCache.Bundles;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.PowerShell.Hosting;
using ModelCache.Transfer;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Places the models of a bundle (written by Export-ModelCache) in a cache: the bundle is checked first, then each
/// model goes through the same stage → verify → promote path as a download. Idempotent: a model already cached and
/// valid is skipped.
/// </summary>
[Cmdlet(VerbsData.Import, "ModelCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ModelImportResult))]
public sealed class ImportModelCacheCommand : ModelCacheCmdlet
{
    /// <summary>Bundles to import: .zip files or folders.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    [Parameter]
    [ValidateSet("Native", "Uniface")]
    public string Layout { get; set; } = "Native";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    protected override void Process()
    {
        var catalog = LoadCatalog(CatalogPath);
        var store = OpenStore(Path, ParseLayout(Layout));
        foreach (var literal in LiteralPath)
        {
            var location = GetUnresolvedProviderPathFromPSPath(literal);
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
                Import(bundle, store, literal);
            }
        }
    }

    private void Import(Bundle bundle, Store.CacheStore store, string input)
    {
        using var planner = new SourcePlanner(Array.Empty<string>(), mirrorOnly: true, offline: true);
        var saver = new ModelSaver(store, planner);
        var source = new BundleSource(bundle);
        var done = 0;
        foreach (var (entry, model) in bundle.Models)
        {
            if (!ShouldProcess($"{model.Name} ({store.GetModelPath(model)})", $"Import from '{bundle.Location}'"))
            {
                continue;
            }

            try
            {
                var saved = RunAsync((bridge, token) =>
                {
                    var progress = new ProgressWriter(this, bridge, "Importing models");
                    progress.ReportBatch(done, bundle.Models.Count);
                    return saver.SaveFromAsync(model, new IModelSource[] { source }, false, progress, message => bridge.Post(() => WriteWarning(message)), token);
                });
                var skipped = saved.Source == TransferSource.Cache;
                WriteObject(new ModelImportResult(model.Name, skipped ? ModelImportStatus.Skipped : ModelImportStatus.Imported, saved.Path,
                    saved.Transfer?.BytesTransferred ?? 0, skipped ? "already cached and valid" : null, bundle.Location));
            }
            catch (ModelCacheException ex)
            {
                WriteObject(new ModelImportResult(model.Name, ModelImportStatus.Failed, null, 0, ex.Message, bundle.Location));
                WriteFailure(ex, input);
            }

            done++;
        }
    }
}
