using System;
using System.Management.Automation;
using ModelCache.Operations;
using ModelCache.Errors;
using ModelCache.Locations;
using ModelCache.PowerShell.Hosting;
using ModelCache.Primitives;
using ModelCache.Store;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>Sets (or removes) the most bytes a cache may hold, for this session, the user, or every user of the machine.</summary>
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

    /// <summary>Where the quota is kept: CurrentUser (the default, persisted), AllUsers, or Process (this session only).</summary>
    [Parameter]
    public ModelCacheScope Scope { get; set; } = ModelCacheScope.CurrentUser;

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
        var settings = Scope.SettingsFor(Environment);
        var target = settings?.SettingsFile ?? "this PowerShell session";
        var action = maxSize is { } bytes ? $"Set the model cache quota (MaxSize) to {bytes} bytes ({ByteSize.Format(bytes)})" : "Remove the model cache quota";
        if (!ShouldProcess(target, action))
        {
            return;
        }

        if (settings is null)
        {
            ModuleState.ProcessMaxSize = maxSize;
            WriteVerbose($"{action} for this session only (-Scope Process); nothing was written.");
        }
        else
        {
            try
            {
                QuotaSettings.Write(settings, maxSize);
            }
            catch (ModelCacheException ex)
            {
                ThrowTerminatingError(ErrorRecords.From(ex, settings.SettingsFile));
            }

            WriteVerbose($"{action}: wrote {Scope} settings file '{settings.SettingsFile}'.");
        }

        if (PassThru)
        {
            WriteObject(QuotaSettings.Effective(Environment, ModuleState.ProcessMaxSize));
        }
    }
}
