using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.ML.OnnxRuntime;
using ModelCache.Errors;
using ModelCache.Inference.Layouts;
using SkiaSharp;

namespace ModelCache.Inference;

/// <summary>
/// One face-detection model loaded in one ONNX Runtime session. The family (RetinaFace, SCRFD,
/// YOLOv5-Face, YOLOv8-Face, BlazeFace, UltraFace) is recognised from the model's own inputs and
/// outputs. <see cref="Detect"/> is thread-safe: ONNX Runtime sessions may run concurrently, and
/// every call rents its own tensor buffers.
/// </summary>
public sealed class FaceDetector : IDisposable
{
    private const int MaxTiles = 16;
    private readonly InferenceSession _session;
    private readonly FaceModelLayout _layout;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly RunOptions _runOptions = new();
    private readonly ConcurrentBag<TensorBuffers> _buffers = new();

    public FaceDetector(string modelPath, FaceDetectorSettings? settings = null)
    {
        ModelPath = Path.GetFullPath(modelPath);
        Name = Path.GetFileNameWithoutExtension(modelPath);
        if (!File.Exists(ModelPath))
        {
            throw new ModelCacheException("ModelFileNotFound", ModelCacheErrorKind.NotFound, $"The model file '{ModelPath}' does not exist.", "Check the path or save the model with Save-Model.");
        }

        var intraOp = settings?.IntraOpThreads ?? 0;
        IntraOpThreads = intraOp;
        TileWorkers = Math.Max(1, Environment.ProcessorCount / (intraOp > 0 ? intraOp : Environment.ProcessorCount));

        // Recognised from the file's own graph before ONNX Runtime builds anything: an unknown model never gets a session.
        var admitted = ModelAdmission.Check(ModelPath);
        using var options = (settings ?? new FaceDetectorSettings()).CreateSessionOptions();
        ModelAdmission.Bound(options, admitted);
        try
        {
            _session = new InferenceSession(ModelPath, options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelCacheException("ModelLoadFailed", ModelCacheErrorKind.InvalidData,
                $"ONNX Runtime cannot load '{ModelPath}': {ex.Message}", "Check that the file is a valid ONNX model (Test-ModelHash, or Save-Model -Force).", ex);
        }

        try
        {
            Signature = ModelSignature.FromSession(_session);
            _layout = FaceModelLayouts.Detect(Signature, ModelPath);
        }
        catch
        {
            _session.Dispose();
            throw;
        }

        _inputNames = new[] { _layout.InputName };
        _outputNames = Signature.Outputs.Select(o => o.Name).ToArray();
    }

    /// <summary>Full path of the ONNX file.</summary>
    public string ModelPath { get; }

    /// <summary>Name reported in results unless the caller gives one (file name without extension).</summary>
    public string Name { get; }

    /// <summary>Detector family recognised from the model's metadata.</summary>
    public string Family => _layout.Family;

    /// <summary>Family, input size and preprocessing, for diagnostics.</summary>
    public string Layout => _layout.Describe();

    public float DefaultConfidenceThreshold => _layout.DefaultConfidence;

    public float DefaultNmsThreshold => _layout.DefaultNms;

    /// <summary>True when the model reports facial landmarks.</summary>
    public bool HasLandmarks => _layout.HasLandmarks;

    /// <summary>The model's fixed input width, or null when it accepts any size.</summary>
    public int? FixedInputWidth => _layout.IsFixedSize ? _layout.FixedWidth : null;

    /// <summary>The model's fixed input height, or null when it accepts any size.</summary>
    public int? FixedInputHeight => _layout.IsFixedSize ? _layout.FixedHeight : null;

    internal ModelSignature Signature { get; }

    internal FaceModelLayout ModelLayout => _layout;

    /// <summary>Detects faces in the image file at <paramref name="imagePath"/>.</summary>
    /// <exception cref="ModelCacheException">The image cannot be read or decoded, or an option does not fit the model.</exception>
    public FaceDetectionResult Detect(string imagePath, FaceDetectionOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var prepared = Prepare(imagePath, options ?? new FaceDetectionOptions(), cancellationToken);
        return Complete(prepared, cancellationToken);
    }

    /// <summary>
    /// The decode half of <see cref="Detect"/>: decodes the image (scaled down where the format
    /// allows), resizes it and writes the whole-image input tensor into a pooled buffer. Without
    /// tiling the decoded pixels are released here, so a prepared image holds only its tensor.
    /// </summary>
    internal PreparedImage Prepare(string imagePath, FaceDetectionOptions options, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var (inputWidth, inputHeight) = ResolveInputSize(options.InputSize);
        var stretch = _layout.Preprocessing.Resize == ResizeMode.Stretch;
        var tiling = options.Tile;
        var image = ImageLoader.Load(imagePath, tiling ? null : (w, h) => stretch
            ? Math.Max((float)inputWidth / w, (float)inputHeight / h)
            : Math.Min((float)inputWidth / w, (float)inputHeight / h), options.MaxPixels ?? ImageLimits.DefaultMaxPixels);
        TensorBuffers? buffers = null;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            buffers = Rent(inputWidth, inputHeight);
            var whole = new SKRectI(0, 0, image.Bitmap.Width, image.Bitmap.Height);
            var geometry = PrepareRegion(image, whole, buffers);
            var prepared = new PreparedImage(this, imagePath, options, image.Width, image.Height, buffers, geometry, tiling ? image : null, clock.Elapsed);
            buffers = null;
            if (!tiling)
            {
                image.Dispose();
            }

            return prepared;
        }
        catch
        {
            image.Dispose();
            if (buffers is not null)
            {
                Return(buffers);
            }

            throw;
        }
    }

