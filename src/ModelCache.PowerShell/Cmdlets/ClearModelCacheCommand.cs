using System;
using System.Linq;
using System.Management.Automation;
using ModelCache.Errors;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Store;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>Removes models from a cache: by name, from the pipeline, or everything with -All.</summary>
[Cmdlet(VerbsCommon.Clear, "ModelCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = NameParameterSet)]
[OutputType(typeof(ModelCacheEntry))]
public sealed class ClearModelCacheCommand : ModelCacheCmdlet
{
    private const string NameParameterSet = "Name";
    private const string InputObjectParameterSet = "InputObject";
    private const string AllParameterSet = "All";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = NameParameterSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectParameterSet)]
    [ValidateNotNull]
    public ModelCacheEntry[] InputObject { get; set; } = Array.Empty<ModelCacheEntry>();

    [Parameter(Mandatory = true, ParameterSetName = AllParameterSet)]
    public SwitchParameter All { get; set; }

    [Parameter(ParameterSetName = NameParameterSet)]
    [Parameter(ParameterSetName = AllParameterSet)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>Skips the extra confirmation -All asks for.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    [Parameter(ParameterSetName = NameParameterSet)]
    [Parameter(ParameterSetName = AllParameterSet)]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    /// <summary>How the root is arranged; each layout has its own default root. Piped entries carry their own.</summary>
    [Parameter(ParameterSetName = NameParameterSet)]
    [Parameter(ParameterSetName = AllParameterSet)]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    protected override void Process()
    {
        switch (ParameterSetName)
        {
            case NameParameterSet:
                var catalog = LoadCatalog(CatalogPath);
                var store = OpenStore(Path, ParseLayout(Layout));
                var entries = ListEntries(store, catalog);
                foreach (var name in Name)
                {
                    foreach (var entry in SelectEntries(catalog, entries, name, store.Root))
                    {
                        Remove(entry, name);
                    }
                }

                break;
            case InputObjectParameterSet:
                foreach (var entry in InputObject)
                {
                    Remove(entry, entry);
                }

                break;
            case AllParameterSet:
                ClearAll();
                break;
            default:
                throw new PSInvalidOperationException($"Unknown parameter set '{ParameterSetName}'.");
        }
    }

    private void ClearAll()
    {
        var store = OpenStore(Path, ParseLayout(Layout));
        var catalog = LoadCatalog(CatalogPath);
        var listed = ListEntries(store, catalog);

        // Files another tool's folder holds that no catalog knows may be that tool's own: only removed when named.
        var entries = listed.Where(store.MayRemoveUnnamed).ToList();
        if (entries.Count < listed.Count)
        {
            WriteVerbose($"Keeping {listed.Count - entries.Count} files no catalog knows in '{store.Root}'; name them to remove them.");
        }

        if (!ShouldProcess($"{store.Root} ({entries.Count} models)", "Remove every cached model"))
        {
            return;
        }

        // Clearing everything is high impact: unless -Force, -Confirm:$false or $ConfirmPreference
        // of None, ask once more even though the cmdlet's own impact is Medium.
        var confirmPreference = GetVariableValue("ConfirmPreference") is ConfirmImpact preference ? preference : ConfirmImpact.High;
        var confirmBound = MyInvocation.BoundParameters.ContainsKey("Confirm");
        if (!Force && !confirmBound && confirmPreference != ConfirmImpact.None &&
            !ShouldContinue($"Remove all {entries.Count} cached models from '{store.Root}'?", "Clear model cache"))
        {
            return;
        }

        for (var i = 0; i < entries.Count; i++)
        {
            WriteProgress(new ProgressRecord(1, "Clearing model cache", entries[i].Name) { PercentComplete = 100 * i / Math.Max(1, entries.Count) });
            Delete(entries[i], entries[i]);
        }

        var freed = RunAsync((_, token) => store.RemoveAbandonedDownloadsAsync(catalog, token));
        if (freed > 0)
        {
            WriteVerbose($"Removed abandoned partial downloads: {freed} bytes.");
        }

        WriteProgress(new ProgressRecord(1, "Clearing model cache", "Done") { RecordType = ProgressRecordType.Completed });
    }

    private void Remove(ModelCacheEntry entry, object target)
    {
        if (ShouldProcess($"{entry.Name} ({entry.Path})", "Remove cached model"))
        {
            Delete(entry, target);
        }
    }

    private void Delete(ModelCacheEntry entry, object target)
    {
        try
        {
            var store = StoreOf(entry);
            RunAsync((_, token) => store.RemoveAsync(entry, token));
            if (PassThru)
            {
                WriteObject(entry);
            }
        }
        catch (ModelCacheException ex)
        {
            WriteFailure(ex, target);
        }
    }
}
