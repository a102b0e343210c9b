using System;
using System.Linq;
using System.Management.Automation;
using ModelCache.Catalog;
using ModelCache.PowerShell.Hosting;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Removes catalog files from the CurrentUser, AllUsers or Process list of registered catalogs. The file itself is not read or touched,
/// so a catalog that has vanished or turned unreadable can be unregistered. Takes Get-ModelCatalog -Source's registered sources from the pipeline.
/// </summary>
[Cmdlet(VerbsLifecycle.Unregister, "ModelCatalog", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ModelCatalogSource))]
public sealed class UnregisterModelCatalogCommand : ModelCacheCmdlet
{
    /// <summary>Registered paths: a relative path is taken from the current location; wildcards match the registered full paths as they are.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Which list to remove from: CurrentUser (the default), AllUsers, or Process (this session's registrations).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public ModelCacheScope Scope { get; set; } = ModelCacheScope.CurrentUser;

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void Process()
    {
        var registry = Scope.SettingsFor(Environment) is { } settings ? new CatalogRegistry(settings) : null;
        var where = registry is null ? "this session (-Scope Process)" : $"{registry.Scope} settings '{registry.SettingsFile}'";
        var registered = registry?.Paths ?? ModuleState.ProcessCatalogs;
        foreach (var input in Path)
        {
            var isPattern = WildcardMatcher.HasWildcard(input);
            var path = isPattern ? input : GetUnresolvedProviderPathFromPSPath(input);
            var matches = isPattern
                ? registered.Where(new WildcardMatcher(input).IsMatch).ToList()
                : registered.Where(p => CatalogRegistry.PathComparer.Equals(p, path)).ToList();
            if (matches.Count == 0 && !isPattern)
            {
                WriteFailure(registry?.NotRegistered(path) ?? new Errors.ModelCacheException("CatalogNotRegistered", Errors.ModelCacheErrorKind.NotFound,
                    $"'{path}' is not a catalog registered for this session (-Scope Process).",
                    "Run 'Get-ModelCatalog -Source' to list registered catalogs and their scopes, and give the scope it is registered in."), input);
                continue;
            }

            foreach (var file in matches)
            {
                if (!ShouldProcess($"'{file}' in {where}", "Unregister model catalog"))
                {
                    continue;
                }

                try
                {
                    if (registry is null)
                    {
                        ModuleState.SetProcessCatalog(file, registered: false, CatalogRegistry.PathComparer);
                    }
                    else
                    {
                        registry.Unregister(file);
                    }
                }
                catch (Errors.ModelCacheException ex)
                {
                    ThrowTerminatingError(ErrorRecords.From(ex, input));
                }

                WriteVerbose($"Unregistered '{file}' from {where}.");
                if (PassThru)
                {
                    WriteObject(new ModelCatalogSource(0, CatalogSourceKind.Registered, Scope.ToString(), file, 0, false, "unregistered"));
                }
            }
        }
    }
}