    /// <summary>The inference half of <see cref="Detect"/>: runs the session on the prepared tensor (and the tiles), then NMS.</summary>
    internal FaceDetectionResult Complete(PreparedImage prepared, CancellationToken cancellationToken)
    {
        if (!ReferenceEquals(prepared.Detector, this) || prepared.Buffers is null)
        {
            throw new ArgumentException("The image was prepared for another detector, or already completed.", nameof(prepared));
        }

        var clock = Stopwatch.StartNew();
        var options = prepared.Options;
        var threshold = options.ConfidenceThreshold ?? _layout.DefaultConfidence;
        var nms = options.NmsThreshold ?? _layout.DefaultNms;
        var candidates = new List<Candidate>();
        var buffers = prepared.Buffers;
        if (prepared.Image is { } image)
        {
            InferTiled(prepared, image, threshold, candidates, cancellationToken);
        }
        else
        {
            InferRegion(prepared.Geometry, buffers, threshold, candidates, dropInnerEdges: false);
        }

        var kept = Nms.Largest(Nms.Apply(candidates, nms), options.MaxFaces ?? 0);
        var faces = kept.Select(c => ToFace(prepared.Path, c, prepared.Width, prepared.Height)).ToList();
        return new FaceDetectionResult(prepared.Path, prepared.Width, prepared.Height, options.ModelName ?? Name, faces, prepared.DecodeTime + clock.Elapsed);
    }

    /// <summary>
    /// The whole-image pass and the tiles of one image, spread over <see cref="TileWorkers"/> threads that each write and
    /// run their own tensor (a photo with -Tile is 5–17 Runs: on one thread the other cores would idle while a
    /// hand-written loop shares the tiles out, issue 22). Candidates are merged in plan order, so the result is the same
    /// as one thread's.
    /// </summary>
    private void InferTiled(PreparedImage prepared, LoadedImage image, float threshold, List<Candidate> into, CancellationToken cancellationToken)
    {
        var first = prepared.Buffers!;
        var tiles = Tiles(image.Bitmap.Width, image.Bitmap.Height, first.Width, first.Height, prepared.Options.TileOverlap).ToList();
        var found = new List<Candidate>[tiles.Count + 1];
        var next = 0;
        void Work(TensorBuffers buffers, bool wholeFirst)
        {
            if (wholeFirst)
            {
                // The whole-image tensor was written by Prepare into this worker's buffers.
                found[0] = new List<Candidate>();
                InferRegion(prepared.Geometry, buffers, threshold, found[0], dropInnerEdges: false);
            }

            for (var i = Interlocked.Increment(ref next); i <= tiles.Count; i = Interlocked.Increment(ref next))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var geometry = PrepareRegion(image, tiles[i - 1], buffers);
                found[i] = new List<Candidate>();
                InferRegion(geometry, buffers, threshold, found[i], dropInnerEdges: true);
            }
        }

