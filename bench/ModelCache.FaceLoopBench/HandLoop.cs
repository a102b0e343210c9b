using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using Microsoft.ML.OnnxRuntime;
using SkiaSharp;

namespace ModelCache.FaceLoopBench;

/// <summary>
/// The baseline of issue 22: what an engineer writes in an afternoon. One shared session (one intra-op thread,
/// spinning off, so the other worker's decode gets the core), and workers that each decode a JPEG at the smallest
/// DCT scale still covering the input, letterbox it into their own float tensor and call Run. No box decoding
/// or NMS (well under a millisecond), no EXIF rotation, no size limits: the yardstick is deliberately lean.
/// </summary>
internal sealed class HandLoop : IDisposable
{
    private static readonly SKSamplingOptions Bilinear = new(SKFilterMode.Linear, SKMipmapMode.None);
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly Prep _prep;
    private readonly bool _nhwc;
    private readonly int _width;
    private readonly int _height;

    // (value − mean) / std per fed channel, for each byte value: the tensor write is a table lookup.
    private readonly float[] _lookup = new float[3 * 256];

    public HandLoop(string modelPath, Prep prep)
    {
        _prep = prep;
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // UltraFace's initializers-as-inputs warnings would bury the table.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        _session = new InferenceSession(modelPath, options);
        _inputNames = new[] { _session.InputNames[0] };
        _outputNames = new string[_session.OutputNames.Count];
        for (var i = 0; i < _outputNames.Length; i++)
        {
            _outputNames[i] = _session.OutputNames[i];
        }

        var dims = _session.InputMetadata[_inputNames[0]].Dimensions;
        _nhwc = dims[3] == 3 && dims[1] != 3;
        _height = _nhwc ? dims[1] : dims[2];
        _width = _nhwc ? dims[2] : dims[3];
        if (_width <= 0 || _height <= 0)
        {
            _width = _height = prep.DefaultSide;
        }

        for (var c = 0; c < 3; c++)
        {
            for (var v = 0; v < 256; v++)
            {
                _lookup[(c * 256) + v] = (v - prep.Mean[c]) / prep.Std[c];
            }
        }
    }

    public string Describe() => string.Format(CultureInfo.InvariantCulture, "{0}x{1} {2} {3} {4}", _width, _height, _nhwc ? "NHWC" : "NCHW", _prep.Bgr ? "BGR" : "RGB", _prep.Fit);

    /// <summary>Images per second over <paramref name="files"/> with <paramref name="threads"/> workers.</summary>
    public double Pass(string[] files, int threads)
    {
        var next = -1;
        var workers = new Thread[threads];
        Exception? failure = null;
        var clock = Stopwatch.StartNew();
        for (var t = 0; t < threads; t++)
        {
            workers[t] = new Thread(() =>
            {
                try
                {
                    using var tensor = new Tensor(_width, _height, _nhwc);
                    for (var i = Interlocked.Increment(ref next); i < files.Length; i = Interlocked.Increment(ref next))
                    {
                        Prepare(files[i], tensor);
                        Run(tensor);
                    }
                }
                catch (Exception ex)
                {
                    Interlocked.CompareExchange(ref failure, ex, null);
                }
            });
            workers[t].Start();
        }

        foreach (var worker in workers)
        {
            worker.Join();
        }

        clock.Stop();
        return failure is null ? files.Length / clock.Elapsed.TotalSeconds : throw new InvalidOperationException("The hand loop failed.", failure);
    }

    /// <summary>Run alone: <paramref name="count"/> Runs over one prepared tensor per worker, img/s.</summary>
    public double RawRun(string image, int count, int threads)
    {
        var tensors = new Tensor[threads];
        for (var t = 0; t < threads; t++)
        {
            tensors[t] = new Tensor(_width, _height, _nhwc);
            Prepare(image, tensors[t]);
        }

        var next = -1;
        var workers = new Thread[threads];
        var clock = Stopwatch.StartNew();
        for (var t = 0; t < threads; t++)
        {
            var tensor = tensors[t];
            workers[t] = new Thread(() =>
            {
                while (Interlocked.Increment(ref next) < count)
                {
                    Run(tensor);
                }
            });
            workers[t].Start();
        }

        foreach (var worker in workers)
        {
            worker.Join();
        }

        clock.Stop();
        foreach (var tensor in tensors)
        {
            tensor.Dispose();
        }

        return count / clock.Elapsed.TotalSeconds;
    }

