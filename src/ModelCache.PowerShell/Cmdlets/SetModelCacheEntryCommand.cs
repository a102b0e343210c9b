using System;
using System.Management.Automation;
using ModelCache.Operations;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Store;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>Changes what is recorded about cached entries: pins them against eviction and unnamed removal, or unpins them.</summary>
[Cmdlet(VerbsCommon.Set, "ModelCacheEntry", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = NameParameterSet)]
[OutputType(typeof(ModelCacheEntry))]
public sealed class SetModelCacheEntryCommand : ModelCacheCmdlet
{
    private const string NameParameterSet = "Name";
    private const string InputObjectParameterSet = "InputObject";
    private const string NotPinnable = "pinning is kept for Native and Uniface cache entries only.";
    private const string PinInstead = "Use -Layout Native or Uniface; a hub cache's files are kept until 'Clear-ModelCache -Layout HuggingFace' removes them.";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = NameParameterSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>
    /// Also in the Name set: PowerShell binds a piped object to the default set first, where an entry's Name property
    /// would bind -Name and lose the entry's own root and catalog definition; bound here, the entry wins over its name.
    /// </summary>
    [Parameter(ValueFromPipeline = true, ParameterSetName = InputObjectParameterSet)]
    [Parameter(ValueFromPipeline = true, ParameterSetName = NameParameterSet)]
    [ValidateNotNull]
    public CachedFile[] InputObject { get; set; } = Array.Empty<CachedFile>();

    /// <summary>True pins the entry, false unpins it; left out, the entry is not changed.</summary>
    [Parameter]
    public bool Pinned { get; set; }

    [Parameter(ParameterSetName = NameParameterSet)]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    /// <summary>How the root is arranged (Native or Uniface); piped entries carry their own.</summary>
    [Parameter(ParameterSetName = NameParameterSet)]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void Process()
    {
        var catalog = LoadCatalog(CatalogPath);
        switch (ParameterSetName)
        {
            case InputObjectParameterSet:
            case NameParameterSet when InputObject.Length > 0:
                foreach (var file in InputObject)
                {
                    // A cached file of any layout binds, so that a hub file is refused by name rather than by a binding failure.
                    if (file is not ModelCacheEntry entry)
                    {
                        ThrowLayoutNotSupported(file.Layout.ToString(), $"'{file.Name}' is in a Hugging Face hub cache; {NotPinnable}", PinInstead);
                        return;
                    }

                    Apply(StoreOf(entry), catalog, entry, entry);
                }

                break;
            case NameParameterSet:
                if (IsHubLayout(Layout))
                {
                    ThrowLayoutNotSupported(Layout, NotPinnable, PinInstead);
                }

                var store = OpenStore(CachePath, ParseLayout(Layout));
                var entries = ListEntries(store, catalog);
                foreach (var name in Name)
                {
                    foreach (var entry in SelectEntries(catalog, entries, name, store.Root))
                    {
                        Apply(store, catalog, entry, name);
                    }
                }

                break;
            default:
                throw new PSInvalidOperationException($"Unknown parameter set '{ParameterSetName}'.");
        }
    }

    private void Apply(CacheStore store, ModelCatalog catalog, ModelCacheEntry entry, object target)
    {
        if (!MyInvocation.BoundParameters.ContainsKey(nameof(Pinned)))
        {
            if (PassThru)
            {
                WriteObject(entry);
            }

            return;
        }

        if (!ShouldProcess($"{entry.Name} ({entry.Path})", Pinned ? "Pin cached model" : "Unpin cached model"))
        {
            return;
        }

        try
        {
            var updated = RunAsync((_, token) => EntryPinning.SetAsync(store, catalog, entry, Pinned, token));
            WriteVerbose($"{(Pinned ? "Pinned" : "Unpinned")} {entry.Name} in '{store.Root}'.");
            if (PassThru)
            {
                WriteObject(updated);
            }
        }
        catch (ModelCacheException ex)
        {
            WriteFailure(ex, target);
        }
    }
}