        var helpers = Math.Min(TileWorkers, tiles.Count + 1) - 1;
        if (helpers <= 0)
        {
            Work(first, wholeFirst: true);
        }
        else
        {
            var tasks = new Task[helpers];
            for (var h = 0; h < helpers; h++)
            {
                tasks[h] = Task.Run(() =>
                {
                    var own = Rent(first.Width, first.Height);
                    try
                    {
                        Work(own, wholeFirst: false);
                    }
                    finally
                    {
                        Return(own);
                    }
                }, CancellationToken.None);
            }

            Exception? failure = null;
            try
            {
                Work(first, wholeFirst: true);
            }
            catch (Exception ex)
            {
                failure = ex;
                Interlocked.Exchange(ref next, int.MaxValue / 2);
            }

            foreach (var task in tasks)
            {
                try
                {
                    task.GetAwaiter().GetResult();
                }
                catch (Exception ex)
                {
                    failure ??= ex;
                }
            }

            if (failure is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
            }
        }

        foreach (var list in found)
        {
            into.AddRange(list);
        }
    }

    /// <summary>Threads the regions of one tiled image are spread over: the cores its session's threads leave free, at least one.</summary>
    internal int TileWorkers { get; }

    /// <summary>ONNX Runtime's threads inside one Run (0: its default, every core).</summary>
    public int IntraOpThreads { get; }

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
        while (_buffers.TryTake(out var buffers))
        {
            buffers.Dispose();
        }
    }

    /// <summary>Tiles (in decoded pixels) of about the network input size, overlapping, covering the image; at most 16.</summary>
    internal static IEnumerable<SKRectI> Tiles(int width, int height, int inputWidth, int inputHeight, float overlap)
    {
        if (width <= inputWidth && height <= inputHeight)
        {
            yield break;
        }

        overlap = Math.Max(0f, Math.Min(0.5f, overlap));
        double tileW = inputWidth, tileH = inputHeight;
        int Count(double size, int total) => total <= size ? 1 : 1 + (int)Math.Ceiling((total - size) / (size * (1 - overlap)));
        while (Count(tileW, width) * Count(tileH, height) > MaxTiles)
        {
            tileW *= 1.25;
            tileH *= 1.25;
        }

        int tw = (int)Math.Min(width, Math.Round(tileW)), th = (int)Math.Min(height, Math.Round(tileH));
        int nx = Count(tw, width), ny = Count(th, height);
        for (var j = 0; j < ny; j++)
        {
            for (var i = 0; i < nx; i++)
            {
                var x = nx == 1 ? 0 : (int)Math.Round((double)(width - tw) * i / (nx - 1));
                var y = ny == 1 ? 0 : (int)Math.Round((double)(height - th) * j / (ny - 1));
                yield return new SKRectI(x, y, x + tw, y + th);
            }
        }
    }

    private (int Width, int Height) ResolveInputSize(int? requested)
    {
        if (_layout.IsFixedSize)
        {
            if (requested is { } size && size != _layout.FixedWidth && size != _layout.FixedHeight)
            {
                throw new ModelCacheException("InputSizeNotSupported", ModelCacheErrorKind.InvalidArgument,
                    $"{Name} has a fixed {_layout.FixedWidth}×{_layout.FixedHeight} input and cannot run at {size}.",
                    "Leave out -InputSize, or use -Tile to find small faces in large photos.");
            }

            return (_layout.FixedWidth, _layout.FixedHeight);
        }

        var side = requested ?? _layout.DefaultInputSize;
        if (side < 32 || side % 32 != 0)
        {
            throw new ModelCacheException("InputSizeNotSupported", ModelCacheErrorKind.InvalidArgument,
                $"Input size {side} is not supported: it must be a positive multiple of 32.", "Use for example 320, 640 or 1280.");
        }

        return (side, side);
    }

    /// <summary>Resizes one region of the decoded image into the input tensor; returns how to map network pixels back.</summary>
    private RegionGeometry PrepareRegion(LoadedImage image, SKRectI region, TensorBuffers buffers)
    {
        int inputWidth = buffers.Width, inputHeight = buffers.Height;
        int regionWidth = region.Width, regionHeight = region.Height;
        int resizedWidth, resizedHeight, left = 0, top = 0;
        var p = _layout.Preprocessing;
        if (p.Resize == ResizeMode.Stretch)
        {
            (resizedWidth, resizedHeight) = (inputWidth, inputHeight);
        }
        else
        {
            // Sizes rounded as upstream does: insightface/uniface truncate (top-left families),
            // ultralytics rounds (centred families); this keeps counts on crowds identical to theirs.
            var r = Math.Min((double)inputWidth / regionWidth, (double)inputHeight / regionHeight);
            var round = p.Resize == ResizeMode.LetterboxCenter;
            resizedWidth = Math.Max(1, Math.Min(inputWidth, round ? (int)Math.Round(regionWidth * r) : (int)(regionWidth * r)));
            resizedHeight = Math.Max(1, Math.Min(inputHeight, round ? (int)Math.Round(regionHeight * r) : (int)(regionHeight * r)));
            if (p.Resize == ResizeMode.LetterboxCenter)
            {
                left = (inputWidth - resizedWidth) / 2;
                top = (inputHeight - resizedHeight) / 2;
            }
        }

        var source = image.Bitmap;
        var whole = region.Left == 0 && region.Top == 0 && regionWidth == source.Width && regionHeight == source.Height;
        if (whole && resizedWidth == regionWidth && resizedHeight == regionHeight)
        {
            TensorWriter.Write(source, left, top, inputWidth, inputHeight, p, buffers.Input);
        }
        else if (Math.Max((double)regionWidth / resizedWidth, (double)regionHeight / resizedHeight) <= 4)
        {
            // Plain bilinear like the upstream demos (cv2 INTER_LINEAR), fused with normalisation: one pass
            // from the decoded pixels into the tensor, no intermediate bitmap.
            TensorWriter.WriteScaled(source, region, resizedWidth, resizedHeight, left, top, inputWidth, inputHeight, p, buffers.Input);
        }
        else
        {
            using var subset = whole ? null : new SKBitmap();
            if (subset is not null && !source.ExtractSubset(subset, region))
            {
                throw new InvalidOperationException("Cannot take the tile " + region + " of the image.");
            }

            var resized = buffers.Scratch(resizedWidth, resizedHeight, source.ColorType);
            var downscale = Math.Max((double)regionWidth / resizedWidth, (double)regionHeight / resizedHeight);
            // Plain bilinear like the upstream demos (cv2 INTER_LINEAR); mipmaps only where bilinear would alias badly.
            var sampling = downscale > 4 ? new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear) : new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None);
            if (!(subset ?? source).ScalePixels(resized, sampling))
            {
                throw new InvalidOperationException("SkiaSharp could not resize the image.");
            }

            TensorWriter.Write(resized, left, top, inputWidth, inputHeight, p, buffers.Input);
        }

        return new RegionGeometry(region, resizedWidth, resizedHeight, left, top, image.ScaleX, image.ScaleY, source.Width, source.Height);
    }

    /// <summary>Runs the model on a tensor written by <see cref="PrepareRegion"/> and appends candidates in original pixels.</summary>
    private void InferRegion(RegionGeometry g, TensorBuffers buffers, float threshold, List<Candidate> into, bool dropInnerEdges)
    {
        int inputWidth = buffers.Width, inputHeight = buffers.Height;
        var region = g.Region;
        int regionWidth = region.Width, regionHeight = region.Height, resizedWidth = g.ResizedWidth, resizedHeight = g.ResizedHeight, left = g.Left, top = g.Top;
        float scaleX = g.ScaleX, scaleY = g.ScaleY;
        var outputs = Run(buffers);
        var local = new List<Candidate>();
        _layout.Decode(outputs, inputWidth, inputHeight, threshold, local);

        // Network pixels → decoded-image pixels → original pixels.
        double sx = (double)resizedWidth / regionWidth, sy = (double)resizedHeight / regionHeight;
        float MapX(float x) => (float)((((x - left) / sx) + region.Left) * scaleX);
        float MapY(float y) => (float)((((y - top) / sy) + region.Top) * scaleY);
        var edge = 0.01f * Math.Max(regionWidth, regionHeight);
        foreach (var c in local)
        {
            var m = new Candidate(MapX(c.X1), MapY(c.Y1), MapX(c.X2), MapY(c.Y2), c.Score, c.Landmarks);
            if (m.Landmarks is { } points)
            {
                for (var k = 0; k < points.Length; k += 2)
                {
                    points[k] = MapX(points[k]);
                    points[k + 1] = MapY(points[k + 1]);
                }
            }

            if (dropInnerEdges)
            {
                // A face cut by an inner tile border is whole in a neighbouring tile or in the full-image pass.
                float x1 = (m.X1 / scaleX) - region.Left, y1 = (m.Y1 / scaleY) - region.Top;
                float x2 = (m.X2 / scaleX) - region.Left, y2 = (m.Y2 / scaleY) - region.Top;
                if ((region.Left > 0 && x1 < edge) || (region.Top > 0 && y1 < edge) ||
                    (region.Right < g.SourceWidth && x2 > regionWidth - edge) || (region.Bottom < g.SourceHeight && y2 > regionHeight - edge))
                {
                    continue;
                }
            }

            into.Add(m);
        }
    }

    private ModelOutputs Run(TensorBuffers buffers)
    {
        var nhwc = _layout.Preprocessing.Layout == TensorLayout.Nhwc;
        var shape = nhwc ? new long[] { 1, buffers.Height, buffers.Width, 3 } : new long[] { 1, 3, buffers.Height, buffers.Width };
        using var input = OrtValue.CreateTensorValueFromMemory(buffers.Input, shape);
        var inputs = new[] { input };
        if (buffers.Outputs is { } preallocated)
        {
            // Static output shapes: ONNX Runtime writes straight into our arrays.
            var values = new OrtValue[preallocated.Length];
            try
            {
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = OrtValue.CreateTensorValueFromMemory(preallocated[i], Array.ConvertAll(buffers.OutputShapes![i], d => (long)d));
                }

                RunSession(() => _session.Run(_runOptions, _inputNames, inputs, _outputNames, values));
            }
            finally
            {
                foreach (var value in values)
                {
                    value?.Dispose();
                }
            }

            return new ModelOutputs(preallocated, buffers.OutputShapes!);
        }

        using var results = RunSession(() => _session.Run(_runOptions, _inputNames, inputs, _outputNames));
        var data = buffers.OutputCopies(results.Count);
        var shapes = new int[results.Count][];
        var k = 0;
        foreach (var result in results)
        {
            shapes[k] = Array.ConvertAll(result.GetTensorTypeAndShape().Shape, d => (int)d);
            // Copied into arrays kept with the tensor buffers: a 640 input's outputs are about 1 MB, a new large-object
            // allocation per image otherwise. The outputs are decoded before these buffers serve another image.
            var values = result.GetTensorDataAsSpan<float>();
            if (data[k]?.Length != values.Length)
            {
                data[k] = new float[values.Length];
            }

            values.CopyTo(data[k]);
            k++;
        }

        return new ModelOutputs(data, shapes);
    }

    private T RunSession<T>(Func<T> run)
    {
        try
        {
            return run();
        }
        catch (OnnxRuntimeException ex) when (ModelAdmission.IsArenaExhausted(ex))
        {
            throw new ModelCacheException("ModelMemoryLimitExceeded", ModelCacheErrorKind.ResourceUnavailable,
                $"Running '{ModelPath}' needs more than the {ModelAdmission.TensorMemoryLimit / 1048576} MiB ONNX Runtime may use in this process, so it was stopped: {FirstLine(ex.Message)}",
                "Use a smaller -InputSize, leave out -Tile, or use another model; a model whose run needs gigabytes is not a usable face detector.", ex);
        }
    }

    private void RunSession(Action run) => RunSession<object?>(() =>
    {
        run();
        return null;
    });

    private static string FirstLine(string text)
    {
        var end = text.IndexOfAny(new[] { '\r', '\n' });
        return end < 0 ? text : text.Substring(0, end);
    }

    internal TensorBuffers Rent(int width, int height)
    {
        var skipped = new List<TensorBuffers>();
        try
        {
            while (_buffers.TryTake(out var candidate))
            {
                if (candidate.Width == width && candidate.Height == height)
                {
                    return candidate;
                }

                skipped.Add(candidate);
            }
        }
        finally
        {
            foreach (var b in skipped)
            {
                _buffers.Add(b);
            }
        }

        float[][]? outputs = null;
        int[][]? shapes = null;
        if (_layout.IsFixedSize && Signature.Outputs.All(o => o.IsFloat && o.Dimensions.All(d => d > 0)))
        {
            shapes = Signature.Outputs.Select(o => o.Dimensions).ToArray();
            outputs = shapes.Select(s => new float[s.Aggregate(1, (a, d) => a * d)]).ToArray();
        }

        return new TensorBuffers(width, height, new float[3 * width * height], outputs, shapes);
    }

    internal void Return(TensorBuffers buffers)
    {
        // Enough for a streaming pipeline's decode workers, queue and inference workers on this machine.
        if (_buffers.Count < (2 * Environment.ProcessorCount) + 4)
        {
            _buffers.Add(buffers);
        }
        else
        {
            buffers.Dispose();
        }
    }

    private static Face ToFace(string path, Candidate c, int width, int height)
    {
        float x1 = Clamp(c.X1, width), y1 = Clamp(c.Y1, height), x2 = Clamp(c.X2, width), y2 = Clamp(c.Y2, height);
        FaceLandmarks? landmarks = null;
        if (c.Landmarks is { } p)
        {
            FacePoint? Point(int k) => float.IsNaN(p[2 * k]) || float.IsNaN(p[(2 * k) + 1]) ? null : new FacePoint(p[2 * k], p[(2 * k) + 1]);
            landmarks = new FaceLandmarks(Point(0), Point(1), Point(2), Point(3), Point(4));
        }

        return new Face(path, new FaceBox(x1, y1, x2 - x1, y2 - y1), c.Score, landmarks);
    }

    private static float Clamp(float value, int max) => Math.Max(0, Math.Min(max, value));

    internal sealed class TensorBuffers : IDisposable
    {
        private SKBitmap? _scratch;

        public TensorBuffers(int width, int height, float[] input, float[][]? outputs, int[][]? outputShapes)
        {
            Width = width;
            Height = height;
            Input = input;
            Outputs = outputs;
            OutputShapes = outputShapes;
        }

        public int Width { get; }

        public int Height { get; }

        public float[] Input { get; }

        public float[][]? Outputs { get; }

        public int[][]? OutputShapes { get; }

        private float[][]? _outputCopies;

        /// <summary>Arrays for <paramref name="count"/> dynamic-shape outputs, reused from image to image (an entry is null or of the last length).</summary>
        public float[][] OutputCopies(int count)
        {
            if (_outputCopies is null || _outputCopies.Length != count)
            {
                _outputCopies = new float[count][];
            }

            return _outputCopies;
        }

        /// <summary>A resize target of exactly this size and colour type, kept with the buffers so it is not allocated per image.</summary>
        public SKBitmap Scratch(int width, int height, SKColorType colorType)
        {
            if (_scratch is null || _scratch.Width != width || _scratch.Height != height || _scratch.ColorType != colorType)
            {
                _scratch?.Dispose();
                _scratch = new SKBitmap(new SKImageInfo(width, height, colorType, SKAlphaType.Opaque));
            }

            return _scratch;
        }

        public void Dispose() => _scratch?.Dispose();
    }

    /// <summary>Where a region sits in the network input and how to map back to original pixels.</summary>
    internal readonly struct RegionGeometry
    {
        public RegionGeometry(SKRectI region, int resizedWidth, int resizedHeight, int left, int top, float scaleX, float scaleY, int sourceWidth, int sourceHeight)
        {
            Region = region;
            ResizedWidth = resizedWidth;
            ResizedHeight = resizedHeight;
            Left = left;
            Top = top;
            ScaleX = scaleX;
            ScaleY = scaleY;
            SourceWidth = sourceWidth;
            SourceHeight = sourceHeight;
        }

        public SKRectI Region { get; }

        public int ResizedWidth { get; }

        public int ResizedHeight { get; }

        public int Left { get; }

        public int Top { get; }

        public float ScaleX { get; }

        public float ScaleY { get; }

        public int SourceWidth { get; }

        public int SourceHeight { get; }
    }
}
