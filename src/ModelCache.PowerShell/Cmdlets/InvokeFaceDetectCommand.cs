using System;
using System.Management.Automation;
using ModelCache.Errors;
using ModelCache.Inference;
using ModelCache.PowerShell.Completion;
using ModelCache.PowerShell.Hosting;

namespace ModelCache.PowerShell.Cmdlets;

/// <summary>
/// Detects faces in images (a folder by name means its images) with a cached face-detection model, saved on first use
/// unless offline: the detector comes from <see cref="DetectorProvision"/>, and images stream through a
/// <see cref="FaceDetectionRun"/> as they arrive, results written in input order unless -Unordered. A file that cannot
/// be read or decoded is a non-terminating error and the batch goes on.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "FaceDetect", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(FaceDetectionResult))]
[OutputType(typeof(Face))]
public sealed class InvokeFaceDetectCommand : ModelCacheCmdlet, IDisposable
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";

    private readonly ImageInputs _inputs = new();
    private FaceDetectionRun? _run;
    private bool _started;
    private bool _inputEnded;
    private bool _literalPathArgument;
    private bool _argumentInput;
    private bool _oneImage;

    /// <summary>Image files or folders of images; wildcards are expanded.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [SupportsWildcards, ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Image files or folders of images, taken literally (FileInfo objects bind here through FullName / PSPath).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "FullName", "LP"), ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>For a folder, also the images in its subfolders (links to folders are not followed).</summary>
    [Parameter] public SwitchParameter Recurse { get; set; }

    /// <summary>Catalog name of a face-detection model.</summary>
    [Parameter, ArgumentCompleter(typeof(ModelNameCompleter)), ValidateNotNullOrEmpty]
    public string Model { get; set; } = "RetinaFace/MNET_V2";

    [Parameter, ValidateRange(0.0, 1.0)] public float ConfidenceThreshold { get; set; }
    [Parameter, ValidateRange(0.0, 1.0)] public float NmsThreshold { get; set; }

    /// <summary>Keep only the N largest faces per image (0 keeps all).</summary>
    [Parameter, ValidateRange(0, int.MaxValue)] public int MaxFaces { get; set; }

    /// <summary>Network input side for models with a dynamic input size.</summary>
    [Parameter, ValidateRange(32, 8192)] public int InputSize { get; set; }

    /// <summary>Also scan large photos in overlapping full-resolution windows (small faces).</summary>
    [Parameter] public SwitchParameter Tile { get; set; }

    /// <summary>Images processed at the same time (default: the core count, at most 4; on 2 cores, 2 images at once run twice as fast as 1).</summary>
    [Parameter, ValidateRange(1, 64)] public int ThrottleLimit { get; set; } = Math.Min(System.Environment.ProcessorCount, 4);

    /// <summary>Threads ONNX Runtime uses inside one image (default: the cores divided by -ThrottleLimit, at least 1, or every core for a call known to be one image; 0: ONNX Runtime's default, all cores).</summary>
    [Parameter, ValidateRange(0, 256)] public int IntraOpThreads { get; set; }

    /// <summary>Write each result as soon as its image is done instead of in input order.</summary>
    [Parameter] public SwitchParameter Unordered { get; set; }

    /// <summary>Emit one object per face instead of one per image.</summary>
    [Parameter] public SwitchParameter AsFace { get; set; }

    /// <summary>Directory for a copy of each image with boxes, scores and landmarks drawn.</summary>
    [Parameter, ValidateNotNullOrEmpty] public string? AnnotatedPath { get; set; }

    /// <summary>Directory for one image file per face.</summary>
    [Parameter, ValidateNotNullOrEmpty] public string? CropPath { get; set; }

    /// <summary>Let -AnnotatedPath and -CropPath replace existing files (never a source image).</summary>
    [Parameter] public SwitchParameter Force { get; set; }

    /// <summary>Images with more pixels than this (read from the header) are refused, or decoded scaled down where the format allows.</summary>
    [Parameter, ValidateRange(1, long.MaxValue)] public long MaxPixels { get; set; } = ImageLimits.DefaultMaxPixels;

    /// <summary>Margin added around each crop on every side, as a fraction of the box size.</summary>
    [Parameter, ValidateRange(0.0, 5.0)] public float CropMargin { get; set; } = 0.2f;

    /// <summary>Cache root; overrides every other location setting.</summary>
    [Parameter, ValidateNotNullOrEmpty] public string? CachePath { get; set; }

    /// <summary>How the cache root is arranged: Native (the default), Uniface or HuggingFace; each layout has its own default root.</summary>
    [Parameter, ValidateSet("Native", "Uniface", "HuggingFace")] public string Layout { get; set; } = "Native";
    [Parameter, ValidateNotNullOrEmpty] public string[]? Mirror { get; set; }
    [Parameter] public SwitchParameter Offline { get; set; }
    [Parameter, ValidateNotNullOrEmpty] public string[]? CatalogPath { get; set; }

    void IDisposable.Dispose()
    {
        StopRun();
        Dispose();
    }

    protected override void Begin()
    {
        if (IsHubLayout(Layout))
        {
            ThrowLayoutNotSupported(Layout, "detector models are catalog models, found in Native or Uniface caches.", "Use -Layout Native or Uniface (or -Model with a file path).");
        }

        _literalPathArgument = MyInvocation.BoundParameters.ContainsKey(nameof(LiteralPath));
        // Bound as an argument, the whole input is known at the first record (pipeline input could not bind as well).
        _argumentInput = _literalPathArgument || MyInvocation.BoundParameters.ContainsKey(nameof(Path));
    }

    protected override void Process()
    {
        try
        {
            var literal = ParameterSetName == LiteralPathSet;
            var paths = literal ? LiteralPath : Path;
            foreach (var path in paths)
            {
                if (literal || !WildcardPattern.ContainsWildcardCharacters(path))
                {
                    AddPath(GetUnresolvedProviderPathFromPSPath(path), path, pipedItem: literal && !_literalPathArgument, onlyPath: _argumentInput && paths.Length == 1);
                }
                else
                {
                    foreach (var file in _inputs.Matched(ResolveWildcardPath(path, "ImageNotFound", "image")))
                    {
                        AddFile(file, path, null);
                    }
                }
            }
        }
        catch
        {
            StopRun();
            throw;
        }
    }

    protected override void End()
    {
        try
        {
            _inputEnded = true;
            _inputs.Complete(Reporter());
            _run?.Complete(Write);
            WriteProgressRecord(force: true);
        }
        finally
        {
            StopRun();
        }
    }

    private void StopRun() => System.Threading.Interlocked.Exchange(ref _run, null)?.Dispose();

    /// <summary>Provisions the detector and starts the run on the first image; null when the user declined saving the model.</summary>
    private FaceDetectionRun? Start()
    {
        if (_started)
        {
            return _run;
        }

        _started = true;
        var provision = new DetectorProvision(ModelUse.DetectorResources(Environment));
        DetectorPlan plan;
        FaceDetectorLease lease;
        try
        {
            plan = provision.Plan(LoadCatalog(CatalogPath), OpenStore(CachePath, ParseLayout(Layout)), Model);
            if (plan.NeedsSave && !ShouldProcess($"{plan.Model.Name} ({plan.ModelPath})", "Save model"))
            {
                return null;
            }

            var sources = ResolveSources(Mirror, BoundSwitch(nameof(Offline), Offline), mirrorOnly: null);
            lease = RunAsync((bridge, token) => provision.ProvideAsync(plan, sources, SessionSettings(), new ProgressWriter(this, bridge, "Saving models"), Reporter(bridge), token));
        }
        catch (ModelCacheException ex)
        {
            ThrowTerminatingError(ErrorRecords.From(ex, Model));
            return null;
        }

        var options = new FaceDetectionOptions
        {
            ConfidenceThreshold = Bound(nameof(ConfidenceThreshold), ConfidenceThreshold), NmsThreshold = Bound(nameof(NmsThreshold), NmsThreshold),
            MaxFaces = Bound(nameof(MaxFaces), MaxFaces), InputSize = Bound(nameof(InputSize), InputSize), Tile = Tile.IsPresent, ModelName = plan.Model.Name, MaxPixels = MaxPixels,
        };
        _run = new FaceDetectionRun(lease, options, new FaceDetectionRunSettings
        {
            ThrottleLimit = ThrottleLimit, Unordered = Unordered, AnnotatedRoot = OutputRoot(AnnotatedPath), CropRoot = OutputRoot(CropPath),
            Force = Force, CropMargin = CropMargin, MaxPixels = MaxPixels,
        }, StopToken);
        WriteVerbose(_run.Description);
        return _run;
    }

    /// <summary>
    /// Unless the user chose, the cores divided among the images in flight (one thread each on a small machine), spinning
    /// off; but every core for a call known to be one image without -Tile, which would otherwise leave the other cores idle
    /// while the model runs (a session of its own in the pool: its thread count is fixed when it is built).
    /// </summary>
    private FaceDetectorSettings SessionSettings() => new()
    {
        IntraOpThreads = MyInvocation.BoundParameters.ContainsKey(nameof(IntraOpThreads)) ? IntraOpThreads
            : FaceDetectorSettings.DefaultIntraOpThreads(_oneImage && !Tile.IsPresent ? 1 : ThrottleLimit, System.Environment.ProcessorCount),
    };

    private void Write(FaceDetectionOutcome outcome)
    {
        FaceDetectionOutput.Write(this, outcome, AsFace);
        WriteProgressRecord(force: false);
    }

    private void WriteProgressRecord(bool force)
    {
        if (_run is { } run && FaceDetectionOutput.Progress(run, _inputEnded, force) is { } record)
        {
            WriteProgress(record);
        }
    }

    /// <summary>A folder means its images (see <see cref="ImageInputs"/>), anything else one image.</summary>
    private void AddPath(string path, object input, bool pipedItem, bool onlyPath)
    {
        var set = _inputs.Expand(path, input, pipedItem, Recurse, Reporter());
        _oneImage = !_started && onlyPath && set.Images.Count == 1;
        foreach (var image in set.Images)
        {
            AddFile(image, input, set.BaseDirectory);
        }
    }

    private void AddFile(string file, object input, string? baseDirectory)
    {
        var writes = FaceDetectionRunSettings.DescribeWrites(OutputRoot(AnnotatedPath), OutputRoot(CropPath));
        if ((writes is not null && !ShouldProcess(file, writes)) || Start() is not { } run)
        {
            return;
        }

        try
        {
            run.Add(file, input, baseDirectory, Write);
        }
        catch (ModelCacheException ex)
        {
            WriteFailure(ex, input);
        }
    }

    private string? OutputRoot(string? path) => path is null ? null : GetUnresolvedProviderPathFromPSPath(path);

    private T? Bound<T>(string parameter, T value) where T : struct => MyInvocation.BoundParameters.ContainsKey(parameter) ? value : null;
}
