using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Integrity;
using ModelCache.Primitives;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Store;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>Lists the models held in a cache root, sums it up with its health (-Summary), or hashes every entry (-Verify).</summary>
[Cmdlet(VerbsCommon.Get, "ModelCache", DefaultParameterSetName = ListParameterSet)]
[OutputType(typeof(ModelCacheEntry), ParameterSetName = new[] { ListParameterSet, VerifyParameterSet })]
[OutputType(typeof(HubCacheEntry), ParameterSetName = new[] { ListParameterSet })]
[OutputType(typeof(CacheSummary), ParameterSetName = new[] { SummaryParameterSet })]
public sealed class GetModelCacheCommand : ModelCacheCmdlet
{
    private const string ListParameterSet = "List";
    private const string SummaryParameterSet = "Summary";
    private const string VerifyParameterSet = "Verify";
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(200);
    private readonly HashSet<string> _written = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<ModelCacheEntry> _toVerify = new();
    private CacheStore? _verifyStore;

    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ListParameterSet)]
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = VerifyParameterSet)]
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

        if (IsHubLayout(Layout))
        {
            if (ParameterSetName != ListParameterSet)
            {
                ThrowTerminatingError(ErrorRecords.Create("LayoutNotSupported", ErrorCategory.InvalidArgument,
                    $"-{ParameterSetName} is not available for the Hugging Face hub cache.",
                    "Use 'Get-ModelCache -Layout HuggingFace' to list it and 'Test-ModelHash -Layout HuggingFace' to verify it.", Layout));
            }

            ProcessHub();
            return;
        }

        var catalog = LoadCatalog(CatalogPath);
        var store = OpenStore(CachePath, ParseLayout(Layout));
        if (ParameterSetName == SummaryParameterSet)
        {
            WriteSummary(store, catalog);
            return;
        }

        var entries = ListEntries(store, catalog);
        var selected = Name is null
            ? entries.Where(e => _written.Add(e.Name))
            : Name.SelectMany(name => SelectEntries(catalog, entries, name, store.Root)).Where(e => _written.Add(e.Name));

        // Names piped in several records still list each entry once.
        if (ParameterSetName == VerifyParameterSet)
        {
            _verifyStore = store;
            _toVerify.AddRange(selected);
            return;
        }

        foreach (var entry in selected)
        {
            WriteObject(entry);
        }
    }

    protected override void End()
    {
        if (_verifyStore is not null && _toVerify.Count > 0)
        {
            VerifyAll(_verifyStore, LoadCatalog(CatalogPath));
        }
    }

    private void WriteSummary(CacheStore store, Catalog.ModelCatalog catalog)
    {
        var problems = new List<ModelCacheException>();
        var summary = new CacheInspector(store).Summarize(catalog, new CacheHealthThresholds(SizeThreshold, FileCountThreshold), problems, StopToken);
        foreach (var problem in problems)
        {
            WriteFailure(problem, store.Root);
        }

        WriteObject(summary);
    }

    /// <summary>-Verify: one progress bar over the total bytes; entries written as their checks end.</summary>
    private void VerifyAll(CacheStore store, Catalog.ModelCatalog catalog)
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
            return new CacheVerifier(store, catalog).VerifyAsync(_toVerify, ThrottleLimit, progress, verified => bridge.Post(() => WriteVerified(verified)), token);
        });
        WriteProgress(new ProgressRecord(1, activity, "Done") { RecordType = ProgressRecordType.Completed });
    }

    private void WriteVerified(EntryVerification verified)
    {
        if (verified.Result is null)
        {
            WriteError(ErrorRecords.From(verified.Failure!, verified.Entry));
            return;
        }

        WriteObject(verified.Entry);
        if (verified.Result.Status == HashStatus.Unknown)
        {
            WriteWarning($"{verified.Entry.Name} is in no catalog, so there is nothing to verify '{verified.Entry.Path}' against.");
        }
        else if (ErrorRecords.ForHashResult(verified.Result, verified.Entry) is { } error)
        {
            WriteError(error);
        }
    }

    /// <summary>-Layout HuggingFace: the files of every cached revision, each listed once however many names select it.</summary>
    private void ProcessHub()
    {
        var root = ResolveHubRoot(CachePath);
        var entries = ScanHub(root);
        var selected = Name is null ? entries : Name.SelectMany(name => SelectHubEntries(entries, name, root));
        foreach (var entry in selected.Where(e => _written.Add(e.CacheRoot + "|" + e.Name)))
        {
            WriteObject(entry);
        }
    }
}
