using System;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Integrity;
using ModelCache.Primitives;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Store;
using ModelCache.Transfer;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Checks SHA-256 of cached models or arbitrary files. Writes a result per file and a
/// non-terminating error per failure, so <c>$?</c> and <c>-ErrorAction Stop</c> work in jobs.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "ModelHash", DefaultParameterSetName = NameParameterSet)]
[OutputType(typeof(ModelHashResult))]
[OutputType(typeof(bool))]
public sealed class TestModelHashCommand : ModelCacheCmdlet
{
    private const string NameParameterSet = "Name";
    private const string InputObjectParameterSet = "InputObject";
    private const string PathParameterSet = "Path";
    private const string LiteralPathParameterSet = "LiteralPath";
    private const string HubEntryParameterSet = "HubEntry";
    private bool _allValid = true;
    private bool _sawInput;

    [Parameter(Position = 0, ValueFromPipeline = true, ParameterSetName = NameParameterSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectParameterSet)]
    [ValidateNotNull]
    public ModelCacheEntry[] InputObject { get; set; } = Array.Empty<ModelCacheEntry>();

    /// <summary>Hugging Face hub cache entries, as Get-ModelCache -Layout HuggingFace and Save-Model -HuggingFaceRepo write them.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = HubEntryParameterSet)]
    [ValidateNotNull]
    public HubCacheEntry[] HubEntry { get; set; } = Array.Empty<HubCacheEntry>();

    /// <summary>Model files to check, by path; wildcards are expanded as Get-Item does.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PathParameterSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathParameterSet)]
    [Alias("PSPath", "FullName")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Expected hash for files the catalog does not know.</summary>
    [Parameter(ParameterSetName = PathParameterSet)]
    [Parameter(ParameterSetName = LiteralPathParameterSet)]
    [ValidatePattern("^[0-9a-fA-F]{64}$")]
    public string? Sha256 { get; set; }

    [Parameter]
    public SwitchParameter Quiet { get; set; }

    [Parameter(ParameterSetName = NameParameterSet)]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    /// <summary>How the root is arranged; each layout has its own default root. Piped entries carry their own.</summary>
    [Parameter(ParameterSetName = NameParameterSet)]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    protected override void Process()
    {
        var catalog = LoadCatalog(CatalogPath);
        switch (ParameterSetName)
        {
            case NameParameterSet:
                if (Name is null)
                {
                    return;
                }

                _sawInput = true;
                if (IsMissingRoot(CachePath))
                {
                    _allValid = false;
                    return;
                }

                if (IsHubLayout(Layout))
                {
                    CheckHubNames(Name);
                    break;
                }

                var store = OpenStore(CachePath, ParseLayout(Layout));
                var entries = Name.Any(WildcardMatcher.HasWildcard) ? ListEntries(store, catalog) : Array.Empty<ModelCacheEntry>();
                foreach (var name in Name)
                {
                    if (WildcardMatcher.HasWildcard(name))
                    {
                        foreach (var entry in SelectEntries(catalog, entries, name, store.Root))
                        {
                            CheckEntry(catalog, entry, name);
                        }
                    }
                    else if (TryResolve(catalog, name) is { } model)
                    {
                        CheckCached(store, model.Name, store.GetModelPath(model), model, name);
                    }
                    else
                    {
                        _allValid = false;
                    }
                }

                break;
            case InputObjectParameterSet:
                _sawInput = true;
                foreach (var entry in InputObject)
                {
                    CheckEntry(catalog, entry, entry);
                }

                break;
            case HubEntryParameterSet:
                _sawInput = true;
                foreach (var entry in HubEntry)
                {
                    CheckHubEntry(entry, entry);
                }

                break;
            case PathParameterSet:
            case LiteralPathParameterSet:
                _sawInput = true;
                foreach (var (input, file) in ParameterSetName == PathParameterSet ? ResolveItemPaths(Path, null) : ResolveItemPaths(null, LiteralPath))
                {
                    CheckFile(catalog, file, input);
                }

                break;
            default:
                throw new PSInvalidOperationException($"Unknown parameter set '{ParameterSetName}'.");
        }
    }

    protected override void End()
    {
        if (!_sawInput && !MyInvocation.ExpectingInput && ParameterSetName == NameParameterSet && IsMissingRoot(CachePath))
        {
            _allValid = false;
        }
        // No argument and nothing piped: check the whole cache.
        else if (!_sawInput && !MyInvocation.ExpectingInput && ParameterSetName == NameParameterSet && IsHubLayout(Layout))
        {
            foreach (var entry in ScanHub(ResolveHubRoot(CachePath)))
            {
                CheckHubEntry(entry, entry);
            }
        }
        else if (!_sawInput && !MyInvocation.ExpectingInput && ParameterSetName == NameParameterSet)
        {
            var catalog = LoadCatalog(CatalogPath);
            var store = OpenStore(CachePath, ParseLayout(Layout));
            foreach (var entry in ListEntries(store, catalog))
            {
                CheckEntry(catalog, entry, entry);
            }
        }

        if (Quiet)
        {
            WriteObject(_allValid);
        }
    }

    private void CheckEntry(ModelCatalog catalog, ModelCacheEntry entry, object target)
    {
        CheckCached(StoreOf(entry), entry.Name, entry.Path, catalog.DefinitionOf(entry), target);
    }

    /// <summary>Checks a cached file and records the outcome in its metadata, so Get-ModelCache shows it.</summary>
    private void CheckCached(CacheStore store, string name, string path, ModelDefinition? model, object target)
    {
        if (model is not null)
        {
            try
            {
                store.EnsureContained(model);
            }
            catch (ModelCacheException ex)
            {
                _allValid = false;
                WriteFailure(ex, target);
                return;
            }
        }

        if (Verify(name, path, model?.Sha256, target) is not { } result)
        {
            return;
        }

        if (model is not null && result.Status != HashStatus.Missing)
        {
            // Best-effort: a read-only cache is checked all the same.
            RunAsync((_, token) => store.TryRecordCheckAsync(model, result, token));
        }

        Emit(result, target);
    }

    private void CheckHubNames(string[] names)
    {
        var root = ResolveHubRoot(CachePath);
        var entries = ScanHub(root);
        foreach (var name in names)
        {
            var selected = SelectHubEntries(entries, name, root);
            if (selected.Count == 0 && !WildcardMatcher.HasWildcard(name))
            {
                _allValid = false;
            }

            foreach (var entry in selected)
            {
                CheckHubEntry(entry, name);
            }
        }
    }

    /// <summary>Hashes a hub blob against its name (SHA-256, or git blob SHA-1 for small files). Nothing is written to the hub cache.</summary>
    private void CheckHubEntry(HubCacheEntry entry, object target)
    {
        ModelHashResult result;
        try
        {
            result = RunAsync((bridge, token) =>
            {
                var progress = new ProgressWriter(this, bridge, "Checking model hashes");
                var bytes = new ActionProgress<long>(done => progress.Report(new TransferProgress(entry.Name, TransferPhase.Verifying, done, entry.Size, entry.BlobPath)));
                return HubCacheVerifier.VerifyAsync(entry, bytes, token);
            });
        }
        catch (ModelCacheException ex)
        {
            _allValid = false;
            WriteFailure(ex, target);
            return;
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex) && !StopToken.IsCancellationRequested)
        {
            _allValid = false;
            WriteFailure(CacheIOFailure.From(ex, entry.Name), target);
            return;
        }

        Emit(result, target, $"Save-Model -HuggingFaceRepo {entry.Repo} -File '{entry.FilePath}' -Revision {entry.Revision} -Force");
    }

