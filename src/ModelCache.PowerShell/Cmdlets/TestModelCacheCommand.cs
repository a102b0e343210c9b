using System.Management.Automation;
using ModelCache.Operations;
using ModelCache.PowerShell.Hosting;
using ModelCache.Sync;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Reports how a cache drifts from a manifest (missing, corrupt, extra) without changing anything, from the plan
/// Sync-ModelCache executes: $true when it matches, otherwise $false and one error per drifted model; with -Detailed,
/// one object per model instead.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "ModelCache")]
[OutputType(typeof(bool))]
[OutputType(typeof(ModelDrift))]
public sealed class TestModelCacheCommand : ModelCacheCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Manifest { get; set; } = string.Empty;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    /// <summary>How the cache root is arranged: Native (the default), Uniface or HuggingFace; each layout has its own default root.</summary>
    [Parameter]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    /// <summary>One object per model (Name, State, Path, Expected, Actual) instead of $true/$false and errors.</summary>
    [Parameter]
    public SwitchParameter Detailed { get; set; }

    /// <summary>Cached models the manifest does not list are not drift.</summary>
    [Parameter]
    public SwitchParameter IgnoreExtra { get; set; }

    protected override void End()
    {
        if (IsHubLayout(Layout))
        {
            ThrowLayoutNotSupported(Layout, "a manifest names catalog models, which live in Native or Uniface caches; testing a hub cache against one is not supported.", "Use -Layout Native or Uniface; check a hub cache with 'Test-ModelHash -Layout HuggingFace'.");
        }

        var manifest = SyncManifestFile.Read(this, Manifest);
        var catalog = LoadCatalog(CatalogPath);
        var store = OpenStore(CachePath, ParseLayout(Layout));
        var options = new SyncPlanOptions { IgnoreExtra = IgnoreExtra };
        var plan = RunAsync((bridge, token) => new CacheSync(store, Environment, Reporter(bridge)).PlanAsync(manifest, catalog, options, token));
        foreach (var item in plan.Items)
        {
            if (Detailed)
            {
                WriteObject(item);
            }
            else if (item.State == DriftState.Ok)
            {
                WriteVerbose($"{item.Name}: present and valid.");
            }
            else
            {
                WriteError(Drift(item, plan.Manifest));
            }
        }

        if (!Detailed)
        {
            WriteObject(plan.InDesiredState);
        }
    }

    private ErrorRecord Drift(ModelDrift item, string source) => item.State switch
    {
        DriftState.Missing => ErrorRecords.Create("ModelMissing", ErrorCategory.ObjectNotFound, $"{item.Name} is listed by '{source}' but not cached at '{item.Path}'.",
            $"Run 'Sync-ModelCache {Manifest}' to add it.", item.Name),
        DriftState.Corrupt => ErrorRecords.Create("ModelCorrupt", ErrorCategory.InvalidData, $"{item.Name} at '{item.Path}' hashes to {item.Actual}, expected {item.Expected}.",
            $"Run 'Sync-ModelCache {Manifest}' to repair it.", item.Name),
        _ => ErrorRecords.Create("ModelExtra", ErrorCategory.InvalidData, $"{item.Name} is cached at '{item.Path}' but not listed by '{source}'.",
            $"Run 'Sync-ModelCache {Manifest} -Prune' to remove it, add it to the manifest, or add -IgnoreExtra.", item.Entry),
    };
}
