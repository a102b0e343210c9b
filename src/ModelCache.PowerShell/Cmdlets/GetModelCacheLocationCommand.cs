using System.Management.Automation;
using ModelCache.Locations;
using ModelCache.PowerShell.Hosting;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>Shows the effective cache root and which setting chose it.</summary>
[Cmdlet(VerbsCommon.Get, "ModelCacheLocation")]
[OutputType(typeof(CacheLocation))]
public sealed class GetModelCacheLocationCommand : ModelCacheCmdlet
{
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    protected override void End() => WriteObject(ResolveLocation(Path));
}
