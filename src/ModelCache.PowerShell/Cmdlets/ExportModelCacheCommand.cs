using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Store;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Writes cached models into a bundle (a ZIP of stored entries, or a folder) with a manifest, to carry them
/// across an air gap; Import-ModelCache verifies and places them on the other side. With -Layout HuggingFace the
/// files of a hub cache travel instead, each with its repo, commit, path, blob id and refs.
/// </summary>
[Cmdlet(VerbsData.Export, "ModelCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(BundleExportResult))]
public sealed class ExportModelCacheCommand : ModelCacheCmdlet
{
    private readonly List<ModelCacheEntry> _selected = new();
    private readonly HashSet<string> _seen = new(StringComparer.OrdinalIgnoreCase);
    private ModelCatalog? _catalog;
    private CacheStore? _store;
    private IReadOnlyList<ModelCacheEntry>? _entries;
    private readonly List<HubCacheEntry> _hubSelected = new();
    private string? _hubRoot;
    private IReadOnlyList<HubCacheEntry>? _hubEntries;

    /// <summary>Models to export (wildcards); every cached catalog model when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>
    /// Cache entries from Save-Model or Get-ModelCache; each is exported from its own root, with the definition it carries.
    /// A piped entry also binds -Name by its Name property: the entry wins over its name, whose root and catalog may not be this command's.
    /// </summary>
    [Parameter(ValueFromPipeline = true)]
    [ValidateNotNull]
    public ModelCacheEntry[] InputObject { get; set; } = Array.Empty<ModelCacheEntry>();

    /// <summary>What is written, as Export-Csv's -Path: a new .zip file, or a new or empty folder.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>Write a static mirror (files plus index.json) for nginx, IIS, a share or an object store.</summary>
    [Parameter]
    public SwitchParameter AsMirror { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    [Parameter]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    protected override void Begin()
    {
        if (IsHubLayout(Layout))
        {
            if (AsMirror)
            {
                // A static mirror serves catalog file names; a hub cache's files are named by repo, commit and path.
                ThrowTerminatingError(ErrorRecords.Create("LayoutNotSupported", ErrorCategory.InvalidArgument,
                    "-AsMirror is not available for the Hugging Face hub cache: a static mirror serves catalog file names, not hub repos.",
                    "Export a bundle instead ('Export-ModelCache -Layout HuggingFace -Path hub.zip') and import it with 'Import-ModelCache -Layout HuggingFace'.", Layout));
            }

            _hubRoot = ResolveHubRoot(CachePath);
            _hubEntries = ScanHub(_hubRoot);
            return;
        }

        _catalog = LoadCatalog(CatalogPath);
        _store = OpenStore(CachePath, ParseLayout(Layout));
        _entries = ListEntries(_store, _catalog).Where(e => e.InCatalog).ToList();
    }

    protected override void Process()
    {
        if (_hubEntries is not null)
        {
            foreach (var name in Name ?? Array.Empty<string>())
            {
                _hubSelected.AddRange(SelectHubEntries(_hubEntries, name, _hubRoot!).Where(e => _seen.Add(e.Name)));
            }

            return;
        }

        if (InputObject.Length > 0)
        {
            foreach (var entry in InputObject)
            {
                if (_catalog!.DefinitionOf(entry) is null)
                {
                    WriteFailure(new ModelCacheException("ExpectedHashUnknown", ModelCacheErrorKind.NotFound,
                        $"{entry.Name} at '{entry.Path}' is in no loaded catalog, so its bytes cannot be verified; it is not exported.",
                        "Load the catalog that lists it with -CatalogPath."), entry);
                }
                else if (_seen.Add(entry.Name))
                {
                    _selected.Add(entry);
                }
            }

            return;
        }

        foreach (var name in Name ?? Array.Empty<string>())
        {
            _selected.AddRange(SelectEntries(_catalog!, _entries!, name, _store!.Root).Where(e => _seen.Add(e.Name)));
        }
    }

    protected override void End()
    {
        var destination = GetUnresolvedProviderPathFromPSPath(Path);
        if (_hubEntries is not null)
        {
            var files = Name is null && !MyInvocation.ExpectingInput ? _hubEntries : _hubSelected;
            Export(destination, files.Count, files.Sum(e => e.Size), "hub files", _hubRoot!, (bridge, token) => HubBundleExporter.ExportAsync(files, destination, Tool,
                new ProgressWriter(this, bridge, "Exporting hub files"), (entry, failure) => bridge.Post(() => WriteFailure(failure, entry)), token));
            return;
        }

        var selected = Name is null && !MyInvocation.ExpectingInput ? _entries!.ToList() : _selected;
        var models = selected.Select(e => (e.Path, Model: Resolve(e))).ToList();
        Export(destination, selected.Count, selected.Sum(e => e.Size), "models", _store!.Root, (bridge, token) => BundleExporter.ExportAsync(models, destination, Tool,
            new ProgressWriter(this, bridge, "Exporting models"), (model, failure) => bridge.Post(() => WriteFailure(failure, model.Name)), token, AsMirror));
    }

    /// <summary>One ShouldProcess for the whole bundle, then the export and its result.</summary>
    private void Export(string destination, int count, long bytes, string what, string root, Func<PipelineBridge, CancellationToken, Task<BundleExportResult>> export)
    {
        if (count == 0)
        {
            WriteWarning($"No cached {what} to export from '{root}'.");
            return;
        }

        if (!ShouldProcess($"{destination} ({count} {what}, {bytes / 1048576.0:N1} MiB)", $"Export {what}"))
        {
            return;
        }

        var result = RunAsync(export);
        WriteVerbose($"Manifest SHA-256: {result.ManifestSha256} (compare it on the other side before importing).");
        WriteObject(result);
    }

    private string Tool => "ModelCache " + (MyInvocation.MyCommand.Module?.Version?.ToString() ?? "unknown");

    private ModelDefinition Resolve(ModelCacheEntry entry) => _catalog!.DefinitionOf(entry)!;
}
