using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.PowerShell.Hosting;
using ModelCache.Sync;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Reports how a cache drifts from a manifest (missing, corrupt, extra) without changing anything: $true when it
/// matches, otherwise $false and one error per drifted model.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "ModelCache")]
[OutputType(typeof(bool))]
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

    protected override void End()
    {
        if (IsHubLayout(Layout))
        {
            ThrowLayoutNotSupported(Layout, "a manifest names catalog models, which live in Native or Uniface caches; testing a hub cache against one is not supported.", "Use -Layout Native or Uniface; check a hub cache with 'Test-ModelHash -Layout HuggingFace'.");
        }

        var manifest = SyncManifestFile.Read(this, Manifest);
        var (catalog, models) = manifest.Resolve(LoadCatalog(CatalogPath));
        var store = OpenStore(CachePath, ParseLayout(Layout));
        var cached = ListEntries(store, catalog).ToDictionary(e => e.Name, StringComparer.OrdinalIgnoreCase);
        var inState = true;
        foreach (var model in models)
        {
            var path = store.GetModelPath(model);
            var check = RunAsync((_, token) => HashVerifier.VerifyAsync(model.Name, path, model.Sha256, null, token));
            if (check.IsValid)
            {
                WriteVerbose($"{model.Name}: present and valid.");
                continue;
            }

            inState = false;
            WriteError(check.Status == HashStatus.Missing
                ? ErrorRecords.Create("ModelMissing", ErrorCategory.ObjectNotFound, $"{model.Name} is listed by '{manifest.Source}' but not cached at '{path}'.",
                    $"Run 'Sync-ModelCache {Manifest}' to add it.", model.Name)
                : ErrorRecords.Create("ModelCorrupt", ErrorCategory.InvalidData, $"{model.Name} at '{path}' hashes to {check.Actual}, expected {model.Sha256}.",
                    $"Run 'Sync-ModelCache {Manifest}' to repair it.", model.Name));
        }

        var listed = new HashSet<string>(models.Select(m => m.Name), StringComparer.OrdinalIgnoreCase);
        foreach (var extra in cached.Values.Where(e => !listed.Contains(e.Name)))
        {
            inState = false;
            WriteError(ErrorRecords.Create("ModelExtra", ErrorCategory.InvalidData, $"{extra.Name} is cached at '{extra.Path}' but not listed by '{manifest.Source}'.",
                $"Run 'Sync-ModelCache {Manifest} -Prune' to remove it, or add it to the manifest.", extra));
        }

        WriteObject(inState);
    }
}
