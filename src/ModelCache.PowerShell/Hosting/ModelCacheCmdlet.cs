using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Locations;
using ModelCache.Operations;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Layouts;
using ModelCache.Transfer;

namespace ModelCache.PowerShell.Hosting;

/// <summary>
/// What every ModelCache cmdlet shares: binding the common parameters (cache root, layout, catalog files, mirrors,
/// names) to the Core operations that resolve them (<see cref="CacheStores"/>, <see cref="CatalogLoader"/>,
/// <see cref="SourcePolicy"/>, <see cref="CacheQuery"/>), Core exception to ErrorRecord mapping, confirmations, and
/// the bridge that runs async Core work while writing streams (and operation events) on the pipeline thread.
/// Nothing else. (The hub helpers go with the backend seam.)
/// </summary>
public abstract class ModelCacheCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private bool _reportedMissingRoot;
    private CatalogLoad? _catalog;

    /// <summary>This command's listings and name selections (a model reported unreadable is not "not cached" as well).</summary>
    private readonly CacheQuery _query = new();

    /// <summary>Cancelled when the user presses Ctrl+C (StopProcessing).</summary>
    protected CancellationToken StopToken => _stopping.Token;

    protected static IEnvironment Environment => SystemEnvironment.Instance;

    protected ModelCacheOptions EnvironmentOptions => ModelCacheOptions.FromEnvironment(Environment);

    public void Dispose()
    {
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }

    protected override void StopProcessing() => _stopping.Cancel();

    // Every cmdlet's work runs through Guarded, so that nothing reaches the user as a raw .NET exception.
    protected sealed override void BeginProcessing() => Guarded(Begin);

    protected sealed override void ProcessRecord() => Guarded(Process);

    protected sealed override void EndProcessing() => Guarded(End);

    /// <summary>The cmdlet's BeginProcessing.</summary>
    protected virtual void Begin()
    {
    }

    /// <summary>The cmdlet's ProcessRecord.</summary>
    protected virtual void Process()
    {
    }

    /// <summary>The cmdlet's EndProcessing.</summary>
    protected virtual void End()
    {
    }

    /// <summary>The effective cache root; <paramref name="explicitPath"/> is a PowerShell path from -Path.</summary>
    protected CacheLocation ResolveLocation(string? explicitPath) => Stores.ResolveRoot(FullPath(explicitPath));

    /// <summary>Where <paramref name="model"/>'s file lives and the rule that chose it (see <see cref="CacheStores"/>).</summary>
    protected CacheLocation ResolveModelLocation(ModelDefinition model, string? explicitPath = null) => Stores.ResolveModelLocation(model, FullPath(explicitPath));

    /// <summary>The store over <paramref name="layout"/> at -Path, or at that layout's default root (see <see cref="CacheStores"/>).</summary>
    protected CacheStore OpenStore(string? explicitPath, CacheLayoutKind layout = CacheLayoutKind.Native) => Stores.Open(FullPath(explicitPath), layout);

    /// <summary>The store a piped entry belongs to.</summary>
    protected CacheStore StoreOf(ModelCacheEntry entry) => Stores.Of(entry);

    private CacheStores Stores => new(LayoutResolver());

    private string? FullPath(string? path) => string.IsNullOrEmpty(path) ? null : GetUnresolvedProviderPathFromPSPath(path);

    /// <summary>
    /// True when <paramref name="explicitPath"/> (a -CachePath the user gave) names no folder, after writing one
    /// CacheRootNotFound error for the whole command: a typo is not a cache that happens to be empty.
    /// </summary>
    protected bool IsMissingRoot(string? explicitPath)
    {
        if (string.IsNullOrEmpty(explicitPath))
        {
            return false;
        }

        var resolved = GetUnresolvedProviderPathFromPSPath(explicitPath);
        if (System.IO.Directory.Exists(resolved))
        {
            return false;
        }

        if (!_reportedMissingRoot)
        {
            _reportedMissingRoot = true;
            WriteError(ErrorRecords.Create("CacheRootNotFound", ErrorCategory.ObjectNotFound,
                $"The cache root '{resolved}' does not exist.",
                "Check the -CachePath value; 'Get-ModelCacheLocation' shows the cache roots in use.", explicitPath));
        }

        return true;
    }

    /// <summary>
    /// The file-system paths a wildcard <paramref name="path"/> matches. Matching nothing is one <paramref name="notFoundId"/>
    /// error ("No <paramref name="noun"/> matches ..."), another provider's path one NotAFileSystemPath error; both give no paths.
    /// </summary>
    protected IReadOnlyList<string> ResolveWildcardPath(string path, string notFoundId, string noun)
    {
        try
        {
            var files = GetResolvedProviderPathFromPSPath(path, out var provider);
            if (provider.Name == "FileSystem")
            {
                return files;
            }

            WriteError(ErrorRecords.Create("NotAFileSystemPath", ErrorCategory.InvalidArgument, $"'{path}' is not a file-system path.", null, path));
        }
        catch (Exception ex) when (ex is ItemNotFoundException or DriveNotFoundException or ProviderNotFoundException)
        {
            WriteError(ErrorRecords.Create(notFoundId, ErrorCategory.ObjectNotFound, $"No {noun} matches '{path}'.", "Check the path.", path, ex));
        }

        return Array.Empty<string>();
    }

    /// <summary>
    /// A -Layout value. Cmdlets take the layout as a validated string: a property of a Core enum type would make
    /// PowerShell load the Core assembly while it reflects over the cmdlets, before the module's resolver is set.
    /// </summary>
    protected static CacheLayoutKind ParseLayout(string layout) => (CacheLayoutKind)Enum.Parse(typeof(CacheLayoutKind), layout, ignoreCase: true);

    /// <summary>Lists a cache, writing one non-terminating error for each thing skipped or not trusted on the way (see <see cref="CacheQuery"/>).</summary>
    protected IReadOnlyList<ModelCacheEntry> ListEntries(CacheStore store, ModelCatalog catalog) =>
        RunAsync((bridge, token) => _query.ListAsync(store, catalog, Reporter(bridge), token));

    /// <summary>Catalog models a user-typed name selects; writes the error when a plain name selects nothing.</summary>
    protected IReadOnlyList<ModelDefinition> SelectModels(ModelCatalog catalog, string name) => _query.SelectModels(catalog, name, Reporter());

    /// <summary>Cached entries a user-typed name selects; writes the error when a plain name selects nothing.</summary>
    protected IReadOnlyList<ModelCacheEntry> SelectEntries(ModelCatalog catalog, IReadOnlyList<ModelCacheEntry> entries, string name, string cacheRoot) =>
        _query.SelectEntries(catalog, entries, name, cacheRoot, Reporter());

    /// <summary>The backend over -Layout at -CachePath (a PowerShell path), or at that layout's default root.</summary>
    protected ICacheBackend OpenBackend(string? explicitPath, string layout) =>
        Backends.Open(ParseLayout(layout), string.IsNullOrEmpty(explicitPath) ? null : GetUnresolvedProviderPathFromPSPath(explicitPath));

    /// <summary>The backend a piped file came from: its own root and layout.</summary>
    protected ICacheBackend BackendOf(CachedFile file) => Backends.For(file);

    private protected static CacheBackends Backends => new(LayoutResolver(), Environment);

    /// <summary>The hub cache root: -CachePath when given, else HF_HUB_CACHE / HUGGINGFACE_HUB_CACHE / HF_HOME as huggingface_hub resolves it.</summary>
    protected string ResolveHubRoot(string? explicitPath) => OpenBackend(explicitPath, nameof(CacheLayoutKind.HuggingFace)).Root;

    /// <summary>
    /// The files a -Path/-LiteralPath pair names, as PowerShell's own cmdlets resolve them: -LiteralPath as given, -Path with
    /// its wildcards expanded. A -Path without wildcards that names nothing is kept, so the cmdlet refuses it with its own
    /// error id rather than a provider error.
    /// </summary>
    protected IEnumerable<(string Input, string File)> ResolveItemPaths(string[]? path, string[]? literalPath)
    {
        foreach (var literal in literalPath ?? Array.Empty<string>())
        {
            yield return (literal, GetUnresolvedProviderPathFromPSPath(literal));
        }

        foreach (var input in path ?? Array.Empty<string>())
        {
            if (WildcardPattern.ContainsWildcardCharacters(input))
            {
                foreach (var file in GetResolvedProviderPathFromPSPath(input, out _))
                {
                    yield return (input, file);
                }
            }
            else
            {
                yield return (input, GetUnresolvedProviderPathFromPSPath(input));
            }
        }
    }

    /// <summary>
    /// Stops the command with LayoutNotSupported: every cache cmdlet takes the same -Layout values, and one a cmdlet cannot
    /// serve yet is refused up front, saying what to use instead.
    /// </summary>
    protected void ThrowLayoutNotSupported(string layout, string what, string instead) =>
        ThrowTerminatingError(ErrorRecords.Create("LayoutNotSupported", ErrorCategory.InvalidArgument,
            $"{MyInvocation.MyCommand.Name} -Layout {layout}: {what}", instead, layout));

    /// <summary>True when a -Layout value names the Hugging Face hub cache, which the catalog-only cmdlets refuse (see <see cref="ThrowLayoutNotSupported"/>).</summary>
    protected static bool IsHubLayout(string layout) => string.Equals(layout, "HuggingFace", StringComparison.OrdinalIgnoreCase);


    /// <summary>
    /// Lists a cache of any layout, writing one non-terminating error for each thing skipped or not trusted on the way
    /// (a link, tampered metadata, a hub file in a bad place), targeting its path when known; the listing goes on.
    /// </summary>
    protected IReadOnlyList<CachedFile> ListFiles(ICacheBackend backend, ModelCatalog catalog) =>
        RunAsync((bridge, token) => _query.ListFilesAsync(backend, catalog, Reporter(bridge), token));

    /// <summary>Cached files a user-typed name selects (the one rule, <see cref="NameSelector.SelectFiles"/>); writes the error when a plain name selects nothing.</summary>
    protected IReadOnlyList<CachedFile> SelectFiles(ICacheBackend backend, ModelCatalog catalog, IReadOnlyList<CachedFile> files, string name) =>
        _query.SelectFiles(backend, catalog, files, name, Reporter());

    /// <summary>The files a plain name selects, found without listing the whole cache (<see cref="ICacheBackend.FindAsync"/>); writes the error when it selects nothing.</summary>
    protected IReadOnlyList<CachedFile> FindFiles(ICacheBackend backend, ModelCatalog catalog, string name) =>
        RunAsync((bridge, token) => _query.FindFilesAsync(backend, catalog, name, Reporter(bridge), token));

    private protected static CacheLayoutResolver LayoutResolver() =>
        new(Environment, SettingsStore.ForUser(Environment), ModuleState.ProcessCacheRoot, SettingsStore.ForAllUsers(Environment), ModuleState.ProcessModelLocations);

    /// <summary>The user's own catalog file (catalog.json beside settings.json), where imported bundles' entries are kept.</summary>
    protected static UserCatalogFile UserCatalog => UserCatalogFile.ForEnvironment(Environment);

    /// <summary>
    /// Built-in catalog merged with registered catalogs (AllUsers, then User), the user's catalog.json, $env:MODELCACHE_CATALOG
    /// files, then <paramref name="catalogPaths"/> (see <see cref="CatalogSources"/>). Terminates on a bad file, except a
    /// registered one, which is a warning naming it while the rest load.
    /// </summary>
    protected ModelCatalog LoadCatalog(IEnumerable<string>? catalogPaths) => LoadCatalogSources(catalogPaths, listing: false).Catalog;

    /// <summary>The merged catalog and its sources; <paramref name="listing"/> (Get-ModelCatalog -Source) reports every unreadable file in its source instead.</summary>
    protected CatalogLoad LoadCatalogSources(IEnumerable<string>? catalogPaths, bool listing)
    {
        if (_catalog is not null)
        {
            return _catalog;
        }

        try
        {
            _catalog = CatalogLoader.Load(Environment, GetUnresolvedProviderPathFromPSPath, catalogPaths, listing, Reporter(), ModuleState.ProcessCatalogs);
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, CatalogLoader.NamedFiles(Environment, GetUnresolvedProviderPathFromPSPath, catalogPaths, ModuleState.ProcessCatalogs)));
        }

        return _catalog!;
    }

    /// <summary>Resolves a user-typed model name, writing a non-terminating error and returning null when it fails.</summary>
    protected ModelDefinition? TryResolve(ModelCatalog catalog, string name)
    {
        try
        {
            return catalog.Resolve(name);
        }
        catch (ModelNameException ex)
        {
            WriteError(ErrorRecords.From(ex, name));
            return null;
        }
    }

    /// <summary>
    /// Sources for saving models: each setting from its parameter where given (<paramref name="offline"/>
    /// and <paramref name="mirrorOnly"/> are null when not bound), from the environment otherwise;
    /// MODELCACHE_TOKEN becomes the mirror credential unless one is given.
    /// </summary>
    protected SourcePlanner CreateSourcePlanner(string[]? mirrors, bool? offline, bool? mirrorOnly, NetworkOptions? network = null) =>
        ResolveSources(mirrors, offline, mirrorOnly, network).CreatePlanner(Reporter());

    /// <summary>The source settings of <see cref="CreateSourcePlanner"/>, for an operation that creates the planner when it needs one.</summary>
    protected SourcePolicy ResolveSources(string[]? mirrors, bool? offline, bool? mirrorOnly, NetworkOptions? network = null) =>
        SourcePolicy.Resolve(Environment, mirrors, GetUnresolvedProviderPathFromPSPath, offline, mirrorOnly, network);

    /// <summary>A switch's value when the user bound it, null when left to the environment.</summary>
    protected bool? BoundSwitch(string parameterName, SwitchParameter value) =>
        MyInvocation.BoundParameters.ContainsKey(parameterName) ? value.IsPresent : null;

    /// <summary>An operation's events written to this cmdlet's streams: at once, or through <paramref name="bridge"/> from async work.</summary>
    private protected IOperationEvents Reporter(PipelineBridge? bridge = null) => new CmdletEvents(this, bridge);

    /// <summary>True under -WhatIf (or $WhatIfPreference), when ShouldProcess only says what would happen.</summary>
    protected bool WhatIfMode => MyInvocation.BoundParameters.TryGetValue("WhatIf", out var bound)
        ? LanguagePrimitives.IsTrue(bound)
        : LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));

    protected void WriteFailure(ModelCacheException exception, object? target) => WriteError(ErrorRecords.From(exception, target));

    // Every confirmation goes through these: a prompt in a session that cannot prompt (pwsh -NonInteractive throws
    // PSInvalidOperationException, a host without UI HostException) is the caller's setup, not a bug in ModelCache,
    // so it becomes ConfirmationRequired, saying how to answer in advance.
    protected new bool ShouldProcess(string target) => Confirming(() => base.ShouldProcess(target), target, null, "-Confirm:$false");

    protected new bool ShouldProcess(string target, string action) => Confirming(() => base.ShouldProcess(target, action), target, action, "-Confirm:$false");

    protected new bool ShouldProcess(string verboseDescription, string? verboseWarning, string? caption) =>
        Confirming(() => base.ShouldProcess(verboseDescription, verboseWarning, caption), verboseDescription, null, "-Confirm:$false");

    /// <summary>
    /// The extra question before a high-impact step (clearing everything), asked even though the cmdlet's own impact is lower:
    /// unless <paramref name="force"/>, -Confirm (bound either way) or $ConfirmPreference of None answers it in advance.
    /// </summary>
    protected bool ConfirmHighImpact(string query, string caption, bool force)
    {
        var confirmPreference = GetVariableValue("ConfirmPreference") is ConfirmImpact preference ? preference : ConfirmImpact.High;
        return force || MyInvocation.BoundParameters.ContainsKey("Confirm") || confirmPreference == ConfirmImpact.None || ShouldContinue(query, caption);
    }

    /// <summary>The extra question before a high-impact step, which -Force (or -Confirm:$false) answers in advance.</summary>
    protected new bool ShouldContinue(string query, string caption) => Confirming(() => base.ShouldContinue(query, caption), query, null, "-Force or -Confirm:$false");

    private bool Confirming(Func<bool> ask, string target, string? action, string answer)
    {
        try
        {
            return ask();
        }
        catch (Exception ex) when (ex is PSInvalidOperationException or System.Management.Automation.Host.HostException)
        {
            var what = action is null ? $"'{target}'" : $"{action} '{target}'";
            ThrowTerminatingError(ErrorRecords.Create("ConfirmationRequired", ErrorCategory.InvalidOperation,
                $"{MyInvocation.MyCommand.Name} needs a confirmation ({what}), but this session cannot prompt: {ex.Message}",
                $"Add {answer} to the command to confirm in advance (run it with -WhatIf first to see what it would do).", target, ex));
            throw; // not reached: ThrowTerminatingError always throws
        }
    }

    /// <summary>
    /// Runs async Core work. Anything the work posts to the bridge (progress, warnings, output)
    /// is written here on the pipeline thread; Ctrl+C cancels the token the work receives.
    /// </summary>
    private protected T RunAsync<T>(Func<PipelineBridge, CancellationToken, Task<T>> work)
    {
        var bridge = new PipelineBridge();
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(StopToken);
        var task = Task.Run(() => work(bridge, abandon.Token), abandon.Token);
        try
        {
            return bridge.Run(task);
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (Exception) when (!task.IsCompleted)
        {
            // A write on the pipeline thread threw (Select-Object -First stopping upstream, a terminating error):
            // the work must not outlive the cmdlet, or a server would go on serving inside the process.
            abandon.Cancel();
            try
            {
                task.Wait();
            }
            catch (AggregateException)
            {
            }

            throw;
        }
    }

    /// <summary>
    /// The one catch-all: a Core failure that escaped the cmdlet becomes its error record, anything else
    /// unexpected an error record with an id of its own (<see cref="ErrorRecords.Unexpected"/>), the
    /// exception kept inside. PowerShell's own exceptions (stops, error records already made) pass.
    /// </summary>
    private void Guarded(Action step)
    {
        try
        {
            step();
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, null));
        }
        catch (Exception ex) when (ex is not RuntimeException and not PipelineStoppedException and not OperationCanceledException and not OutOfMemoryException)
        {
            ThrowTerminatingError(ErrorRecords.Unexpected(ex, MyInvocation.MyCommand.Name));
        }
    }

    private protected void RunAsync(Func<PipelineBridge, CancellationToken, Task> work) =>
        RunAsync<bool>(async (bridge, token) =>
        {
            await work(bridge, token).ConfigureAwait(false);
            return true;
        });
}
