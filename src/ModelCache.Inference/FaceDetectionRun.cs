using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;

namespace ModelCache.Inference;

/// <summary>How a <see cref="FaceDetectionRun"/> runs and what it writes beside its results.</summary>
public sealed class FaceDetectionRunSettings
{
    /// <summary>Images in inference at the same time.</summary>
    public int ThrottleLimit { get; set; } = 1;

    /// <summary>Results as they complete instead of in input order.</summary>
    public bool Unordered { get; set; }

    /// <summary>Folder for annotated copies (full path), or null.</summary>
    public string? AnnotatedRoot { get; set; }

    /// <summary>Folder for face crops (full path), or null.</summary>
    public string? CropRoot { get; set; }

    /// <summary>Annotated copies and crops may replace existing files (never a source image).</summary>
    public bool Force { get; set; }

    public float CropMargin { get; set; } = 0.2f;

    public long MaxPixels { get; set; } = ImageLimits.DefaultMaxPixels;

    /// <summary>What writing annotated copies to <paramref name="annotatedRoot"/> and crops to <paramref name="cropRoot"/> means, for a confirmation; null when neither is written.</summary>
    public static string? DescribeWrites(string? annotatedRoot, string? cropRoot) => annotatedRoot is null && cropRoot is null ? null
        : string.Join(" and ", new[] { annotatedRoot is null ? null : $"Write annotated copy to '{annotatedRoot}'", cropRoot is null ? null : $"write face crops to '{cropRoot}'" }.Where(s => s is not null));

    /// <summary>True when annotated copies or crops are written.</summary>
    public bool WritesImages => AnnotatedRoot is not null || CropRoot is not null;
}

/// <summary>
/// One detection run over a stream of images with a leased detector: a bounded <see cref="FaceDetectionPipeline"/> (decode
/// workers feeding inference workers), output names reserved in input order so they are stable from run to run, and
/// outcomes handed back in input order (or as completed). The host adds images as they arrive and writes what it is
/// given; it blocks in <see cref="Add"/> only when the in-flight bound is reached. Disposing ends the lease.
/// </summary>
public sealed class FaceDetectionRun : IDisposable
{
    private readonly FaceDetectionRunSettings _settings;
    private readonly FaceDetectionPipeline _pipeline;
    private readonly FaceOutputPlanner? _outputs;
    private readonly FaceDetectorLease _lease;
    private readonly CancellationToken _cancellationToken;
    private readonly string _modelName;
    private readonly Dictionary<string, int> _occurrences = new(StringComparer.Ordinal);
    private readonly Dictionary<long, FaceDetectionOutcome> _pending = new();
    private readonly ConcurrentDictionary<long, FaceOutputPlan> _plans = new();
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(200);
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private TimeSpan _lastProgress = -ProgressInterval;
    private long _nextToEmit;
    private bool _disposed;

    /// <param name="lease">The detector (from <see cref="DetectorProvision"/>); the run owns it from here.</param>
    /// <param name="options">Detection options for every image.</param>
    /// <param name="settings">Parallelism, ordering and image outputs.</param>
    /// <param name="cancellationToken">Stops every worker.</param>
    public FaceDetectionRun(FaceDetectorLease lease, FaceDetectionOptions options, FaceDetectionRunSettings settings, CancellationToken cancellationToken)
    {
        _lease = lease;
        _settings = settings;
        _modelName = options.ModelName ?? string.Empty;
        _cancellationToken = cancellationToken;
        _outputs = settings.WritesImages ? new FaceOutputPlanner(settings.AnnotatedRoot, settings.CropRoot, settings.Force) : null;
        // When the images in flight already cover the cores, each worker decodes and runs its own image back to back (the
        // hand-written loop's shape, fastest on few cores: no extra threads, no hand-off); with cores to spare, separate
        // decoders prepare the next images on them while the session runs (issue 22, docs/face-detection.md).
        DecodeWorkers = settings.ThrottleLimit >= Environment.ProcessorCount ? 0 : Math.Max(1, Environment.ProcessorCount - settings.ThrottleLimit);
        _pipeline = new FaceDetectionPipeline(lease.Detector, options, settings.ThrottleLimit, DecodeWorkers, _outputs is null ? null : WriteImages, cancellationToken);
        var threads = lease.Detector.IntraOpThreads is var n && n > 0 ? $"{n} ONNX Runtime thread(s) per image" : "ONNX Runtime's default threads per image";
        var shape = (DecodeWorkers == 0 ? $"{settings.ThrottleLimit} image(s) at a time, each decoded and run by one worker" : $"{settings.ThrottleLimit} image(s) in inference and {DecodeWorkers} decoding at a time")
            + ", " + threads;
        Description = $"{options.ModelName}: {lease.Detector.Layout}; confidence ≥ {options.ConfidenceThreshold ?? lease.Detector.DefaultConfidenceThreshold}, NMS IoU {options.NmsThreshold ?? lease.Detector.DefaultNmsThreshold}; "
            + $"{shape}, at most {_pipeline.MaxInFlight} in flight; {(settings.Unordered ? "results as completed" : "results in input order")}; "
            + $"colour JPEGs decoded by {(TurboJpeg.IsAvailable ? "the system's libjpeg-turbo" : "SkiaSharp")}.";
    }

