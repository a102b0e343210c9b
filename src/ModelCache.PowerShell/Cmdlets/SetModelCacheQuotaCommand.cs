using System;
using System.Management.Automation;
using ModelCache.Errors;
using ModelCache.Locations;
using ModelCache.PowerShell.Hosting;
using ModelCache.Primitives;
using ModelCache.Store;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>Sets (or removes) the most bytes a cache may hold, for the user or for every user of the machine.</summary>
[Cmdlet(VerbsCommon.Set, "ModelCacheQuota", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = SetParameterSet)]
[OutputType(typeof(CacheQuota))]
public sealed class SetModelCacheQuotaCommand : ModelCacheCmdlet
{
    private const string SetParameterSet = "Set";
    private const string ResetParameterSet = "Reset";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = SetParameterSet)]
    [ValidateRange(1, long.MaxValue)]
    public long MaxSize { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = ResetParameterSet)]
    public SwitchParameter Reset { get; set; }

    /// <summary>Which settings file holds the quota. A string, not the Core enum: see <see cref="ModelCacheCmdlet.ParseLayout"/>.</summary>
    [Parameter]
    [ValidateSet("User", "AllUsers")]
    public string Scope { get; set; } = "User";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void End()
    {
        long? maxSize = ParameterSetName switch
        {
            SetParameterSet => MaxSize,
            ResetParameterSet => null,
            _ => throw new PSInvalidOperationException($"Unknown parameter set '{ParameterSetName}'."),
        };
        var settings = SettingsStore.For((SettingsScope)Enum.Parse(typeof(SettingsScope), Scope, ignoreCase: true), Environment);
        var action = maxSize is { } bytes ? $"Set the model cache quota (MaxSize) to {bytes} bytes ({ByteSize.Format(bytes)})" : "Remove the model cache quota";
        if (!ShouldProcess(settings.SettingsFile, action))
        {
            return;
        }

        try
        {
            CacheQuota.Write(settings, maxSize);
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, settings.SettingsFile));
        }

        if (PassThru)
        {
            WriteObject(CacheQuota.Resolve(null, Environment));
        }
    }
}
