using System;
using System.IO;
using System.Management.Automation;
using ModelCache.Operations;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Locations;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Layouts;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Sets (or resets) the cache root, or one model's own folder (-Name), for this process, the user, or the whole
/// machine. Resetting forgets the setting and deletes nothing.
/// </summary>
[Cmdlet(VerbsCommon.Set, "ModelCacheLocation", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = SetParameterSet)]
[OutputType(typeof(CacheLocation))]
public sealed class SetModelCacheLocationCommand : ModelCacheCmdlet
{
    private const string SetParameterSet = "Set";
    private const string ResetParameterSet = "Reset";

    /// <summary>The cache root, or with -Name the folder that holds that model's file.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = SetParameterSet)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    [Parameter(Mandatory = true, ParameterSetName = ResetParameterSet)]
    public SwitchParameter Reset { get; set; }

    /// <summary>A catalog model (Family/Member) whose file gets a folder of its own, as tfimm's per-model locations.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Where the setting is kept: CurrentUser (the default, persisted), AllUsers, or Process (this session only).</summary>
    [Parameter]
    public ModelCacheScope Scope { get; set; } = ModelCacheScope.CurrentUser;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void End()
    {
        var folder = ParameterSetName == SetParameterSet ? GetUnresolvedProviderPathFromPSPath(Path) : null;
        var model = Name is null ? null : ResolveModel(Name);
        var settings = Scope.SettingsFor(Environment);
        var target = settings?.SettingsFile ?? "this PowerShell process";
        var what = model is null ? "the model cache location" : $"the location of {model.Name}";
        var action = folder is null ? $"Reset {what}" : $"Set {what} to '{folder}'";
        if (!ShouldProcess(target, action))
        {
            return;
        }

        try
        {
            if (folder is not null)
            {
                // A root gets its layout's folders; a model's folder only needs to take files.
                if ((model is null ? new NativeLayout(folder).CheckWritable() : CacheLayout.CheckFolderWritable(folder)) is { } failure)
                {
                    throw failure;
                }
            }

            if (model is not null)
            {
                WarnAboutExistingCopy(model, folder);
                if (settings is null)
                {
                    ModuleState.SetProcessModelLocation(model.Name, folder);
                }
                else
                {
                    ModelLocationSettings.Write(settings, model.Name, folder);
                }
            }
            else if (settings is null)
            {
                ModuleState.ProcessCacheRoot = folder;
            }
            else
            {
                settings.WriteCacheRoot(folder);
            }
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, (object?)folder ?? target));
        }

        WriteVerbose(settings is null ? $"{action} for this session only (-Scope Process); nothing was written." : $"{action}: wrote {Scope} settings file '{settings.SettingsFile}'.");

        if (PassThru)
        {
            WriteObject(model is null ? ResolveLocation(null) : ResolveModelLocation(model));
        }
    }

    private ModelDefinition ResolveModel(string name)
    {
        try
        {
            return LoadCatalog(CatalogPath).Resolve(name);
        }
        catch (ModelNameException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, name));
            throw; // Not reached: ThrowTerminatingError throws.
        }
    }

    /// <summary>A copy already cached where the model was kept stays there, unused: say so, and how to bring it along.</summary>
    private void WarnAboutExistingCopy(ModelDefinition model, string? newFolder)
    {
        var current = ModelFiles.PathIn(OpenStore(null), model);
        var next = newFolder is null ? null : System.IO.Path.Combine(newFolder, model.FileName);
        if (File.Exists(current) && !string.Equals(current, next, StringComparison.Ordinal) && (next is null || !File.Exists(next)))
        {
            WriteWarning($"{model.Name} is cached at '{current}', which is left as it is; from now on it is looked for in its new place. " +
                $"Bring the copy along with: Import-ModelCache -LiteralPath '{System.IO.Path.GetDirectoryName(current)}'");
        }
    }

}
