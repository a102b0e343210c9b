using System;
using System.Collections.Concurrent;
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
/// offline); a folder given by name means its images (<see cref="ImageFolder"/>; -Recurse for
/// subfolders). One result per image, or one object per face with -AsFace. Results stream: each image
/// goes into a bounded <see cref="FaceDetectionPipeline"/> as it arrives (decode workers feeding
/// -ThrottleLimit inference workers), and finished results are written during the next input's
/// ProcessRecord (blocking there only when the in-flight bound is reached) and at EndProcessing.
/// Results come out in input order unless -Unordered. A file that cannot be read or decoded is a
/// non-terminating error and the batch goes on.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "FaceDetect", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(FaceDetectionResult))]
[OutputType(typeof(Face))]
public sealed class InvokeFaceDetectCommand : ModelCacheCmdlet, IDisposable
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(200);

    private readonly Dictionary<string, int> _occurrences = new(StringComparer.Ordinal);
    private readonly Dictionary<long, FaceDetectionOutcome> _pending = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private FaceDetectionPipeline? _pipeline;
    private bool _started;
    private bool _inputEnded;
    private long _submitted;
    private long _emitted;
    private long _nextToEmit;
    private TimeSpan _lastProgress = -ProgressInterval;
    private readonly ConcurrentDictionary<long, FaceOutputPlan> _plans = new();
    private FaceOutputPlanner? _outputs;
    private FaceDetectorLease? _lease;
    private bool _literalPathArgument;
    private long _filesGiven;
    private readonly List<string> _pipedFolders = new();

    /// <summary>Image files or folders of images; wildcards are expanded.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Image files or folders of images, taken literally (FileInfo objects bind here through FullName / PSPath).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "FullName", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>For a folder, also the images in its subfolders (links to folders are not followed).</summary>
    [Parameter]
    public SwitchParameter Recurse { get; set; }

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

    /// <summary>Write each result as soon as its image is done instead of in input order.</summary>
    [Parameter]
    public SwitchParameter Unordered { get; set; }

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

    /// <summary>Let -AnnotatedPath and -CropPath replace existing files (never a source image).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Images with more pixels than this (read from the header) are refused, or decoded scaled down where the format allows.</summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    public long MaxPixels { get; set; } = ImageLimits.DefaultMaxPixels;

    /// <summary>Margin added around each crop on every side, as a fraction of the box size.</summary>
    [Parameter]
    [ValidateRange(0.0, 5.0)]
    public float CropMargin { get; set; } = 0.2f;

    /// <summary>Cache root; overrides every other location setting.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CachePath { get; set; }

    /// <summary>How the cache root is arranged: Native (the default), Uniface or HuggingFace; each layout has its own default root.</summary>
    [Parameter]
    [ValidateSet("Native", "Uniface", "HuggingFace")]
    public string Layout { get; set; } = "Native";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Mirror { get; set; }

    [Parameter]
    public SwitchParameter Offline { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CatalogPath { get; set; }

    void IDisposable.Dispose()
    {
        StopPipeline();
        Dispose();
    }

    protected override void Begin()
    {
        if (IsHubLayout(Layout))
        {
            ThrowLayoutNotSupported(Layout, "detector models are catalog models, found in Native or Uniface caches.", "Use -Layout Native or Uniface (or -Model with a file path).");
        }

        _literalPathArgument = MyInvocation.BoundParameters.ContainsKey(nameof(LiteralPath));
    }

    protected override void Process()
    {
        try
        {
            AddInput();
        }
        catch
        {
            StopPipeline();
            throw;
        }
    }

    private void AddInput()
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
                    AddPath(GetUnresolvedProviderPathFromPSPath(path), path, pipedItem: !_literalPathArgument);
                }

                break;
            default:
                throw new InvalidOperationException("Unknown parameter set " + ParameterSetName);
        }
    }

    protected override void End()
    {
        try
        {
            _inputEnded = true;
            if (_filesGiven == 0 && _pipedFolders.Count > 0)
            {
                WriteWarning($"No images: the input was {_pipedFolders.Count} folder object(s) from the pipeline (first '{_pipedFolders[0]}'), which are skipped because Get-ChildItem sends their files too. Pass a folder by name to detect the images in it: Invoke-FaceDetect -Path <folder> [-Recurse].");
            }

            if (_pipeline is null)
            {
                return;
            }

            _pipeline.CompleteAdding();
            while (_pipeline.Take(out var outcome, StopToken))
            {
                Accept(outcome!);
            }

            WriteProgressRecord(force: true);
        }
        finally
        {
            StopPipeline();
        }
    }

    private void StopPipeline()
    {
        var pipeline = _pipeline;
        _pipeline = null;
        pipeline?.Dispose();

        // The session stays leased while any image of this command may still use it.
        var lease = _lease;
        _lease = null;
        lease?.Dispose();
    }

    /// <summary>Queues one image, first writing finished results while the in-flight bound is reached, then whatever else is ready.</summary>
    private void Submit(string file, object input, string? baseDirectory)
    {
        var pipeline = Start();
        if (pipeline is null)
        {
            return;
        }

        _occurrences.TryGetValue(file, out var occurrence);
        _occurrences[file] = occurrence + 1;
        FaceOutputPlan? plan = null;
        if (_outputs is not null)
        {
            // Reserved here, in input order, so output names are stable from run to run.
            try
            {
                _outputs.AddSources(new[] { file });
                plan = _outputs.Reserve(file, occurrence, baseDirectory);
            }
            catch (ModelCacheException ex)
            {
                WriteFailure(ex, input);
                return;
            }
        }

        while (_submitted - _emitted >= pipeline.MaxInFlight && pipeline.Take(out var outcome, StopToken))
        {
            Accept(outcome!);
        }

        if (plan is not null)
        {
            _plans[_submitted] = plan;
        }

        pipeline.Add(new FaceDetectionWorkItem(_submitted++, file, occurrence, input), StopToken);
        while (pipeline.TryTake(out var ready))
        {
            Accept(ready!);
        }
    }

    /// <summary>Loads the model and starts the pipeline on the first image; null when the user declined saving the model.</summary>
    private FaceDetectionPipeline? Start()
    {
        if (_started)
        {
            return _pipeline;
        }

        _started = true;
        var detector = LoadDetector();
        if (detector is null)
        {
            return null;
        }

        var annotated = AnnotatedPath is null ? null : GetUnresolvedProviderPathFromPSPath(AnnotatedPath);
        var crops = CropPath is null ? null : GetUnresolvedProviderPathFromPSPath(CropPath);
        _outputs = annotated is null && crops is null ? null : new FaceOutputPlanner(annotated, crops, Force);
        var options = new FaceDetectionOptions
        {
            ConfidenceThreshold = Bound(nameof(ConfidenceThreshold)) ? ConfidenceThreshold : null,
            NmsThreshold = Bound(nameof(NmsThreshold)) ? NmsThreshold : null,
            MaxFaces = Bound(nameof(MaxFaces)) ? MaxFaces : null,
            InputSize = Bound(nameof(InputSize)) ? InputSize : null,
            Tile = Tile.IsPresent,
            ModelName = _modelName,
            MaxPixels = MaxPixels,
        };
        var decoders = Math.Max(1, Math.Min(ThrottleLimit, System.Environment.ProcessorCount));
        var writes = _outputs is not null;
        _pipeline = new FaceDetectionPipeline(detector, options, ThrottleLimit, decoders, writes ? WriteOutputs : null, StopToken);
        WriteVerbose($"{_modelName}: {detector.Layout}; confidence ≥ {options.ConfidenceThreshold ?? detector.DefaultConfidenceThreshold}, NMS IoU {options.NmsThreshold ?? detector.DefaultNmsThreshold}; {ThrottleLimit} image(s) in inference and {decoders} decoding at a time, at most {_pipeline.MaxInFlight} in flight; {(Unordered ? "results as completed" : "results in input order")}.");
        return _pipeline;
    }

    /// <summary>Runs on an inference worker: the annotated copy and the crops of one image, at the names reserved for it.</summary>
    private void WriteOutputs(FaceDetectionWorkItem item, FaceDetectionResult result)
    {
        if (!_plans.TryRemove(item.Index, out var plan))
        {
            return;
        }

        if (plan.AnnotatedPath is not null)
        {
            FaceImageWriter.WriteAnnotated(result, plan, MaxPixels);
        }

        if (plan.CropStem is not null)
        {
            FaceImageWriter.WriteCrops(result, plan, CropMargin, MaxPixels);
        }
    }

    /// <summary>Takes a finished outcome: written at once with -Unordered, else held until every earlier image is written.</summary>
    private void Accept(FaceDetectionOutcome outcome)
    {
        if (Unordered)
        {
            Write(outcome);
            return;
        }

        _pending[outcome.Item.Index] = outcome;
        while (_pending.TryGetValue(_nextToEmit, out var next))
        {
            _pending.Remove(_nextToEmit);
            _nextToEmit++;
            Write(next);
        }
    }

    private void Write(FaceDetectionOutcome outcome)
    {
        _emitted++;
        var input = outcome.Item.Tag;
        if (outcome.Result is { } result)
        {
            Emit(result);
        }
        else if (outcome.Error is ModelCacheException failure)
        {
            WriteFailure(failure, input);
        }
        else if (outcome.Error is { } ex)
        {
            WriteError(ErrorRecords.Create("FaceDetectionFailed", ErrorCategory.InvalidResult, $"Face detection failed on '{outcome.Item.Path}': {ex.Message}", null, input, ex));
        }

        WriteProgressRecord(force: false);
    }

    private void WriteProgressRecord(bool force)
    {
        if (!force && _clock.Elapsed - _lastProgress < ProgressInterval)
        {
            return;
        }

        _lastProgress = _clock.Elapsed;
        var done = _inputEnded && _emitted == _submitted;
        var status = _inputEnded ? $"{_emitted} of {_submitted} images" : $"{_emitted} images done, {_submitted - _emitted} in progress";
        var record = new ProgressRecord(1, "Detecting faces (" + _modelName + ")", status)
        {
            PercentComplete = _inputEnded && _submitted > 0 ? (int)(100 * _emitted / _submitted) : -1,
            RecordType = done ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        };
        WriteProgress(record);
    }

    private string? _modelName;

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
                $"{model.Name} is not a face detector: its task is '{model.Task}'.",
                "Pick a face_detection model (Get-ModelCatalog | Where-Object Task -eq face_detection); a model imported without -Task is face_detection only when its inputs and outputs are a known detector layout.", Model));
        }

        try
        {
            NativeLibraryLoader.EnsureLoaded();
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, Model));
        }

        var store = OpenStore(CachePath, ParseLayout(Layout));
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
            _lease = RentOptimized(store, model) ?? RentOriginal(entry);
            return _lease.Detector;
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

    /// <summary>
    /// The session of the model's optimized copy (Optimize-ModelCache -Precompile) when one matches this model's
    /// verified SHA-256, this ONNX Runtime and its own recorded hash; null (said with -Verbose) otherwise, or when
    /// ONNX Runtime cannot load it, so the original is used.
    /// </summary>
    private FaceDetectorLease? RentOptimized(CacheStore store, ModelDefinition model)
    {
        // The opener or the saver has just verified the original against model.Sha256.
        var lookup = RunAsync((_, token) => ModelUse.OptimizedCopies.FindAsync(store, model, model.Sha256, token));
        if (lookup.Path is null)
        {
            WriteVerbose($"Loading the original model: {lookup.Reason}.");
            return null;
        }

        try
        {
            // Keyed by the copy's own content, and as pre-optimized: never the original's session.
            var lease = FaceDetection.Pool.Rent(lookup.Path, lookup.Sha256!, new FaceDetectorSettings { IntraOpThreads = IntraOpThreads, PreOptimized = true }, out var created);
            WriteVerbose($"Loaded the {lookup.Reason}.");
            WriteSessionVerbose(created);
            return lease;
        }
        catch (ModelCacheException ex) when (ex.ErrorId == "ModelLoadFailed")
        {
            WriteVerbose($"Loading the original model: the optimized copy '{lookup.Path}' did not load ({ex.Message}).");
            return null;
        }
    }

    private FaceDetectorLease RentOriginal(ModelCacheEntry entry)
    {
        // Keyed by the file's content: a model re-saved with Save-Model -Force gets a session of its own.
        var lease = FaceDetection.Pool.Rent(entry.Path, entry.Sha256 ?? entry.ExpectedSha256 ?? entry.Path, new FaceDetectorSettings { IntraOpThreads = IntraOpThreads }, out var created);
        WriteVerbose($"Loaded the original model '{entry.Path}'.");
        WriteSessionVerbose(created);
        return lease;
    }

    private void WriteSessionVerbose(bool created) =>
        WriteVerbose($"ONNX Runtime session {(created ? "created" : "reused")}; {FaceDetection.OpenSessions} open in this process.");

    private void AddResolved(string path)
    {
        if (!WildcardPattern.ContainsWildcardCharacters(path))
        {
            AddPath(GetUnresolvedProviderPathFromPSPath(path), path, pipedItem: false);
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

        // A wildcard that also matches folders means the files it matches (photos/* is not a recursive walk).
        foreach (var file in files.Where(f => !Directory.Exists(f)))
        {
            AddFile(file, path, null);
        }
    }

    /// <summary>
    /// A folder means its images (in its subfolders too with -Recurse); anything else is one image. A folder piped as an
    /// item (bound to -LiteralPath by property name) is skipped: Get-ChildItem -Recurse sends its files as well, and
    /// expanding it would detect each of them twice.
    /// </summary>
    private void AddPath(string path, object input, bool pipedItem)
    {
        if (Directory.Exists(path))
        {
            if (pipedItem)
            {
                WriteVerbose($"Skipped the folder '{path}' from the pipeline; its files are taken when they are piped.");
                _pipedFolders.Add(path);
                return;
            }

            AddFolder(path, input);
        }
        else
        {
            AddFile(path, input, null);
        }
    }

    private void AddFolder(string folder, object input)
    {
        ImageFolderListing listing;
        try
        {
            listing = ImageFolder.List(folder, Recurse);
        }
        catch (ModelCacheException ex)
        {
            WriteFailure(ex, input);
            return;
        }

        foreach (var link in listing.SkippedLinks)
        {
            WriteVerbose($"Skipped '{link}': a link to a folder is not followed.");
        }

        foreach (var reason in listing.SkippedFiles)
        {
            WriteWarning($"Skipped {reason}.");
        }

        if (listing.Images.Count == 0)
        {
            var subfolders = !Recurse && listing.Subfolders > 0 ? $" It has {listing.Subfolders} subfolder(s): add -Recurse to include their images." : string.Empty;
            WriteWarning($"No images in '{listing.Folder}'{(Recurse ? " or its subfolders" : string.Empty)}: looked for files named {string.Join(", ", ImageFolder.Extensions.Select(e => "*" + e))} (any case).{subfolders}");
            return;
        }

        WriteVerbose($"{listing.Images.Count} image(s) in '{listing.Folder}'{(Recurse ? " and its subfolders" : string.Empty)}.");
        foreach (var image in listing.Images)
        {
            AddFile(image, input, listing.Folder);
        }
    }

    private void AddFile(string file, object input, string? baseDirectory)
    {
        _filesGiven++;
        if (!System.IO.File.Exists(file))
        {
            WriteError(ErrorRecords.Create("ImageNotFound", ErrorCategory.ObjectNotFound, $"The image '{file}' does not exist.", "Check the path.", input));
            return;
        }

        if ((AnnotatedPath is not null || CropPath is not null) && !ShouldProcess(file, Describe(AnnotatedPath is null ? null : GetUnresolvedProviderPathFromPSPath(AnnotatedPath), CropPath is null ? null : GetUnresolvedProviderPathFromPSPath(CropPath))))
        {
            return;
        }

        Submit(file, input, baseDirectory);
    }

    private static string Describe(string? annotated, string? crops) =>
        string.Join(" and ", new[] { annotated is null ? null : $"Write annotated copy to '{annotated}'", crops is null ? null : $"write face crops to '{crops}'" }.Where(s => s is not null));

    private bool Bound(string parameter) => MyInvocation.BoundParameters.ContainsKey(parameter);

}