    private void CheckFile(ModelCatalog catalog, string path, object target)
    {
        if (Sha256 is not null)
        {
            if (Verify(null, path, Sha256, target) is { } checkedAgainstSha256)
            {
                Emit(checkedAgainstSha256, target);
            }

            return;
        }

        // A file the catalog knows by name is checked against that entry; one of several
        // same-named entries is accepted when its hash matches.
        var candidates = catalog.FindByFileName(System.IO.Path.GetFileName(path));
        if (Verify(candidates.FirstOrDefault()?.Name, path, candidates.FirstOrDefault()?.Sha256, target) is not { } result)
        {
            return;
        }

        var matching = candidates.FirstOrDefault(c => c.Sha256 == result.Actual);
        if (matching is not null && matching != candidates[0])
        {
            result = new ModelHashResult(matching.Name, path, matching.Sha256, result.Actual, HashStatus.Valid);
        }

        Emit(result, target);
    }

    /// <returns>The outcome, or null when the file could not be hashed at all (a directory or FIFO in its place): that error is written.</returns>
    private ModelHashResult? Verify(string? name, string path, string? expected, object target)
    {
        try
        {
            return RunAsync((bridge, token) =>
            {
                var progress = new ProgressWriter(this, bridge, "Checking model hashes");
                var total = System.IO.File.Exists(path) ? new System.IO.FileInfo(path).Length : 0;
                var bytes = new ActionProgress<long>(done => progress.Report(new TransferProgress(name ?? path, TransferPhase.Verifying, done, total, path)));
                return VerifyWithRecordAsync(name, path, expected, bytes, token);
            });
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex) && !StopToken.IsCancellationRequested)
        {
            _allValid = false;
            WriteFailure(CacheIOFailure.From(ex, name ?? path), target);
            return null;
        }
    }

    /// <summary>Always a full hash (that is what Test-ModelHash is for), recorded so a use of the file after it needs none.</summary>
    private static async System.Threading.Tasks.Task<ModelHashResult> VerifyWithRecordAsync(string? name, string path, string? expected, IProgress<long> bytes, System.Threading.CancellationToken token) =>
        (await FileVerifier.Process.VerifyAsync(name, path, expected, VerifyPolicy.HashAlways, null, bytes, token).ConfigureAwait(false)).Result;

    /// <param name="result">The check's outcome.</param>
    /// <param name="target">The user's input, the error records' target.</param>
    /// <param name="repair">The command that fetches a good copy, when it is not 'Save-Model &lt;Name&gt;' (hub files).</param>
    private void Emit(ModelHashResult result, object target, string? repair = null)
    {
        if (!result.IsValid)
        {
            _allValid = false;
        }

        if (Quiet)
        {
            return;
        }

        WriteObject(result);
        if (ErrorRecords.ForHashResult(result, target, repair) is { } error)
        {
            WriteError(error);
        }
    }
}
