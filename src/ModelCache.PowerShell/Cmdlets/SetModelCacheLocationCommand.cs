using System;
using System.Management.Automation;
using ModelCache.Errors;
using ModelCache.Locations;
using ModelCache.PowerShell.Hosting;
using ModelCache.Store;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>Where a cache-root setting lives.</summary>
public enum ModelCacheScope
{
    /// <summary>This PowerShell process only.</summary>
    Process,

    /// <summary>Persisted in the user's settings file for every future session.</summary>
    User,
}

/// <summary>Sets (or resets) the cache root for this process or, persistently, for the user.</summary>
[Cmdlet(VerbsCommon.Set, "ModelCacheLocation", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = SetParameterSet)]
[OutputType(typeof(CacheLocation))]
public sealed class SetModelCacheLocationCommand : ModelCacheCmdlet
{
    private const string SetParameterSet = "Set";
    private const string ResetParameterSet = "Reset";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = SetParameterSet)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    [Parameter(Mandatory = true, ParameterSetName = ResetParameterSet)]
    public SwitchParameter Reset { get; set; }

    [Parameter]
    public ModelCacheScope Scope { get; set; } = ModelCacheScope.Process;

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void End()
    {
        string? root;
        switch (ParameterSetName)
        {
            case SetParameterSet:
                root = GetUnresolvedProviderPathFromPSPath(Path);
                break;
            case ResetParameterSet:
                root = null;
                break;
            default:
                throw new PSInvalidOperationException($"Unknown parameter set '{ParameterSetName}'.");
        }

        var settings = SettingsStore.ForUser(Environment);
        var target = Scope == ModelCacheScope.User ? settings.SettingsFile : "this PowerShell process";
        var action = root is null ? "Reset the model cache location" : $"Set the model cache location to '{root}'";
        if (!ShouldProcess(target, action))
        {
            return;
        }

        try
        {
            if (root is not null)
            {
                new CacheStore(root).EnsureWritable();
            }

            if (Scope == ModelCacheScope.User)
            {
                settings.WriteCacheRoot(root);
            }
            else
            {
                ModuleState.ProcessCacheRoot = root;
            }
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, (object?)root ?? target));
        }

        if (PassThru)
        {
            WriteObject(ResolveLocation(null));
        }
    }
}
