using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Operations;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Registry;
using ModelCache.Store;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Writes cached models into a bundle (a ZIP of stored entries, or a folder) with a manifest, to carry them
/// across an air gap; Import-ModelCache verifies and places them on the other side. With -Layout HuggingFace the
/// files of a hub cache travel instead, each with its repo, commit, path, blob id and refs. With -Registry the models
/// are pushed to an OCI registry as one artifact instead of written to a file.
/// </summary>
[Cmdlet(VerbsData.Export, "ModelCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = PathSet)]
[OutputType(typeof(BundleExportResult), ParameterSetName = new[] { PathSet })]
[OutputType(typeof(RegistryPushResult), ParameterSetName = new[] { RegistrySet })]
public sealed class ExportModelCacheCommand : ModelCacheCmdlet
{
    private const string PathSet = "Path";
    private const string RegistrySet = "Registry";

    private readonly List<CachedFile> _selected = new();
    private readonly HashSet<string> _seen = new(StringComparer.OrdinalIgnoreCase);
    private ModelCatalog? _catalog;
    private ICacheBackend? _backend;
    private ExportOperation? _export;
    private IReadOnlyList<CachedFile>? _files;

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
    public CachedFile[] InputObject { get; set; } = Array.Empty<CachedFile>();

    /// <summary>What is written, as Export-Csv's -Path: a new .zip file, or a new or empty folder.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>Write a static mirror (files plus index.json) for nginx, IIS, a share or an object store.</summary>
    [Parameter(ParameterSetName = PathSet)]
    public SwitchParameter AsMirror { get; set; }

    /// <summary>
    /// Push to an OCI registry instead: oci://host[:port]/repository:tag (https; plain http for a loopback host). The tag
    /// is overwritten; blobs the registry holds are not sent again.
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = RegistrySet)]
    [ValidateNotNullOrEmpty]
    public string Registry { get; set; } = string.Empty;

    /// <summary>For the registry (its token service, or Basic over https); else a Docker-style config.json is read.</summary>
    [Parameter(ParameterSetName = RegistrySet), Credential, ValidateNotNull]
    public PSCredential? Credential { get; set; }

    /// <summary>How long the registry may stay silent: for an answer, or while an upload makes no progress.</summary>
    [Parameter(ParameterSetName = RegistrySet), ValidateRange(1, 3600)]
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

    protected override void Begin()
    {
        _catalog = LoadCatalog(CatalogPath);
        _backend = OpenBackend(CachePath, Layout);
        _export = new ExportOperation(_backend, _catalog);
        if ((ParameterSetName == RegistrySet ? _export.RegistryRefused() : _export.CheckOptions(AsMirror)) is { } refused)
        {
            ThrowTerminatingError(ErrorRecords.From(refused, Layout));
        }

        _files = _export.Exportable(ListFiles(_backend, _catalog));
    }

    protected override void Process()
    {
        if (InputObject.Length > 0)
        {
            foreach (var file in InputObject)
            {
                if (_export!.Refuse(file) is { } refused)
                {
                    WriteFailure(refused, file);
                }
                else if (_seen.Add(file.Name))
                {
                    _selected.Add(file);
                }
            }

            return;
        }

        foreach (var name in Name ?? Array.Empty<string>())
        {
            _selected.AddRange(SelectFiles(_backend!, _catalog!, _files!, name).Where(f => _seen.Add(f.Name)));
        }
    }

    protected override void End()
    {
        var files = Name is null && !MyInvocation.ExpectingInput ? _files! : _selected;
        var what = _export!.Unit;
        if (ParameterSetName == RegistrySet)
        {
            Push(files, what);
            return;
        }

        var destination = GetUnresolvedProviderPathFromPSPath(Path);
        Export(destination, files.Count, files.Sum(e => e.Size), what, _backend!.Root, (bridge, token) => _export!.ExportAsync(files, destination, Tool, AsMirror,
            new ProgressWriter(this, bridge, $"Exporting {what}"), (file, failure) => bridge.Post(() => WriteFailure(failure, file)), token));
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

    /// <summary>One ShouldProcess for the artifact (it overwrites the tag), then the push and its result.</summary>
    private void Push(IReadOnlyList<CachedFile> files, string what)
    {
        OciArtifactReference target;
        try
        {
            target = OciArtifactReference.Parse(Registry);
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, Registry));
            return;
        }

        if (files.Count == 0)
        {
            WriteWarning($"No cached {what} to push from '{_backend!.Root}'.");
            return;
        }

        if (!ShouldProcess($"{target} ({files.Count} {what}, {files.Sum(e => e.Size) / 1048576.0:N1} MiB)", $"Push {what} (the tag is overwritten)"))
        {
            return;
        }

        var network = SourcePolicy.CreateNetwork(null, Credential?.GetNetworkCredential(), 0, TimeSpan.FromSeconds(TimeoutSec), Transfer.NetworkOptions.DefaultMaxDownloadSize);
        var result = RunAsync((bridge, token) => _export!.PushAsync(files, target, Tool, network, Environment,
            new ProgressWriter(this, bridge, $"Pushing {what} to {target}"), (file, failure) => bridge.Post(() => WriteFailure(failure, file)), token));
        WriteVerbose($"Pushed {result.Reference} as {result.Digest}: {result.BlobsUploaded} blobs uploaded ({result.BytesUploaded} bytes), {result.BlobsSkipped} already there.");
        WriteObject(result);
    }

    private string Tool => "ModelCache " + (MyInvocation.MyCommand.Module?.Version?.ToString() ?? "unknown");
}