    /// <summary>One thread, per image: mean decode + letterbox time and mean Run time, in ms.</summary>
    public (double Decode, double Run) Sequential(string[] files)
    {
        using var tensor = new Tensor(_width, _height, _nhwc);
        double decode = 0, run = 0;
        var clock = new Stopwatch();
        foreach (var file in files)
        {
            clock.Restart();
            Prepare(file, tensor);
            decode += clock.Elapsed.TotalMilliseconds;
            clock.Restart();
            Run(tensor);
            run += clock.Elapsed.TotalMilliseconds;
        }

        return (decode / files.Length, run / files.Length);
    }

    private void Run(Tensor tensor)
    {
        using var outputs = _session.Run(_runOptions, _inputNames, tensor.Inputs, _outputNames);
    }

    /// <summary>Decode at the smallest DCT scale that still covers the resized image, resize, write the tensor.</summary>
    private void Prepare(string path, Tensor tensor)
    {
        using var codec = SKCodec.Create(path) ?? throw new InvalidOperationException("Cannot decode " + path);
        int fullWidth = codec.Info.Width, fullHeight = codec.Info.Height;
        int resizedWidth, resizedHeight;
        if (_prep.Fit == Fit.Stretch)
        {
            (resizedWidth, resizedHeight) = (_width, _height);
        }
        else
        {
            var scale = Math.Min((float)_width / fullWidth, (float)_height / fullHeight);
            resizedWidth = Math.Max(1, Math.Min(_width, (int)Math.Round(fullWidth * scale)));
            resizedHeight = Math.Max(1, Math.Min(_height, (int)Math.Round(fullHeight * scale)));
        }

        int left = 0, top = 0;
        if (_prep.Fit == Fit.Center)
        {
            (left, top) = ((_width - resizedWidth) / 2, (_height - resizedHeight) / 2);
        }

        // libjpeg scales by n/8 while decoding: take the smallest n whose output is still at least the resized size.
        var size = codec.Info.Size;
        for (var eighths = 1; eighths < 8; eighths++)
        {
            var scaled = codec.GetScaledDimensions(eighths / 8f);
            if (scaled.Width >= Math.Min(resizedWidth, fullWidth) && scaled.Height >= Math.Min(resizedHeight, fullHeight))
            {
                size = scaled;
                break;
            }
        }

        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var decoded = new SKBitmap(info);
        var result = codec.GetPixels(info, decoded.GetPixels());
        if (result != SKCodecResult.Success)
        {
            throw new InvalidOperationException($"Decoding {path}: {result}");
        }

        Letterbox(decoded, resizedWidth, resizedHeight, left, top, tensor);
    }

    /// <summary>Resizes <paramref name="source"/> (bilinear, Skia) to the resized size and writes it at (left, top).</summary>
    private void Letterbox(SKBitmap source, int resizedWidth, int resizedHeight, int left, int top, Tensor tensor)
    {
        var resized = source;
        if (source.Width != resizedWidth || source.Height != resizedHeight)
        {
            resized = new SKBitmap(new SKImageInfo(resizedWidth, resizedHeight, SKColorType.Rgba8888, SKAlphaType.Opaque));
            source.ScalePixels(resized, Bilinear);
        }

        try
        {
            Write(resized, left, top, tensor.Data);
        }
        finally
        {
            if (!ReferenceEquals(resized, source))
            {
                resized.Dispose();
            }
        }
    }

    /// <summary>Where a region of <paramref name="width"/>×<paramref name="height"/> goes in the input: resized size and offset.</summary>
    private (int Width, int Height, int Left, int Top) Place(int width, int height)
    {
        if (_prep.Fit == Fit.Stretch)
        {
            return (_width, _height, 0, 0);
        }

        var scale = Math.Min((double)_width / width, (double)_height / height);
        var w = Math.Max(1, Math.Min(_width, (int)Math.Round(width * scale)));
        var h = Math.Max(1, Math.Min(_height, (int)Math.Round(height * scale)));
        return _prep.Fit == Fit.Center ? (w, h, (_width - w) / 2, (_height - h) / 2) : (w, h, 0, 0);
    }

