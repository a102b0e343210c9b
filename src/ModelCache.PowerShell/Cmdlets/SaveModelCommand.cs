using System;
using System.Linq;
using System.Management.Automation;
using ModelCache.Errors;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Store;
using ModelCache.Transfer;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Makes models present and verified in the cache: a valid copy is returned without network
/// access, a corrupt one is fetched again, a missing one is downloaded, verified and stored.
/// </summary>
[Cmdlet(VerbsData.Save, "Model", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ModelCacheEntry))]
public sealed class SaveModelCommand : ModelCacheCmdlet
{
    private SourcePlanner? _planner;
    private ModelSaver? _saver;
    private CacheStore? _store;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Cache root; overrides every other location setting.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter Offline { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Mirror { get; set; }

    [Parameter]
    public SwitchParameter MirrorOnly { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    protected override void BeginProcessing()
    {
        var environment = EnvironmentOptions;
        var offline = MyInvocation.BoundParameters.ContainsKey(nameof(Offline)) ? Offline.IsPresent : environment.Offline;
        var mirrorOnly = MyInvocation.BoundParameters.ContainsKey(nameof(MirrorOnly)) ? MirrorOnly.IsPresent : environment.MirrorOnly;
        var mirrors = (Mirror ?? environment.Mirrors.ToArray()).Select(ResolveMirror).ToList();
        _planner = new SourcePlanner(mirrors, mirrorOnly, offline);
        _store = OpenStore(Path);
        _saver = new ModelSaver(_store, _planner);
        WriteVerbose($"Cache root: {_store.Root}; mirrors: {(mirrors.Count == 0 ? "none" : string.Join(", ", mirrors))}; offline: {offline}; mirror-only: {mirrorOnly}");
    }

    protected override void ProcessRecord()
    {
        var catalog = LoadCatalog(CatalogPath);
        foreach (var name in Name)
        {
            if (TryResolve(catalog, name) is not { } model)
            {
                continue;
            }

            if (!ShouldProcess($"{model.Name} ({_store!.GetModelPath(model)})", "Save model"))
            {
                continue;
            }

            try
            {
                var entry = RunAsync((bridge, token) =>
                {
                    var progress = new ProgressWriter(this, bridge, "Saving models");
                    return _saver!.SaveAsync(model, Force, progress, message => bridge.Post(() => WriteWarning(message)), token);
                });
                WriteObject(entry);
            }
            catch (ModelCacheException ex)
            {
                WriteFailure(ex, name);
            }
        }
    }

    protected override void EndProcessing() => _planner?.Dispose();

    /// <summary>URLs stay as they are; anything else is a PowerShell path, relative to the current location.</summary>
    private string ResolveMirror(string mirror) =>
        Uri.TryCreate(mirror, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeFile)
            ? mirror
            : GetUnresolvedProviderPathFromPSPath(mirror);
}
