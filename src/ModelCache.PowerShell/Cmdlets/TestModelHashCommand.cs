using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Integrity;
using ModelCache.Operations;
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
    private bool _allValid = true;
    private bool _sawInput;

    [Parameter(Position = 0, ValueFromPipeline = true, ParameterSetName = NameParameterSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Cached files of any layout, as Get-ModelCache and Save-Model write them; each is checked in its own cache.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectParameterSet)]
    [ValidateNotNull]
    public CachedFile[] InputObject { get; set; } = Array.Empty<CachedFile>();

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
            case NameParameterSet when Name is not null:
                _sawInput = true;
                if (IsMissingRoot(CachePath))
                {
                    _allValid = false;
                    return;
                }

                var backend = OpenBackend(CachePath, Layout);
                IReadOnlyList<CachedFile>? listed = null;
                foreach (var name in Name)
                {
                    // A wildcard matches what is cached; a plain name is found without listing the whole cache.
                    var selected = WildcardMatcher.HasWildcard(name)
                        ? SelectFiles(backend, catalog, listed ??= ListFiles(backend, catalog), name)
                        : FindFiles(backend, catalog, name);
                    _allValid &= selected.Count > 0 || WildcardMatcher.HasWildcard(name);
                    foreach (var file in selected)
                    {
                        Check(backend, catalog, file, name);
                    }
                }

                break;
            case InputObjectParameterSet:
                _sawInput = true;
                foreach (var file in InputObject)
                {
                    Check(BackendOf(file), catalog, file, file);
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
        }
    }

    protected override void End()
    {
        // No argument and nothing piped: check the whole cache.
        if (!_sawInput && !MyInvocation.ExpectingInput && ParameterSetName == NameParameterSet)
        {
            if (IsMissingRoot(CachePath))
            {
                _allValid = false;
            }
            else
            {
                var catalog = LoadCatalog(CatalogPath);
                var backend = OpenBackend(CachePath, Layout);
                foreach (var file in ListFiles(backend, catalog))
                {
                    Check(backend, catalog, file, file);
                }
            }
        }

        if (Quiet)
        {
            WriteObject(_allValid);
        }
    }

    /// <summary>Hashes a cached file in its own cache, which records the outcome where it records checks (a catalog entry's metadata).</summary>
    private void Check(ICacheBackend backend, ModelCatalog catalog, CachedFile file, object target)
    {
        var verified = RunAsync((bridge, token) =>
        {
            var progress = new ProgressWriter(this, bridge, "Checking model hashes");
            return new VerifyOperation(backend, catalog).VerifyOneAsync(file, progress, token);
        });
        if (verified.Check is { } check)
        {
            Emit(check.Result, target, backend.RepairCommand(file));
            return;
        }

        _allValid = false;
        WriteFailure(verified.Failure!, target);
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
                return VerifyOperation.HashFileAsync(name, path, expected, progress, token);
            });
        }
        catch (Exception ex) when (CacheIOFailure.IsIOFailure(ex) && !StopToken.IsCancellationRequested)
        {
            _allValid = false;
            WriteFailure(CacheIOFailure.From(ex, name ?? path), target);
            return null;
        }
    }

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