    /// <summary>
    /// -Tile's work done by hand, timed in ms: decode the photo once at full size, then <paramref name="threads"/> workers
    /// share out the whole-image pass and the tiles of <paramref name="plan"/> (the cmdlet's own tile plan), each cutting
    /// its region, letterboxing it into its own tensor and calling Run.
    /// </summary>
    public double TilePass(string path, Func<int, int, int, int, System.Collections.Generic.IReadOnlyList<SKRectI>> plan, int threads)
    {
        var clock = Stopwatch.StartNew();
        using var decoded = SKBitmap.Decode(path) ?? throw new InvalidOperationException("Cannot decode " + path);
        var regions = new System.Collections.Generic.List<SKRectI> { new(0, 0, decoded.Width, decoded.Height) };
        regions.AddRange(plan(decoded.Width, decoded.Height, _width, _height));
        var next = -1;
        Exception? failure = null;
        var workers = new Thread[threads];
        for (var t = 0; t < threads; t++)
        {
            workers[t] = new Thread(() =>
            {
                try
                {
                    using var tensor = new Tensor(_width, _height, _nhwc);
                    using var subset = new SKBitmap();
                    for (var i = Interlocked.Increment(ref next); i < regions.Count; i = Interlocked.Increment(ref next))
                    {
                        var region = regions[i];
                        if (!decoded.ExtractSubset(subset, region))
                        {
                            throw new InvalidOperationException("Cannot cut " + region);
                        }

                        var (w, h, left, top) = Place(region.Width, region.Height);
                        Letterbox(subset, w, h, left, top, tensor);
                        Run(tensor);
                    }
                }
                catch (Exception ex)
                {
                    Interlocked.CompareExchange(ref failure, ex, null);
                }
            });
            workers[t].Start();
        }

        foreach (var worker in workers)
        {
            worker.Join();
        }

        return failure is null ? clock.Elapsed.TotalMilliseconds : throw new InvalidOperationException("The tile loop failed.", failure);
    }

    /// <summary>Regions the tile plan gives for this model's input on a <paramref name="width"/>×<paramref name="height"/> photo, plus the whole-image pass.</summary>
    public int Regions(int width, int height, Func<int, int, int, int, System.Collections.Generic.IReadOnlyList<SKRectI>> plan) => 1 + plan(width, height, _width, _height).Count;

    private void Write(SKBitmap image, int left, int top, float[] data)
    {
        int w = image.Width, h = image.Height, plane = _width * _height;
        if (w < _width || h < _height)
        {
            var pad = _prep.Pad;
            for (var c = 0; c < 3; c++)
            {
                var value = _lookup[(c * 256) + pad];
                if (_nhwc)
                {
                    for (var i = c; i < data.Length; i += 3)
                    {
                        data[i] = value;
                    }
                }
                else
                {
                    data.AsSpan(c * plane, plane).Fill(value);
                }
            }
        }

        // Rgba8888 is R, G, B, A in memory; fed channel c reads byte (bgr ? 2 − c : c) of each pixel.
        ReadOnlySpan<byte> pixels = image.GetPixelSpan();
        var stride = image.RowBytes;
        int first = _prep.Bgr ? 2 : 0, step = _prep.Bgr ? -1 : 1;
        for (var y = 0; y < h; y++)
        {
            var row = pixels.Slice(y * stride, w * 4);
            var at = ((top + y) * _width) + left;
            for (var x = 0; x < w; x++, at++)
            {
                var p = x * 4;
                float c0 = _lookup[row[p + first]], c1 = _lookup[256 + row[p + first + step]], c2 = _lookup[512 + row[p + first + (2 * step)]];
                if (_nhwc)
                {
                    data[3 * at] = c0;
                    data[(3 * at) + 1] = c1;
                    data[(3 * at) + 2] = c2;
                }
                else
                {
                    data[at] = c0;
                    data[plane + at] = c1;
                    data[(2 * plane) + at] = c2;
                }
            }
        }
    }

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }

    /// <summary>A worker's input: a float buffer and the OrtValue over it, reused image after image.</summary>
    private sealed class Tensor : IDisposable
    {
        public Tensor(int width, int height, bool nhwc)
        {
            Data = new float[3 * width * height];
            long[] shape = nhwc ? new long[] { 1, height, width, 3 } : new long[] { 1, 3, height, width };
            Inputs = new[] { OrtValue.CreateTensorValueFromMemory(Data, shape) };
        }

        public float[] Data { get; }

        public OrtValue[] Inputs { get; }

        public void Dispose() => Inputs[0].Dispose();
    }
}
