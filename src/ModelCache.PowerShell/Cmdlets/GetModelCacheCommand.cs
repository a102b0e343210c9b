using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ModelCache.Catalog;
using ModelCache.HuggingFace;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Store;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>Lists the models held in a cache root.</summary>
[Cmdlet(VerbsCommon.Get, "ModelCache")]
[OutputType(typeof(ModelCacheEntry))]
[OutputType(typeof(HubCacheEntry))]
public sealed class GetModelCacheCommand : ModelCacheCmdlet
{
    private readonly HashSet<string> _written = new(StringComparer.OrdinalIgnoreCase);

    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    /// <summary>How the root is arranged; each layout has its own default root.</summary>
    [Parameter]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    protected override void Process()
    {
        if (IsHubLayout(Layout))
        {
            ProcessHub();
            return;
        }

        var catalog = LoadCatalog(CatalogPath);
        var store = OpenStore(Path, ParseLayout(Layout));
        var entries = ListEntries(store, catalog);
        if (Name is null)
        {
            WriteObject(entries.Where(e => _written.Add(e.Name)), enumerateCollection: true);
            return;
        }

        foreach (var name in Name)
        {
            // Names piped in several records still list each entry once.
            foreach (var entry in SelectEntries(catalog, entries, name, store.Root).Where(e => _written.Add(e.Name)))
            {
                WriteObject(entry);
            }
        }
    }

    /// <summary>-Layout HuggingFace: the files of every cached revision, each listed once however many names select it.</summary>
    private void ProcessHub()
    {
        var root = ResolveHubRoot(Path);
        var entries = ScanHub(root);
        var selected = Name is null ? entries : Name.SelectMany(name => SelectHubEntries(entries, name, root));
        foreach (var entry in selected.Where(e => _written.Add(e.CacheRoot + "|" + e.Name)))
        {
            WriteObject(entry);
        }
    }
}
