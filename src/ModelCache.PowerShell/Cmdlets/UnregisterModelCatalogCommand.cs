using System;
using System.Linq;
using System.Management.Automation;
using ModelCache.Catalog;
using ModelCache.PowerShell.Hosting;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Removes catalog files from the User or AllUsers list of registered catalogs. The file itself is not read or touched,
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

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateSet("User", "AllUsers")]
    public string Scope { get; set; } = "User";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void Process()
    {
        var registry = CatalogRegistry.For(ParseSettingsScope(Scope), Environment);
        var registered = registry.Paths;
        foreach (var input in Path)
        {
            var isPattern = WildcardMatcher.HasWildcard(input);
            var path = isPattern ? input : GetUnresolvedProviderPathFromPSPath(input);
            var matches = isPattern
                ? registered.Where(new WildcardMatcher(input).IsMatch).ToList()
                : registered.Where(p => CatalogRegistry.PathComparer.Equals(p, path)).ToList();
            if (matches.Count == 0 && !isPattern)
            {
                WriteFailure(registry.NotRegistered(path), input);
                continue;
            }

            foreach (var file in matches)
            {
                if (!ShouldProcess($"'{file}' in {registry.Scope} settings '{registry.SettingsFile}'", "Unregister model catalog"))
                {
                    continue;
                }

                try
                {
                    registry.Unregister(file);
                }
                catch (Errors.ModelCacheException ex)
                {
                    ThrowTerminatingError(ErrorRecords.From(ex, input));
                }

                WriteVerbose($"Unregistered '{file}' for {registry.Scope}.");
                if (PassThru)
                {
                    WriteObject(new ModelCatalogSource(0, CatalogSourceKind.Registered, registry.Scope.ToString(), file, 0, false, "unregistered"));
                }
            }
        }
    }
}
