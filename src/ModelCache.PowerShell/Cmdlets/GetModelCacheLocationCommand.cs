using System;
using System.Management.Automation;
using ModelCache.Locations;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>Shows the effective cache root, or where one model's file lives, and which setting chose it.</summary>
[Cmdlet(VerbsCommon.Get, "ModelCacheLocation", DefaultParameterSetName = RootParameterSet)]
[OutputType(typeof(CacheLocation))]
public sealed class GetModelCacheLocationCommand : ModelCacheCmdlet
{
    private const string RootParameterSet = "Root";
    private const string ModelParameterSet = "Model";
    private const string ListParameterSet = "ListModels";

    [Parameter(Position = 0, ParameterSetName = RootParameterSet)]
    [Parameter(Position = 0, ParameterSetName = ModelParameterSet)]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    /// <summary>Whose default root to resolve: Native (the default) or Uniface; a model's location is a Native one.</summary>
    [Parameter(ParameterSetName = RootParameterSet)]
    [Parameter(ParameterSetName = ModelParameterSet)]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    /// <summary>Models whose location to show: their own folder when they have one, else their folder under the root.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ModelParameterSet)]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = System.Array.Empty<string>();

    /// <summary>Lists every model with a location of its own, each once, from the scope that wins.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ListParameterSet)]
    public SwitchParameter ListModels { get; set; }

    [Parameter(ParameterSetName = ModelParameterSet)]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    protected override void Process()
    {
        if (ParameterSetName != ModelParameterSet)
        {
            return;
        }

        if (!string.Equals(Layout, "Native", StringComparison.OrdinalIgnoreCase))
        {
            ThrowLayoutNotSupported(Layout, "per-model locations belong to the Native layout.", "Drop -Layout (or use -Layout Native) with -Name; 'Get-ModelCacheLocation -Layout Uniface' shows the uniface root.");
        }

        var catalog = LoadCatalog(CatalogPath);
        foreach (var name in Name)
        {
            if (TryResolve(catalog, name) is { } model)
            {
                WriteObject(ResolveModelLocation(model, CachePath));
            }
        }
    }

    protected override void End()
    {
        switch (ParameterSetName)
        {
            case RootParameterSet:
                if (IsHubLayout(Layout))
                {
                    ThrowLayoutNotSupported(Layout, "the hub cache root is resolved by huggingface_hub's own variables, not by ModelCache settings.", "Run 'Get-ModelCache -Layout HuggingFace' to list that cache; HF_HUB_CACHE, HF_HOME or -CachePath choose its root.");
                }

                WriteObject(string.Equals(Layout, "Native", StringComparison.OrdinalIgnoreCase)
                    ? ResolveLocation(CachePath)
                    : LayoutResolver().ResolveRoot(ParseLayout(Layout), string.IsNullOrEmpty(CachePath) ? null : GetUnresolvedProviderPathFromPSPath(CachePath)));
                break;
            case ListParameterSet:
                WriteObject(LayoutResolver().ResolveModelLocations().All, enumerateCollection: true);
                break;
        }
    }
}