    /// <summary>The model's catalog name (FaceDetectionOptions.ModelName).</summary>
    public string ModelName => _modelName;

    /// <summary>What the run does, for a verbose line.</summary>
    public string Description { get; }

    /// <summary>Separate decode workers; 0 when each worker decodes its own images (the fused shape).</summary>
    public int DecodeWorkers { get; }

    /// <summary>Images added.</summary>
    public long Submitted { get; private set; }

    /// <summary>Outcomes handed back.</summary>
    public long Emitted { get; private set; }

    /// <summary>
    /// How far the run is, for a progress line, at most every 200 ms unless <paramref name="force"/>d (null in between);
    /// <paramref name="inputEnded"/> once every image has been added.
    /// </summary>
    public (string Status, int PercentComplete, bool Done)? Progress(bool inputEnded, bool force)
    {
        if (!force && _clock.Elapsed - _lastProgress < ProgressInterval)
        {
            return null;
        }

        _lastProgress = _clock.Elapsed;
        return (inputEnded ? $"{Emitted} of {Submitted} images" : $"{Emitted} images done, {Submitted - Emitted} in progress",
            inputEnded && Submitted > 0 ? (int)(100 * Emitted / Submitted) : -1,
            inputEnded && Emitted == Submitted);
    }

    /// <summary>
    /// Queues one image, first handing back finished outcomes while the in-flight bound is reached, then whatever else is
    /// ready. <paramref name="tag"/> comes back with the outcome.
    /// </summary>
    /// <exception cref="Errors.ModelCacheException">Its output names cannot be reserved (nothing is queued).</exception>
    public void Add(string file, object? tag, string? baseDirectory, Action<FaceDetectionOutcome> write)
    {
        _occurrences.TryGetValue(file, out var occurrence);
        _occurrences[file] = occurrence + 1;
        FaceOutputPlan? plan = null;
        if (_outputs is not null)
        {
            // Reserved here, in input order, so output names are stable from run to run.
            _outputs.AddSources(new[] { file });
            plan = _outputs.Reserve(file, occurrence, baseDirectory);
        }

        while (Submitted - Emitted >= _pipeline.MaxInFlight && _pipeline.Take(out var outcome, _cancellationToken))
        {
            Accept(outcome!, write);
        }

        if (plan is not null)
        {
            _plans[Submitted] = plan;
        }

        _pipeline.Add(new FaceDetectionWorkItem(Submitted++, file, occurrence, tag), _cancellationToken);
        while (_pipeline.TryTake(out var ready))
        {
            Accept(ready!, write);
        }
    }

    /// <summary>No more images: hands back every remaining outcome.</summary>
    public void Complete(Action<FaceDetectionOutcome> write)
    {
        _pipeline.CompleteAdding();
        while (_pipeline.Take(out var outcome, _cancellationToken))
        {
            Accept(outcome!, write);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _pipeline.Dispose();

        // The session stays leased while any image of this run may still use it.
        _lease.Dispose();
    }

    /// <summary>Written at once when unordered, else held until every earlier image is written.</summary>
    private void Accept(FaceDetectionOutcome outcome, Action<FaceDetectionOutcome> write)
    {
        if (_settings.Unordered)
        {
            Emitted++;
            write(outcome);
            return;
        }

        _pending[outcome.Item.Index] = outcome;
        while (_pending.TryGetValue(_nextToEmit, out var next))
        {
            _pending.Remove(_nextToEmit);
            _nextToEmit++;
            Emitted++;
            write(next);
        }
    }

    /// <summary>Runs on an inference worker: the annotated copy and the crops of one image, at the names reserved for it.</summary>
    private void WriteImages(FaceDetectionWorkItem item, FaceDetectionResult result)
    {
        if (!_plans.TryRemove(item.Index, out var plan))
        {
            return;
        }

        if (plan.AnnotatedPath is not null)
        {
            FaceImageWriter.WriteAnnotated(result, plan, _settings.MaxPixels);
        }

        if (plan.CropStem is not null)
        {
            FaceImageWriter.WriteCrops(result, plan, _settings.CropMargin, _settings.MaxPixels);
        }
    }
}
