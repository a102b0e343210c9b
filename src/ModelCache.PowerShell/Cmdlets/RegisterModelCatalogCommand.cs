using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.PowerShell.Hosting;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Registers catalog files (a fleet's catalog on a share, say) in the CurrentUser or AllUsers settings file, so every later
/// session merges them (or, with -Scope Process, for this session only). Each file is checked first; an invalid one is refused (CatalogInvalid) and nothing is registered.
/// </summary>
[Cmdlet(VerbsLifecycle.Register, "ModelCatalog", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = PathParameterSet)]
[OutputType(typeof(ModelCatalogSource))]
public sealed class RegisterModelCatalogCommand : ModelCacheCmdlet
{
    private const string PathParameterSet = "Path";
    private const string LiteralPathParameterSet = "LiteralPath";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathParameterSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathParameterSet)]
    [Alias("PSPath", "FullName")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>CurrentUser (your settings.json, the default), AllUsers (the machine-wide config.json, written by administrators), or Process (this session only).</summary>
    [Parameter]
    public ModelCacheScope Scope { get; set; } = ModelCacheScope.CurrentUser;

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void Process()
    {
        var registry = Scope.SettingsFor(Environment) is { } settings ? new CatalogRegistry(settings) : null;
        var where = registry is null ? "this session (-Scope Process, not persisted)" : $"{registry.Scope} settings '{registry.SettingsFile}'";
        foreach (var (input, file) in Files())
        {
            int count;
            try
            {
                count = CatalogRegistry.Validate(file).Count;
            }
            catch (ModelCacheException ex)
            {
                WriteFailure(ex, input);
                continue;
            }

            if (!ShouldProcess($"'{file}' ({count} models) in {where}", "Register model catalog"))
            {
                continue;
            }

            try
            {
                var added = registry is null ? ModuleState.SetProcessCatalog(file, registered: true, CatalogRegistry.PathComparer) : registry.Register(file);
                WriteVerbose(added ? $"Registered '{file}' ({count} models) in {where}." : $"'{file}' was already registered in {where}.");
            }
            catch (ModelCacheException ex)
            {
                // SettingsNotWritable stops the command: every other file would fail the same way.
                ThrowTerminatingError(ErrorRecords.From(ex, input));
            }

            if (PassThru)
            {
                WriteObject(new ModelCatalogSource(0, CatalogSourceKind.Registered, Scope.ToString(), file, count, true, null));
            }
        }
    }

    /// <summary>
    /// Full paths: -LiteralPath as given, -Path with its wildcards expanded. A -Path without wildcards that names no file
    /// is kept, so it is refused like any unreadable catalog (CatalogInvalid) rather than with a provider error.
    /// </summary>
    private IEnumerable<(string Input, string File)> Files()
    {
        switch (ParameterSetName)
        {
            case LiteralPathParameterSet:
                return LiteralPath.Select(p => (p, GetUnresolvedProviderPathFromPSPath(p)));
            case PathParameterSet:
                return Path.SelectMany(p => WildcardPattern.ContainsWildcardCharacters(p)
                    ? GetResolvedProviderPathFromPSPath(p, out _).Select(file => (p, file))
                    : new[] { (p, GetUnresolvedProviderPathFromPSPath(p)) });
            default:
                throw new PSInvalidOperationException($"Unknown parameter set '{ParameterSetName}'.");
        }
    }
}
