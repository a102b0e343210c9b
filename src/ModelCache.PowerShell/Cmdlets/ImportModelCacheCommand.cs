using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Operations;
using ModelCache.Primitives;
using ModelCache.Registry;
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
    private const string RegistryParameterSet = "Registry";

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

    /// <summary>A bundle pushed to a registry: oci://host[:port]/repository:tag or oci://host[:port]/repository@sha256:&lt;digest&gt;.</summary>
    [Parameter(Mandatory = true, ParameterSetName = RegistryParameterSet)]
    [ValidateNotNullOrEmpty]
    public string? Registry { get; set; }

    /// <summary>The registry account (user name and password or token), for a token request or Basic authentication; else a Docker-style config.json is read.</summary>
    [Parameter(ParameterSetName = RegistryParameterSet)]
    [Credential]
    [ValidateNotNull]
    public PSCredential? Credential { get; set; }

    /// <summary>Longest wait for the registry's response headers or the next bytes of a body, in seconds.</summary>
    [Parameter(ParameterSetName = RegistryParameterSet)]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 60;

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
        var catalog = LoadCatalog(CatalogPath);
        var backend = OpenBackend(CachePath, Layout);
        if (Registry is not null)
        {
            ImportRegistry(backend, catalog, Registry);
            return;
        }

        // A registry reference is not a path (PowerShell would look for an 'oci:' drive): it has its own parameter.
        foreach (var reference in (Path ?? LiteralPath ?? Array.Empty<string>()).Where(RegistryManifest.IsRegistry))
        {
            WriteFailure(new ModelCacheException("RegistryReferenceInPath", ModelCacheErrorKind.InvalidArgument,
                $"'{reference}' names a registry, not a file or folder; -Path and -LiteralPath name bundles on disk.",
                $"Import it with: Import-ModelCache -Registry '{reference}'"), reference);
        }

        var paths = Path?.Where(p => !RegistryManifest.IsRegistry(p)).ToArray();
        var literalPaths = LiteralPath?.Where(p => !RegistryManifest.IsRegistry(p)).ToArray();
        if ((paths ?? literalPaths)!.Length == 0)
        {
            return;
        }

        foreach (var (input, location) in ResolveItemPaths(paths, literalPaths))
        {
            ImportOperation import;
            try
            {
                import = RunAsync((_, token) => ImportOperation.OpenAsync(backend, location, catalog, UserCatalog, Environment, token));
            }
            catch (ModelCacheException ex)
            {
                // A bundle that fails its checks is refused whole: nothing of it is trusted.
                WriteFailure(ex, input);
                continue;
            }

            using (import)
            {
                Import(import, input);
            }
        }
    }

    /// <summary>A bundle artifact: read and checked whole first (nothing of a refused one is trusted), then imported item by item.</summary>
    private void ImportRegistry(ICacheBackend backend, ModelCatalog catalog, string reference)
    {
        var network = SourcePolicy.CreateNetwork(null, Credential?.GetNetworkCredential(), 3, TimeSpan.FromSeconds(TimeoutSec), NetworkOptions.DefaultMaxDownloadSize);
        ImportOperation import;
        try
        {
            import = RunAsync((_, token) => ImportOperation.OpenRegistryAsync(backend, reference, catalog, UserCatalog, network, EnvironmentOptions.Offline, Environment, token));
        }
        catch (ModelCacheException ex)
        {
            WriteFailure(ex, reference);
            return;
        }

        using (import)
        {
            Import(import, reference);
        }
    }

    /// <summary>Each item confirmed, then placed through the cache's own write path; one result per item.</summary>
    private void Import(ImportOperation import, string input)
    {
        var noted = 0;
        void WriteNotes()
        {
            for (; noted < import.Notes.Count; noted++)
            {
                WriteVerbose(import.Notes[noted]);
            }
        }

        import.Warnings.ForEach(WriteWarning);
        WriteNotes();
        for (var done = 0; done < import.Items.Count; done++)
        {
            var item = import.Items[done];
            if (!ShouldProcess(item.Target, $"Import from '{import.From}'"))
            {
                continue;
            }

            try
            {
                WriteObject(RunAsync((bridge, token) =>
                {
                    var progress = new ProgressWriter(this, bridge, "Importing models");
                    progress.ReportBatch(done, import.Items.Count);
                    return import.ImportAsync(item, progress, message => bridge.Post(() => WriteWarning(message)), token);
                }));
            }
            catch (ModelCacheException ex)
            {
                WriteObject(import.Failed(item, ex));
                WriteFailure(ex, input);
            }

            WriteNotes();
        }
    }
}
