using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.ML.OnnxRuntime;
using ModelCache.Inference;

// Usage: dotnet run -c Release --project bench/ModelCache.Bench [-- --images 100 --models a.onnx,b.onnx --configs 1x2,2x1 --decoders 0 --rounds 3]
// Issue 10 goal, measured in one run per model and thread setting (intra-op threads T × parallel images P,
// the same total on both sides):
//   raw      ONNX Runtime Run on a prepared tensor, P threads sharing one session of T intra-op threads;
//   stream   the pipeline Invoke-FaceDetect uses (FaceDetectionPipeline: decode workers feeding P inference
//            workers over one session of T threads, at most MaxInFlight images in flight) over N distinct
//            files (the fixture photos copied);
//   baseline what Invoke-FaceDetect did before streaming (Parallel.For of FaceDetector.Detect, P at a time).
// Goal: stream/raw ≥ 0.87 for every model whose raw Run takes ≥ 10 ms; for the tiny ones, images/s and the
// share of per-image work spent decoding (decode + resize + tensor write) are reported.
var images = 100;
string[]? only = null;
var configs = new List<(int Intra, int Parallel)> { (1, 2), (2, 1) };
var decoderOverride = 0;
var rounds = 3;
for (var i = 0; i < args.Length - 1; i++)
{
    switch (args[i])
    {
        case "--images": images = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--models": only = args[i + 1].Split(','); break;
        case "--configs":
            configs = args[i + 1].Split(',').Select(c => c.Split('x')).Select(p => (int.Parse(p[0], CultureInfo.InvariantCulture), int.Parse(p[1], CultureInfo.InvariantCulture))).ToList();
            break;
        case "--decoders": decoderOverride = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--rounds": rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
    }
}

const double Goal = 0.87;
const double HeavyMs = 10;
var root = FindRepoRoot();
var fixtures = Path.GetFullPath(Path.Combine(root, "..", "shared", "fixtures"));
var sources = Directory.GetFiles(Path.Combine(fixtures, "images")).OrderBy(f => f, StringComparer.Ordinal).ToArray();
var folder = Path.Combine(Path.GetTempPath(), "modelcache-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
Directory.CreateDirectory(folder);
var batch = Enumerable.Range(0, images).Select(i =>
{
    var source = sources[i % sources.Length];
    var copy = Path.Combine(folder, i.ToString("000", CultureInfo.InvariantCulture) + "_" + Path.GetFileName(source));
    File.Copy(source, copy, overwrite: true);
    return copy;
}).ToArray();
var models = Directory.GetFiles(Path.Combine(fixtures, "models"), "*.onnx").OrderBy(f => f, StringComparer.Ordinal)
    .Where(m => only is null || only.Contains(Path.GetFileName(m))).ToArray();

Console.WriteLine($"{Environment.ProcessorCount} cores; load average at start: {LoadAverage()}; {images} distinct files ({sources.Length} fixture photos copied); goal stream/raw ≥ {Goal:0.00} where raw Run ≥ {HeavyMs:0} ms");
Console.WriteLine($"{"model",-44} {"T×P",4} {"dec",3} {"raw ms",7} {"raw img/s",9} {"stream/s",9} {"ratio",6} {"base/s",7} {"base×",6} {"decode%",7}  verdict");
try
{
    foreach (var model in models)
    {
        foreach (var (intra, parallel) in configs)
        {
            var decoders = decoderOverride > 0 ? decoderOverride : Math.Max(1, Math.Min(parallel, Environment.ProcessorCount));
            using var detector = new FaceDetector(model, new FaceDetectorSettings { IntraOpThreads = intra });
            // Interleaved rounds (raw, stream, baseline) so that a change in the machine's load hits all three; medians.
            var raws = new List<double>();
            var streams = new List<double>();
            var baselines = new List<double>();
            var shares = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                raws.Add(RawRunsPerSecond(model, intra, parallel, images));
                streams.Add(Stream(detector, batch, parallel, decoders, out var share));
                shares.Add(share);
                baselines.Add(Baseline(detector, batch, parallel));
            }

            var raw = Median(raws);
            var stream = Median(streams);
            var baseline = Median(baselines);
            var decodeShare = Median(shares);
            var rawMs = 1000.0 * parallel / raw;
            var ratio = stream / raw;
            var ratios = raws.Zip(streams, (r, s) => s / r).ToList();
            var verdict = rawMs >= HeavyMs ? (ratio >= Goal ? "goal met" : $"MISS (goal {Goal:0.00})") : "tiny: report img/s, decode share";
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,-44} {1,4} {2,3} {3,7:0.0} {4,9:0.0} {5,9:0.0} {6,6:0.00} {7,7:0.0} {8,6:0.00} {9,6:0}%  {10} (round ratios {11})",
                $"{Path.GetFileName(model)} ({detector.Family})", $"{intra}×{parallel}", decoders, rawMs, raw, stream, ratio, baseline, baseline / raw, 100 * decodeShare, verdict, string.Join(" ", ratios.Select(r => r.ToString("0.00", CultureInfo.InvariantCulture)))));
        }
    }
}
finally
{
    Directory.Delete(folder, recursive: true);
}

