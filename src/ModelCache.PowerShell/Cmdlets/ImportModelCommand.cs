using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Operations;
using ModelCache.Primitives;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Store;
using ModelCache.Transfer;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Makes a model file usable by name: hashes it, places it in the cache through the verified stage → verify → promote
/// path, and keeps its entry in the user's catalog.json. Writes the cache entry, as Save-Model does, so
/// <c>Import-Model ... | Test-ModelHash</c> needs no glue. Idempotent: the same file again is skipped.
/// </summary>
[Cmdlet(VerbsData.Import, "Model", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = PathParameterSet)]
[OutputType(typeof(ModelCacheEntry))]
public sealed class ImportModelCommand : ModelCacheCmdlet
{
    // Models imported by this command so far, so a second file piped under the same name is refused before it is placed.
    private readonly List<ModelDefinition> _imported = new();

    private const string PathParameterSet = "Path";
    private const string LiteralPathParameterSet = "LiteralPath";

    /// <summary>The model file (a wildcard must match one file); its name becomes the model's file name in the cache.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathParameterSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>The model file, taken literally (a FileInfo binds here through FullName / PSPath).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathParameterSet)]
    [Alias("PSPath", "FullName")]
    [ValidateNotNullOrEmpty]
    public string? LiteralPath { get; set; }

    /// <summary>The model's name, Family/Member. Not taken from the pipeline: a piped file's Name is its file name.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = string.Empty;

    /// <summary>
    /// The catalog's task name (FaceDetection is taken as face_detection); Invoke-FaceDetect takes only face_detection models.
    /// When not given, a model whose own inputs and outputs are a known face-detector layout is face_detection, any other "unknown".
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ModelTaskCompleter))]
    public string? Task { get; set; }

    [Parameter]
    [ValidateNotNull]
    public Uri? Url { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? License { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    [Parameter]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    protected override void Begin()
    {
        if (IsHubLayout(Layout))
        {
            ThrowLayoutNotSupported(Layout, "a model file is imported into a Native or Uniface cache; a Hugging Face hub cache holds repos, not catalog models.", "Import into -Layout Native or Uniface, or fetch hub files with 'Save-Model -HuggingFaceRepo <org/name> -File <file>'.");
        }
    }

    protected override void Process()
    {
        var input = (object?)Path ?? LiteralPath;
        var files = ResolveItemPaths(Path is null ? null : new[] { Path }, LiteralPath is null ? null : new[] { LiteralPath }).Select(f => f.File).ToList();
        if (files.Count != 1)
        {
            // One name per file: a pattern must pick out exactly one model file.
            WriteFailure(new ModelCacheException("ModelFileAmbiguous", ModelCacheErrorKind.InvalidArgument,
                $"-Path '{Path}' matches {files.Count} files; Import-Model imports one file under one name.",
                "Give a path that names exactly one file, or pipe the files one by one with a name for each."), input);
            return;
        }

        var file = files[0];
        var catalog = LoadCatalog(CatalogPath);
        var store = OpenStore(CachePath, ParseLayout(Layout));
        var importer = new ModelFileImport(_imported.Count == 0 ? catalog : new ModelCatalog(catalog.Models.Concat(_imported)), UserCatalog, store);
        ModelFilePlan plan;
        try
        {
            var task = Task ?? RecogniseTask(file);
            plan = RunAsync((_, token) => importer.PlanAsync(file, Name, task, Url, License, token));
        }
        catch (ModelCacheException ex)
        {
            WriteFailure(ex, input);
            return;
        }

        var model = plan.Model;

        var target = $"{model.Name} ('{file}' to {importer.TargetPath(plan)}{(plan.WritesCatalogEntry ? $"; catalog entry in '{plan.UserCatalogPath}'" : string.Empty)})";
        if (!ShouldProcess(target, "Import model"))
        {
            return;
        }

        try
        {
            var entry = RunAsync((bridge, token) => importer.ImportAsync(plan, new ProgressWriter(this, bridge, "Importing models"), Reporter(bridge), token));
            _imported.Add(model);
            WriteVerbose(entry.Transfer?.Source == TransferSource.Cache
                ? $"{model.Name}: Skipped, already cached and valid at '{entry.Path}'."
                : $"{model.Name}: Imported to '{entry.Path}', SHA-256 {model.Sha256}{(plan.WritesCatalogEntry ? $"; catalog entry in '{plan.UserCatalogPath}'" : string.Empty)}.");
            WriteObject(entry);
        }
        catch (ModelCacheException ex)
        {
            WriteFailure(ex, input);
        }
    }

    /// <summary>face_detection when the file's own graph has a known detector layout (read without ONNX Runtime), else null.</summary>
    private string? RecogniseTask(string file)
    {
        if (ModelCache.Inference.ModelAdmission.IsFaceDetector(file, out var description))
        {
            WriteVerbose($"'{file}' is a face detector: {description}.");
            return ModelTasks.FaceDetection;
        }

        WriteVerbose($"'{file}' is not recognised as a face detector, so its task is '{ModelTasks.Unknown}': {description}");
        return null;
    }
}
