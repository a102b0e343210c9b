using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Catalog;
using ModelCache.Integrity;
using ModelCache.Operations;
using ModelCache.Primitives;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Store;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Lists the models held in a cache root, sums it up with its health (-Summary), hashes every entry (-Verify), or, for a
/// Hugging Face hub cache, sums up each cached repo as <c>hf cache scan</c> does (-Repository).
/// </summary>
[Cmdlet(VerbsCommon.Get, "ModelCache", DefaultParameterSetName = ListParameterSet)]
[OutputType(typeof(ModelCacheEntry), ParameterSetName = new[] { ListParameterSet, VerifyParameterSet })]
[OutputType(typeof(HubCacheEntry), ParameterSetName = new[] { ListParameterSet, VerifyParameterSet })]
[OutputType(typeof(CacheSummary), ParameterSetName = new[] { SummaryParameterSet })]
[OutputType(typeof(HubCacheRepo), ParameterSetName = new[] { RepositoryParameterSet })]
public sealed class GetModelCacheCommand : ModelCacheCmdlet
{
    private const string ListParameterSet = "List";
    private const string SummaryParameterSet = "Summary";
    private const string VerifyParameterSet = "Verify";
    private const string RepositoryParameterSet = "Repository";
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(200);
    private readonly HashSet<string> _written = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<CachedFile> _toVerify = new();
    private ICacheBackend? _verifyBackend;

    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ListParameterSet)]
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = VerifyParameterSet)]
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = RepositoryParameterSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    /// <summary>How the root is arranged; each layout has its own default root.</summary>
    [Parameter]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    /// <summary>One object for the whole cache: sizes, counts, clutter, free space and a health verdict with its reasons.</summary>
    [Parameter(Mandatory = true, ParameterSetName = SummaryParameterSet)]
    public SwitchParameter Summary { get; set; }

    /// <summary>-Summary: a cache holding more bytes than this is Large.</summary>
    [Parameter(ParameterSetName = SummaryParameterSet)]
    [ValidateRange(1, long.MaxValue)]
    public long SizeThreshold { get; set; } = CacheHealthThresholds.DefaultMaxBytes;

    /// <summary>-Summary: a cache holding more files than this is Cluttered.</summary>
    [Parameter(ParameterSetName = SummaryParameterSet)]
    [ValidateRange(1, int.MaxValue)]
    public int FileCountThreshold { get; set; } = CacheHealthThresholds.DefaultMaxFiles;

    /// <summary>Hashes every listed entry (as Test-ModelHash does), several at once, and writes an error per corrupt one.</summary>
    [Parameter(Mandatory = true, ParameterSetName = VerifyParameterSet)]
    public SwitchParameter Verify { get; set; }

    /// <summary>With -Layout HuggingFace: one object per cached repo (size on disk, files, revisions and their refs, times) instead of its files.</summary>
    [Parameter(Mandatory = true, ParameterSetName = RepositoryParameterSet)]
    public SwitchParameter Repository { get; set; }

    /// <summary>-Verify: files hashed at once.</summary>
    [Parameter(ParameterSetName = VerifyParameterSet)]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = Math.Max(2, System.Environment.ProcessorCount);

    protected override void Process()
    {
        if (IsMissingRoot(CachePath))
        {
            return;
        }

        if (ParameterSetName == RepositoryParameterSet)
        {
            WriteRepos();
            return;
        }

        var catalog = LoadCatalog(CatalogPath);
        var backend = OpenBackend(CachePath, Layout);
        if (ParameterSetName == SummaryParameterSet)
        {
            WriteSummary(backend, catalog);
            return;
        }

        var files = ListFiles(backend, catalog);

        // Names piped in several records still list each file once.
        var selected = (Name is null ? files : Name.SelectMany(name => SelectFiles(backend, catalog, files, name))).Where(f => _written.Add(f.Name));
        if (ParameterSetName == VerifyParameterSet)
        {
            _verifyBackend = backend;
            _toVerify.AddRange(selected);
            return;
        }

        foreach (var file in selected)
        {
            WriteObject(file);
        }
    }

    protected override void End()
    {
        if (_verifyBackend is not null && _toVerify.Count > 0)
        {
            VerifyAll(_verifyBackend, LoadCatalog(CatalogPath));
        }
    }

    /// <summary>-Repository: each repo once, however many piped records name it; what the scan refused, one error each.</summary>
    private void WriteRepos()
    {
        if (!IsHubLayout(Layout))
        {
            ThrowLayoutNotSupported(Layout, "-Repository sums up the repositories of a Hugging Face hub cache; a Native or Uniface cache holds models, not repositories.",
                "Use 'Get-ModelCache -Layout HuggingFace -Repository', or 'Get-ModelCache -Summary' for this cache.");
        }

        var listing = new HubRepoListing(OpenBackend(CachePath, Layout));
        var problems = new List<(ModelCacheException Error, object Input)>();
        var repos = RunAsync((_, token) => listing.ListAsync(Name, problems, token));
        foreach (var (error, input) in problems)
        {
            WriteFailure(error, input);
        }

        foreach (var repo in repos.Where(r => _written.Add(r.RepoId.FolderName)))
        {
            WriteObject(repo);
        }
    }

    private void WriteSummary(ICacheBackend backend, ModelCatalog catalog)
    {
        var problems = new List<ModelCacheException>();
        var summary = backend.Summarize(catalog, new CacheHealthThresholds(SizeThreshold, FileCountThreshold), problems, StopToken);
        foreach (var problem in problems)
        {
            WriteFailure(problem, problem.Data["Path"] as string ?? backend.Root);
        }

        WriteObject(summary);
    }

    /// <summary>-Verify: one progress bar over the total bytes; files written as their checks end.</summary>
    private void VerifyAll(ICacheBackend backend, ModelCatalog catalog)
    {
        var totalBytes = _toVerify.Sum(e => e.Size);
        var activity = $"Verifying {_toVerify.Count} models ({ByteSize.Format(totalBytes)})";
        RunAsync((bridge, token) =>
        {
            var clock = Stopwatch.StartNew();
            var lastReport = -ProgressInterval;
            var gate = new object();
            var progress = new ActionProgress<long>(done =>
            {
                lock (gate)
                {
                    if (clock.Elapsed - lastReport < ProgressInterval)
                    {
                        return;
                    }

                    lastReport = clock.Elapsed;
                }

                var record = new ProgressRecord(1, activity, $"{ByteSize.Format(done)} of {ByteSize.Format(totalBytes)}")
                {
                    PercentComplete = totalBytes == 0 ? 100 : (int)Math.Min(100, 100 * done / totalBytes),
                };
                bridge.Post(() => WriteProgress(record));
            });
            return new VerifyOperation(backend, catalog).VerifyAllAsync(_toVerify, ThrottleLimit, progress, verified => bridge.Post(() => WriteVerified(backend, verified)), token);
        });
        WriteProgress(new ProgressRecord(1, activity, "Done") { RecordType = ProgressRecordType.Completed });
    }

    private void WriteVerified(ICacheBackend backend, FileVerification verified)
    {
        if (verified.Check is not { } check)
        {
            WriteError(ErrorRecords.From(verified.Failure!, verified.File));
            return;
        }

        WriteObject(verified.File);
        if (check.Result.Status == HashStatus.Unknown && backend.RepairCommand(verified.File) is null)
        {
            WriteWarning($"{verified.File.Name} is in no catalog, so there is nothing to verify '{verified.File.Path}' against.");
        }
        else if (ErrorRecords.ForHashResult(check.Result, verified.File, backend.RepairCommand(verified.File)) is { } error)
        {
            WriteError(error);
        }
    }
}