Console.WriteLine($"load average at end: {LoadAverage()}");

// The cmdlet's path: feed the pipeline keeping at most MaxInFlight images in flight, take outcomes as they come.
static double Stream(FaceDetector detector, string[] batch, int parallel, int decoders, out double decodeShare)
{
    var options = new FaceDetectionOptions();
    foreach (var warm in batch.Take(3))
    {
        detector.Detect(warm, options);
    }

    double decode = 0, infer = 0;
    var clock = Stopwatch.StartNew();
    using (var pipeline = new FaceDetectionPipeline(detector, options, parallel, decoders))
    {
        long submitted = 0, taken = 0;
        void Take(FaceDetectionOutcome o)
        {
            if (o.Error is not null)
            {
                throw new InvalidOperationException("Detection failed on " + o.Item.Path, o.Error);
            }

            taken++;
            decode += o.DecodeTime.TotalMilliseconds;
            infer += o.InferenceTime.TotalMilliseconds;
        }

        foreach (var file in batch)
        {
            while (submitted - taken >= pipeline.MaxInFlight && pipeline.Take(out var o, CancellationToken.None))
            {
                Take(o!);
            }

            pipeline.Add(new FaceDetectionWorkItem(submitted++, file));
            while (pipeline.TryTake(out var ready))
            {
                Take(ready!);
            }
        }

        pipeline.CompleteAdding();
        while (pipeline.Take(out var rest, CancellationToken.None))
        {
            Take(rest!);
        }
    }

    decodeShare = decode / (decode + infer);
    return batch.Length / clock.Elapsed.TotalSeconds;
}

// Before streaming: Parallel.For over Detect (decode and inference on the same thread), P at a time.
static double Baseline(FaceDetector detector, string[] batch, int parallel)
{
    var clock = Stopwatch.StartNew();
    Parallel.For(0, batch.Length, new ParallelOptions { MaxDegreeOfParallelism = parallel }, i => detector.Detect(batch[i]));
    return batch.Length / clock.Elapsed.TotalSeconds;
}

// Raw ORT: the same session options as FaceDetector (T intra-op threads), one prepared input tensor of the size the
// detector feeds, outputs allocated by ORT; P threads call Run on the one session, `runs` Runs in all.
static double Median(List<double> values)
{
    var sorted = values.OrderBy(v => v).ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}

static double RawRunsPerSecond(string model, int intra, int parallel, int runs)
{
    using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = intra };
    using var session = new InferenceSession(model, options);
    var input = session.InputMetadata.First(p => p.Value.Dimensions.Length == 4 && p.Value.Dimensions[0] is 1 or -1 && (p.Value.Dimensions[1] == 3 || p.Value.Dimensions[3] == 3));
    var shape = input.Value.Dimensions.Select(d => (long)(d < 0 ? 640 : d)).ToArray();
    var data = new float[shape.Aggregate(1L, (a, d) => a * d)];
    var random = new Random(1);
    for (var i = 0; i < data.Length; i++)
    {
        data[i] = (float)random.NextDouble();
    }

    using var value = OrtValue.CreateTensorValueFromMemory(data, shape);
    using var runOptions = new RunOptions();
    var names = new[] { input.Key };
    var outputs = session.OutputMetadata.Keys.ToArray();
    for (var i = 0; i < 3; i++)
    {
        using var warm = session.Run(runOptions, names, new[] { value }, outputs);
    }

    var next = -1;
    var clock = Stopwatch.StartNew();
    var threads = Enumerable.Range(0, parallel).Select(_ => new Thread(() =>
    {
        while (Interlocked.Increment(ref next) < runs)
        {
            using var result = session.Run(runOptions, names, new[] { value }, outputs);
        }
    })).ToList();
    threads.ForEach(t => t.Start());
    threads.ForEach(t => t.Join());
    return runs / clock.Elapsed.TotalSeconds;
}

static string LoadAverage()
{
    try
    {
        return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
    }
    catch (IOException)
    {
        return "n/a";
    }
}

static string FindRepoRoot()
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
    {
        if (File.Exists(Path.Combine(d.FullName, "ModelCache.sln")))
        {
            return d.FullName;
        }
    }

    throw new InvalidOperationException("ModelCache.sln not found above " + AppContext.BaseDirectory);
}
