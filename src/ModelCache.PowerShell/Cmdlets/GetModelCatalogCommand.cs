using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using ModelCache.Catalog;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>Lists the models ModelCache knows, with whether each is cached.</summary>
[Cmdlet(VerbsCommon.Get, "ModelCatalog")]
[OutputType(typeof(ModelCatalogEntry))]
public sealed class GetModelCatalogCommand : ModelCacheCmdlet
{
    private readonly HashSet<string> _written = new(StringComparer.OrdinalIgnoreCase);

    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Task { get; set; }

    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Family { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    protected override void Process()
    {
        var catalog = LoadCatalog(CatalogPath);
        var store = OpenStore(Path);
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
            WriteObject(new ModelCatalogEntry(model, File.Exists(store.GetModelPath(model))));
        }
    }
}
