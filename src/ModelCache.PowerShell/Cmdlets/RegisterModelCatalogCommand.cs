using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.PowerShell.Hosting;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Registers catalog files (a fleet's catalog on a share, say) in the User or AllUsers settings file, so every later
/// session merges them. Each file is checked first; an invalid one is refused (CatalogInvalid) and nothing is registered.
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

    /// <summary>User (your settings.json) or AllUsers (the machine-wide config.json, written by administrators).</summary>
    [Parameter]
    [ValidateSet("User", "AllUsers")]
    public string Scope { get; set; } = "User";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void Process()
    {
        var registry = CatalogRegistry.For(ParseSettingsScope(Scope), Environment);
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

            if (!ShouldProcess($"'{file}' ({count} models) in {registry.Scope} settings '{registry.SettingsFile}'", "Register model catalog"))
            {
                continue;
            }

            try
            {
                WriteVerbose(registry.Register(file) ? $"Registered '{file}' ({count} models) for {registry.Scope}." : $"'{file}' was already registered for {registry.Scope}.");
            }
            catch (ModelCacheException ex)
            {
                // SettingsNotWritable stops the command: every other file would fail the same way.
                ThrowTerminatingError(ErrorRecords.From(ex, input));
            }

            if (PassThru)
            {
                WriteObject(new ModelCatalogSource(0, CatalogSourceKind.Registered, registry.Scope.ToString(), file, count, true, null));
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
