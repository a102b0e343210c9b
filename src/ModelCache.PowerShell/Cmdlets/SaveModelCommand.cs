using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Net;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Operations;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Transfer;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Makes models present and verified in the cache: a valid copy is returned without network
/// access, a corrupt one is fetched again, a missing one is downloaded (in parallel, resumable,
/// retried), verified and stored.
/// </summary>
[Cmdlet(VerbsData.Save, "Model", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = NameParameterSet)]
[OutputType(typeof(ModelCacheEntry), ParameterSetName = new[] { NameParameterSet })]
[OutputType(typeof(HubCacheEntry), ParameterSetName = new[] { HuggingFaceParameterSet })]
public sealed class SaveModelCommand : ModelCacheCmdlet
{
    private const string NameParameterSet = "Name";
    private const string HuggingFaceParameterSet = "HuggingFace";
    private readonly List<(HubFileReference File, string Input)> _hubPending = new();
    private readonly HashSet<string> _hubSeen = new(StringComparer.Ordinal);
    private readonly List<(ModelDefinition Model, string Input)> _pending = new();
    private readonly HashSet<string> _seen = new(StringComparer.OrdinalIgnoreCase);
    private CacheStore? _store;
    private CacheQuota? _quota;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = NameParameterSet)]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>A Hugging Face repository, <c>org/name</c>, saved into a hub cache in the hub's own layout.</summary>
    [Parameter(Mandatory = true, ParameterSetName = HuggingFaceParameterSet)]
    [ValidateNotNullOrEmpty]
    public string HuggingFaceRepo { get; set; } = string.Empty;

    /// <summary>Paths of files in the repository, <c>/</c>-separated.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = HuggingFaceParameterSet)]
    [ValidateNotNullOrEmpty]
    public string[] File { get; set; } = Array.Empty<string>();

    /// <summary>Branch, tag or 40-hex commit id.</summary>
    [Parameter(ParameterSetName = HuggingFaceParameterSet), ValidateNotNullOrEmpty] public string Revision { get; set; } = "main";

    /// <summary>Cache root; overrides every other location setting.</summary>
    [Parameter, ValidateNotNullOrEmpty] public string? CachePath { get; set; }

    [Parameter] public SwitchParameter Force { get; set; }

    [Parameter] public SwitchParameter Offline { get; set; }

    [Parameter(ParameterSetName = NameParameterSet), ValidateNotNullOrEmpty] public string[]? Mirror { get; set; }

    [Parameter(ParameterSetName = NameParameterSet)] public SwitchParameter MirrorOnly { get; set; }

    [Parameter, ValidateRange(1, 64)] public int ThrottleLimit { get; set; } = 4;

    [Parameter, ValidateRange(0, 20)] public int RetryCount { get; set; } = 3;

    [Parameter, ValidateRange(1, 3600)] public int TimeoutSec { get; set; } = 60;

    /// <summary>
    /// Largest download, in bytes, for a model without a catalog size: a declared size above it is refused, and a
    /// body without Content-Length is cut here (ContentTooLong). Also bounds hub files.
    /// </summary>
    [Parameter, ValidateRange(1, long.MaxValue)] public long MaxDownloadSize { get; set; } = Transfer.NetworkOptions.DefaultMaxDownloadSize;

    /// <summary>
    /// Most connections open at once to one host: a large download from a server that serves byte ranges is fetched
    /// in segments over several, and the models of one call (-ThrottleLimit) share them; hub files (-HuggingFaceRepo) too.
    /// 1 turns segments off. Default: $env:MODELCACHE_CONNECTIONS_PER_HOST, else 8.
    /// </summary>
    [Parameter, ValidateRange(1, SourcePolicy.MaxConnectionsPerHost)] public int ConnectionsPerHost { get; set; }

    [Parameter, ValidateNotNull] public Uri? Proxy { get; set; }

    [Parameter, Credential, ValidateNotNull] public PSCredential? ProxyCredential { get; set; }

    /// <summary>For private mirrors; sent only to the mirror hosts. $env:MODELCACHE_TOKEN is the bearer-token alternative.</summary>
    [Parameter(ParameterSetName = NameParameterSet), Credential, ValidateNotNull] public PSCredential? Credential { get; set; }

    [Parameter(ParameterSetName = NameParameterSet), ValidateNotNullOrEmpty] public string[]? CatalogPath { get; set; }

    /// <summary>
    /// The most bytes the cache may hold after this call, overriding the Set-ModelCacheQuota setting: a model bigger than this
    /// is refused (QuotaTooSmall), and least recently used unpinned entries are evicted after the saves.
    /// </summary>
    [Parameter(ParameterSetName = NameParameterSet), ValidateRange(1, long.MaxValue)] public long MaxSize { get; set; }

    /// <summary>How the root is arranged (Native or Uniface); each layout has its own default root.</summary>
    [Parameter(ParameterSetName = NameParameterSet), ValidateSet("Native", "Uniface", "HuggingFace")] public string Layout { get; set; } = "Native";

    protected override void Begin()
    {
        if (ParameterSetName == NameParameterSet)
        {
            if (IsHubLayout(Layout))
            {
                ThrowLayoutNotSupported(Layout, "catalog models (-Name) are saved into Native or Uniface caches.", "Save hub files into the hub cache with 'Save-Model -HuggingFaceRepo <org/name> -File <file>', or use -Layout Native or Uniface.");
            }

            _store = OpenStore(CachePath, ParseLayout(Layout));
            _quota = QuotaSettings.Effective(Environment, ModuleState.ProcessMaxSize, MyInvocation.BoundParameters.ContainsKey(nameof(MaxSize)) ? MaxSize : null);
        }
    }

    protected override void Process()
    {
        if (ParameterSetName == HuggingFaceParameterSet)
        {
            ProcessHub();
            return;
        }

        var catalog = LoadCatalog(CatalogPath);
        foreach (var name in Name)
        {
            if (TryResolve(catalog, name) is not { } model || !_seen.Add(model.Name))
            {
                continue;
            }

            var target = ModelSaves.Admit(_store!, _quota!, model);
            if (target.Refusal is { } tooBig)
            {
                WriteFailure(tooBig, name);
                continue;
            }

            if (ShouldProcess($"{model.Name} ({target.Path})", "Save model"))
            {
                _pending.Add((model, name));
            }
        }
    }

    protected override void End()
    {
        if (ParameterSetName == HuggingFaceParameterSet)
        {
            SaveHubFiles();
            return;
        }

        if (_pending.Count == 0)
        {
            return;
        }

        WriteVerbose($"Cache root: {_store!.Root}");
        using var planner = CreateSourcePlanner(Mirror, BoundSwitch(nameof(Offline), Offline), BoundSwitch(nameof(MirrorOnly), MirrorOnly), NetworkOptions());
        var inputs = _pending.Select((p, index) => (p.Model.Name, Index: index, p.Input)).ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        var order = new InputOrder<(object? Output, Exception? Failure, string Input)>();
        var catalog = LoadCatalog(CatalogPath);
        RunAsync((bridge, token) =>
        {
            var progress = new ProgressWriter(this, bridge, "Saving models");
            var execution = new SaveExecution { ThrottleLimit = ThrottleLimit, Force = Force, Progress = progress, BatchProgress = progress.ReportBatch };
            return ModelSaves.SaveAsync(_store, catalog, _quota!, _pending.Select(p => p.Model).ToList(), planner, execution,
                (model, entry, failure) => bridge.Post(() => WriteSaved(order, inputs[model.Name].Index, AsSaved(entry), failure, inputs[model.Name].Input)), Reporter(bridge), token);
        });
    }

    // Save-Model's own view (where each model came from, how long it took) is chosen by this type name.
    private static PSObject? AsSaved(ModelCacheEntry? entry)
    {
        if (entry is null)
        {
            return null;
        }

        var output = PSObject.AsPSObject(entry);
        output.TypeNames.Insert(0, SavedTypeName);
        return output;
    }

    /// <summary>The type name of Save-Model's entries, for their table view; they are ModelCacheEntry objects.</summary>
    public const string SavedTypeName = "ModelCache.Store.ModelCacheEntry#Saved";

    // Results complete in any order; they are written in input order, each once those before it are written.
    private void WriteSaved(InputOrder<(object? Output, Exception? Failure, string Input)> order, int index, object? output, Exception? failure, string input)
    {
        foreach (var (dueOutput, dueFailure, dueInput) in order.Complete(index, (output, failure, input)))
        {
            if (dueOutput is not null)
            {
                WriteObject(dueOutput);
            }
            else if (dueFailure is ModelCacheException known)
            {
                WriteFailure(known, dueInput);
            }
            else
            {
                WriteError(ErrorRecords.Unexpected(dueFailure!, MyInvocation.MyCommand.Name));
            }
        }
    }

    private NetworkOptions NetworkOptions()
    {
        var network = SourcePolicy.CreateNetwork(Proxy is null ? null : new WebProxy(Proxy) { Credentials = ProxyCredential?.GetNetworkCredential() },
            Credential?.GetNetworkCredential(), RetryCount, TimeSpan.FromSeconds(TimeoutSec), MaxDownloadSize);
        network.ConnectionsPerHost = MyInvocation.BoundParameters.ContainsKey(nameof(ConnectionsPerHost)) ? ConnectionsPerHost : SourcePolicy.ConnectionsPerHostFrom(Environment);
        return network;
    }

    private void ProcessHub()
    {
        var repo = HubRepoId.Parse(HuggingFaceRepo); // HubRepoNameInvalid: nothing can be saved
        var root = ResolveHubRoot(CachePath);
        foreach (var path in File)
        {
            HubFileReference file;
            try
            {
                file = new HubFileReference(repo, path, Revision);
            }
            catch (ModelCacheException ex)
            {
                WriteFailure(ex, path);
                continue;
            }

            if (_hubSeen.Add(file.ToString()) && ShouldProcess($"{file} ({root})", "Save Hugging Face hub file"))
            {
                _hubPending.Add((file, path));
            }
        }
    }

    /// <summary>
    /// Downloads (or, offline, serves from the cache) each file into the hub cache, at most -ThrottleLimit at once,
    /// and writes its HubCacheEntry with the transfer attached as the Transfer and Source note properties: the
    /// entry itself, so it pipes into Test-ModelHash and Clear-ModelCache like a listed one.
    /// </summary>
    private void SaveHubFiles()
    {
        if (_hubPending.Count == 0)
        {
            return;
        }

        var settings = HubSettings.FromEnvironment(Environment, ResolveHubRoot(CachePath));
        if (BoundSwitch(nameof(Offline), Offline) is { } offline)
        {
            settings = settings.WithOffline(offline);
        }

        WriteVerbose($"Hub: {settings}");
        var inputs = _hubPending.Select((p, index) => (p.File, Index: index, p.Input)).ToDictionary(p => p.File);
        var order = new InputOrder<(object? Output, Exception? Failure, string Input)>();
        RunAsync((bridge, token) =>
        {
            var progress = new ProgressWriter(this, bridge, "Saving Hugging Face hub files");
            var execution = new SaveExecution { ThrottleLimit = ThrottleLimit, Force = Force, Progress = progress, BatchProgress = progress.ReportBatch };
            return ModelSaves.SaveHubFilesAsync(settings, NetworkOptions(), Environment, _hubPending.Select(p => p.File).ToList(), execution,
                (file, result, failure) => bridge.Post(() => WriteSaved(order, inputs[file].Index, result is null ? null : WithTransfer(result), failure, inputs[file].Input)), Reporter(bridge), token);
        });
    }

    private static PSObject WithTransfer(HubDownloadResult result)
    {
        var output = PSObject.AsPSObject(result.Entry);
        output.Properties.Add(new PSNoteProperty("Transfer", result.Transfer));
        output.Properties.Add(new PSNoteProperty("Source", result.Transfer.Source));
        return output;
    }
}
