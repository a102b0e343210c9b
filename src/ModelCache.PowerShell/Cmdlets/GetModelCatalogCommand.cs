using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using ModelCache.Operations;
using ModelCache.Catalog;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>Lists the models ModelCache knows, with whether each is cached; with -Source, the catalogs they are merged from.</summary>
[Cmdlet(VerbsCommon.Get, "ModelCatalog", DefaultParameterSetName = ModelParameterSet)]
[OutputType(typeof(ModelCatalogEntry), ParameterSetName = new[] { ModelParameterSet })]
[OutputType(typeof(ModelCatalogSource), ParameterSetName = new[] { SourceParameterSet })]
public sealed class GetModelCatalogCommand : ModelCacheCmdlet
{
    private const string ModelParameterSet = "Model";
    private const string SourceParameterSet = "Source";
    private readonly HashSet<string> _written = new(StringComparer.OrdinalIgnoreCase);

    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ModelParameterSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    [Parameter(ParameterSetName = ModelParameterSet)]
    [ValidateNotNullOrEmpty]
    public string[]? Task { get; set; }

    [Parameter(ParameterSetName = ModelParameterSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Family { get; set; }

    [Parameter(ParameterSetName = ModelParameterSet)]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    /// <summary>The layout of the cache whose copies IsCached reports: Native (the default), Uniface or HuggingFace.</summary>
    [Parameter(ParameterSetName = ModelParameterSet)]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    /// <summary>Lists the catalogs in merge order (built-in, registered AllUsers then User, catalog.json, MODELCACHE_CATALOG, -CatalogPath), each with whether it loaded.</summary>
    [Parameter(Mandatory = true, ParameterSetName = SourceParameterSet)]
    public SwitchParameter Source { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    protected override void Process()
    {
        switch (ParameterSetName)
        {
            case ModelParameterSet:
                WriteModels();
                break;
            case SourceParameterSet:
                WriteObject(LoadCatalogSources(CatalogPath, listing: true).Sources, enumerateCollection: true);
                break;
            default:
                throw new PSInvalidOperationException($"Unknown parameter set '{ParameterSetName}'.");
        }
    }

    private void WriteModels()
    {
        if (IsHubLayout(Layout))
        {
            ThrowLayoutNotSupported(Layout, "IsCached is reported for Native and Uniface caches.", "List a hub cache with 'Get-ModelCache -Layout HuggingFace'.");
        }

        var catalog = LoadCatalog(CatalogPath);
        var store = OpenStore(CachePath, ParseLayout(Layout));
        IEnumerable<ModelDefinition> models = catalog.Models;
        if (Name is not null)
        {
            models = Name.SelectMany(name => SelectModels(catalog, name)).ToList();
        }

        if (Task is not null)
        {
            models = models.Where(m => Task.Contains(m.Task, StringComparer.OrdinalIgnoreCase));
        }

        if (Family is not null)
        {
            var patterns = Family.Select(f => new WildcardMatcher(f)).ToList();
            models = models.Where(m => patterns.Any(p => p.IsMatch(m.Family)));
        }

        foreach (var model in models.Where(m => _written.Add(m.Name)))
        {
            WriteObject(new ModelCatalogEntry(model, ModelFiles.IsCached(store, model)));
        }
    }
}
