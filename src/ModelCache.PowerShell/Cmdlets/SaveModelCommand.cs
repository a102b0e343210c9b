using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Net;
using ModelCache.Catalog;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Store;
using ModelCache.Transfer;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Makes models present and verified in the cache: a valid copy is returned without network
/// access, a corrupt one is fetched again, a missing one is downloaded (in parallel, resumable,
/// retried), verified and stored.
/// </summary>
[Cmdlet(VerbsData.Save, "Model", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ModelCacheEntry))]
public sealed class SaveModelCommand : ModelCacheCmdlet
{
    private readonly List<(ModelDefinition Model, string Input)> _pending = new();
    private readonly HashSet<string> _seen = new(StringComparer.OrdinalIgnoreCase);
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
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = 4;

    [Parameter]
    [ValidateRange(0, 20)]
    public int RetryCount { get; set; } = 3;

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 60;

    [Parameter]
    [ValidateNotNull]
    public Uri? Proxy { get; set; }

    [Parameter]
    [Credential]
    [ValidateNotNull]
    public PSCredential? ProxyCredential { get; set; }

    /// <summary>For private mirrors; sent only to the mirror hosts. $env:MODELCACHE_TOKEN is the bearer-token alternative.</summary>
    [Parameter]
    [Credential]
    [ValidateNotNull]
    public PSCredential? Credential { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    /// <summary>How the root is arranged (Native or Uniface); each layout has its own default root.</summary>
    [Parameter]
    [ValidateSet("Native", "Uniface")]
    public string Layout { get; set; } = "Native";

    protected override void Begin() => _store = OpenStore(Path, ParseLayout(Layout));

    protected override void Process()
    {
        var catalog = LoadCatalog(CatalogPath);
        foreach (var name in Name)
        {
            if (TryResolve(catalog, name) is { } model && _seen.Add(model.Name) &&
                ShouldProcess($"{model.Name} ({_store!.GetModelPath(model)})", "Save model"))
            {
                _pending.Add((model, name));
            }
        }
    }

    protected override void End()
    {
        if (_pending.Count == 0)
        {
            return;
        }

        WriteVerbose($"Cache root: {_store!.Root}");
        using var planner = CreateSourcePlanner(Mirror, BoundSwitch(nameof(Offline), Offline), BoundSwitch(nameof(MirrorOnly), MirrorOnly), NetworkOptions());
        var saver = new ModelSaver(_store, planner);
        var inputs = _pending.ToDictionary(p => p.Model.Name, p => p.Input, StringComparer.OrdinalIgnoreCase);
        var done = 0;
        RunAsync((bridge, token) =>
        {
            var progress = new ProgressWriter(this, bridge, "Saving models");
            progress.ReportBatch(0, _pending.Count);
            return saver.SaveAllAsync(_pending.Select(p => p.Model).ToList(), ThrottleLimit, Force, progress,
                message => bridge.Post(() => WriteWarning(message)),
                (model, entry, failure) =>
                {
                    progress.ReportBatch(System.Threading.Interlocked.Increment(ref done), _pending.Count);
                    bridge.Post(() =>
                    {
                        if (entry is not null)
                        {
                            WriteObject(entry);
                        }
                        else
                        {
                            WriteFailure(failure!, inputs[model.Name]);
                        }
                    });
                },
                token);
        });
    }

    private NetworkOptions NetworkOptions() => new()
    {
        Proxy = Proxy is null ? null : new WebProxy(Proxy) { Credentials = ProxyCredential?.GetNetworkCredential() },
        MirrorCredential = Credential is null ? null : MirrorCredential.Basic(Credential.UserName, Credential.GetNetworkCredential().Password),
        RetryCount = RetryCount,
        Timeout = TimeSpan.FromSeconds(TimeoutSec),
    };
}
