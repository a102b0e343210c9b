using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Inference;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;
using ModelCache.Store;
using ModelCache.Transfer;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Detects faces in image files with a cached face-detection model (saved on first use unless
/// offline). One result per image, or one object per face with -AsFace. Images run in parallel up
/// to -ThrottleLimit; results come out in input order. A file that cannot be read or decoded is a
/// non-terminating error and the batch goes on.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "FaceDetect", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(FaceDetectionResult))]
[OutputType(typeof(Face))]
public sealed class InvokeFaceDetectCommand : ModelCacheCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(200);

    private readonly List<(string File, object Input)> _images = new();
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    /// <summary>Image files; wildcards are expanded.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Image files, taken literally (FileInfo objects bind here through FullName / PSPath).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "FullName", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Catalog name of a face-detection model.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(ModelNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Model { get; set; } = "RetinaFace/MNET_V2";

    [Parameter]
    [ValidateRange(0.0, 1.0)]
    public float ConfidenceThreshold { get; set; }

    [Parameter]
    [ValidateRange(0.0, 1.0)]
    public float NmsThreshold { get; set; }

    /// <summary>Keep only the N largest faces per image (0 keeps all).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int MaxFaces { get; set; }

    /// <summary>Network input side for models with a dynamic input size.</summary>
    [Parameter]
    [ValidateRange(32, 8192)]
    public int InputSize { get; set; }

    /// <summary>Also scan large photos in overlapping full-resolution windows (small faces).</summary>
    [Parameter]
    public SwitchParameter Tile { get; set; }

    /// <summary>
    /// Images processed at the same time (default: the core count, at most 4). On 2 cores two images
    /// in parallel run about twice as fast as one image using ONNX Runtime's intra-op threads.
    /// </summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = Math.Min(System.Environment.ProcessorCount, 4);

    /// <summary>Threads ONNX Runtime uses inside one image (0: ONNX Runtime's default, all cores).</summary>
    [Parameter]
    [ValidateRange(0, 256)]
    public int IntraOpThreads { get; set; }

    /// <summary>Emit one object per face instead of one per image.</summary>
    [Parameter]
    public SwitchParameter AsFace { get; set; }

    /// <summary>Directory for a copy of each image with boxes, scores and landmarks drawn.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? AnnotatedPath { get; set; }

    /// <summary>Directory for one image file per face.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CropPath { get; set; }

    /// <summary>Margin added around each crop on every side, as a fraction of the box size.</summary>
    [Parameter]
    [ValidateRange(0.0, 5.0)]
    public float CropMargin { get; set; } = 0.2f;

    /// <summary>Cache root; overrides every other location setting.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Mirror { get; set; }

    [Parameter]
    public SwitchParameter Offline { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    protected override void Process()
    {
        switch (ParameterSetName)
        {
            case PathSet:
                foreach (var path in Path)
                {
                    AddResolved(path);
                }

                break;
            case LiteralPathSet:
                foreach (var path in LiteralPath)
                {
                    AddFile(GetUnresolvedProviderPathFromPSPath(path), path);
                }

                break;
            default:
                throw new InvalidOperationException("Unknown parameter set " + ParameterSetName);
        }
    }

    protected override void End()
    {
        if (_images.Count == 0)
        {
            return;
        }

        var detector = LoadDetector();
        if (detector is null)
        {
            return;
        }

        var writes = AnnotatedPath is not null || CropPath is not null;
        var annotated = AnnotatedPath is null ? null : GetUnresolvedProviderPathFromPSPath(AnnotatedPath);
        var crops = CropPath is null ? null : GetUnresolvedProviderPathFromPSPath(CropPath);
        var images = writes
            ? _images.Where(i => ShouldProcess(i.File, Describe(annotated, crops))).ToList()
            : _images;
        if (images.Count == 0)
        {
            return;
        }

        var options = new FaceDetectionOptions
        {
            ConfidenceThreshold = Bound(nameof(ConfidenceThreshold)) ? ConfidenceThreshold : null,
            NmsThreshold = Bound(nameof(NmsThreshold)) ? NmsThreshold : null,
            MaxFaces = Bound(nameof(MaxFaces)) ? MaxFaces : null,
            InputSize = Bound(nameof(InputSize)) ? InputSize : null,
            Tile = Tile.IsPresent,
            ModelName = _modelName,
        };
        WriteVerbose($"{_modelName}: {detector.Layout}; confidence ≥ {options.ConfidenceThreshold ?? detector.DefaultConfidenceThreshold}, NMS IoU {options.NmsThreshold ?? detector.DefaultNmsThreshold}; {images.Count} image(s), {ThrottleLimit} at a time.");

        RunAsync((bridge, token) => Task.Run(() => DetectAll(detector, images, options, annotated, crops, bridge, token), token));
    }

    private string? _modelName;

    private void DetectAll(FaceDetector detector, IReadOnlyList<(string File, object Input)> images, FaceDetectionOptions options, string? annotated, string? crops, PipelineBridge bridge, CancellationToken token)
    {
        var ready = new Action?[images.Count];
        var next = 0;
        var done = 0;
        var gate = new object();
        var clock = Stopwatch.StartNew();
        var lastProgress = -ProgressInterval;

        void Complete(int index, Action emit)
        {
            lock (gate)
            {
                ready[index] = emit;
                while (next < ready.Length && ready[next] is { } action)
                {
                    bridge.Post(action);
                    ready[next++] = null;
                }

                done++;
                if (done == images.Count || clock.Elapsed - lastProgress >= ProgressInterval)
                {
                    lastProgress = clock.Elapsed;
                    var record = new ProgressRecord(1, "Detecting faces (" + _modelName + ")", $"{done} of {images.Count} images")
                    {
                        PercentComplete = 100 * done / images.Count,
                        RecordType = done == images.Count ? ProgressRecordType.Completed : ProgressRecordType.Processing,
                    };
                    bridge.Post(() => WriteProgress(record));
                }
            }
        }

        Parallel.For(0, images.Count, new ParallelOptions { MaxDegreeOfParallelism = ThrottleLimit, CancellationToken = token }, index =>
        {
            var (file, input) = images[index];
            try
            {
                var result = detector.Detect(file, options, token);
                if (annotated is not null)
                {
                    FaceImageWriter.WriteAnnotated(result, System.IO.Path.Combine(annotated, System.IO.Path.GetFileName(file)));
                }

                if (crops is not null)
                {
                    FaceImageWriter.WriteCrops(result, crops, CropMargin);
                }

                Complete(index, () => Emit(result));
            }
            catch (ModelCacheException ex)
            {
                Complete(index, () => WriteFailure(ex, input));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                var record = ErrorRecords.Create("FaceDetectionFailed", ErrorCategory.InvalidResult, $"Face detection failed on '{file}': {ex.Message}", null, input, ex);
                Complete(index, () => WriteError(record));
            }
        });
    }

    private void Emit(FaceDetectionResult result)
    {
        if (AsFace)
        {
            foreach (var face in result.Faces)
            {
                WriteObject(face);
            }
        }
        else
        {
            WriteObject(result);
        }
    }

    /// <summary>Resolves the model, saves it if needed (unless offline) and gets its session from the module's pool; null when the user declined.</summary>
    private FaceDetector? LoadDetector()
    {
        var catalog = LoadCatalog(CatalogPath);
        ModelDefinition model;
        try
        {
            model = catalog.Resolve(Model);
        }
        catch (ModelNameException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, Model));
            return null;
        }

        _modelName = model.Name;
        if (!string.Equals(model.Task, "face_detection", StringComparison.OrdinalIgnoreCase))
        {
            ThrowTerminatingError(ErrorRecords.Create("NotAFaceDetector", ErrorCategory.InvalidArgument,
                $"{model.Name} is a {model.Task} model, not a face detector.", "Pick a face_detection model: Get-ModelCatalog | Where-Object Task -eq face_detection.", Model));
        }

        try
        {
            NativeLibraryLoader.EnsureLoaded();
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, Model));
        }

        var store = OpenStore(CachePath);
        if (!System.IO.File.Exists(store.GetModelPath(model)) && !ShouldProcess($"{model.Name} ({store.GetModelPath(model)})", "Save model"))
        {
            return null;
        }

        // Using a cached model is not acquiring it: a valid cached file is opened without a write and,
        // after the first check, without hashing it again; only a missing or damaged one is saved.
        ModelCacheEntry entry;
        OpenedModel? opened = null;
        try
        {
            opened = RunAsync((_, token) => ModelUse.Opener.TryOpenAsync(store, model, ModelUse.UserFingerprints(Environment), token));
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, Model));
        }

        if (opened is not null)
        {
            entry = opened.Entry;
            WriteVerbose($"Verified by {opened.VerifiedBy}; {opened.BytesHashed} bytes hashed.");
        }
        else
        {
            using (var planner = CreateSourcePlanner(Mirror, BoundSwitch(nameof(Offline), Offline), mirrorOnly: null))
            {
                var saver = new ModelSaver(store, planner);
                try
                {
                    entry = RunAsync((bridge, token) =>
                    {
                        var progress = new ProgressWriter(this, bridge, "Saving models");
                        return saver.SaveAsync(model, false, progress, message => bridge.Post(() => WriteWarning(message)), token);
                    });
                }
                catch (ModelCacheException ex)
                {
                    ThrowTerminatingError(ErrorRecords.From(ex, Model));
                    return null;
                }
            }
        }

        WriteVerbose($"Model file: {entry.Path}");
        try
        {
            var detector = FaceDetection.Pool.Get(entry.Path, new FaceDetectorSettings { IntraOpThreads = IntraOpThreads }, out var created);
            WriteVerbose($"ONNX Runtime session {(created ? "created" : "reused")}; {FaceDetection.OpenSessions} open in this process.");
            return detector;
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, Model));
        }
        catch (Exception ex) when (NativeLibraryLoader.IsNativeLoadFailure(ex))
        {
            ThrowTerminatingError(ErrorRecords.From(NativeLibraryLoader.Missing(ex), Model));
        }

        return null;
    }

    private void AddResolved(string path)
    {
        if (!WildcardPattern.ContainsWildcardCharacters(path))
        {
            AddFile(GetUnresolvedProviderPathFromPSPath(path), path);
            return;
        }

        ProviderInfo provider;
        System.Collections.ObjectModel.Collection<string> files;
        try
        {
            files = GetResolvedProviderPathFromPSPath(path, out provider);
        }
        catch (Exception ex) when (ex is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException)
        {
            WriteError(ErrorRecords.Create("ImageNotFound", ErrorCategory.ObjectNotFound, $"No image matches '{path}'.", "Check the path.", path, ex));
            return;
        }

        if (provider.Name != "FileSystem")
        {
            WriteError(ErrorRecords.Create("NotAFileSystemPath", ErrorCategory.InvalidArgument, $"'{path}' is not a file-system path.", null, path));
            return;
        }

        foreach (var file in files.Where(f => !Directory.Exists(f)))
        {
            AddFile(file, path);
        }
    }

    private void AddFile(string file, object input)
    {
        if (Directory.Exists(file))
        {
            WriteError(ErrorRecords.Create("PathIsDirectory", ErrorCategory.InvalidArgument, $"'{file}' is a directory, not an image.", "Pass image files, for example -Path photos/*.jpg.", input));
            return;
        }

        if (!System.IO.File.Exists(file))
        {
            WriteError(ErrorRecords.Create("ImageNotFound", ErrorCategory.ObjectNotFound, $"The image '{file}' does not exist.", "Check the path.", input));
            return;
        }

        if (_seen.Add(file))
        {
            _images.Add((file, input));
        }
    }

    private static string Describe(string? annotated, string? crops) =>
        string.Join(" and ", new[] { annotated is null ? null : $"Write annotated copy to '{annotated}'", crops is null ? null : $"write face crops to '{crops}'" }.Where(s => s is not null));

    private bool Bound(string parameter) => MyInvocation.BoundParameters.ContainsKey(parameter);

}
