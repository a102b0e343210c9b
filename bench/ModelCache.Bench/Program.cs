using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using ModelCache.Inference;

// Usage: dotnet run -c Release --project bench/ModelCache.Bench [-- --images 100 --models scrfd_500m_kps.onnx,...]
// For each fixture model: (1) raw ORT Run on one prepared tensor, (2) full FaceDetector.Detect on
// N fixture images (the per-image work of Invoke-FaceDetect), sequential and 2 in parallel
// (Invoke-FaceDetect -ThrottleLimit 1 / 2 use the same Parallel.For over one shared session).
var images = 100;
string[]? only = null;
for (var i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--images") images = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    if (args[i] == "--models") only = args[i + 1].Split(',');
}

var root = FindRepoRoot();
var fixtures = Path.GetFullPath(Path.Combine(root, "..", "shared", "fixtures"));
var imageFiles = Directory.GetFiles(Path.Combine(fixtures, "images")).OrderBy(f => f, StringComparer.Ordinal).ToArray();
var batch = Enumerable.Range(0, images).Select(i => imageFiles[i % imageFiles.Length]).ToArray();
var models = Directory.GetFiles(Path.Combine(fixtures, "models"), "*.onnx").OrderBy(f => f, StringComparer.Ordinal)
    .Where(m => only is null || only.Contains(Path.GetFileName(m))).ToArray();

Console.WriteLine($"{Environment.ProcessorCount} cores, {images} images ({imageFiles.Length} fixture images cycled), ONNX Runtime default threads unless noted");
Console.WriteLine($"{"model",-46} {"raw ms",7} {"full ms",8} {"ratio",6} {"img/s TL1",10} {"img/s TL2",10} {"TL2 intra1",11}");
foreach (var model in models)
{
    var raw = RawRunMs(model, images);
    using var detector = new FaceDetector(model);
    var tl1 = Detect(detector, batch, 1);
    var tl2 = Detect(detector, batch, 2);
    using var single = new FaceDetector(model, new FaceDetectorSettings { IntraOpThreads = 1 });
    var tl2Intra1 = Detect(single, batch, 2);
    var full = tl1.TotalMilliseconds / images;
    Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,-46} {1,7:0.0} {2,8:0.0} {3,6:0.00} {4,10:0.0} {5,10:0.0} {6,11:0.0}",
        $"{Path.GetFileName(model)} ({detector.Family})", raw, full, full / raw, images / tl1.TotalSeconds, images / tl2.TotalSeconds, images / tl2Intra1.TotalSeconds));
}

static TimeSpan Detect(FaceDetector detector, string[] batch, int throttle)
{
    foreach (var warm in batch.Take(3))
    {
        detector.Detect(warm);
    }

    var clock = Stopwatch.StartNew();
    Parallel.For(0, batch.Length, new ParallelOptions { MaxDegreeOfParallelism = throttle }, i => detector.Detect(batch[i]));
    return clock.Elapsed;
}

// Raw ORT: same session options as FaceDetector, one input tensor prepared once, outputs allocated by ORT.
static double RawRunMs(string model, int runs)
{
    using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
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

    var clock = Stopwatch.StartNew();
    for (var i = 0; i < runs; i++)
    {
        using var result = session.Run(runOptions, names, new[] { value }, outputs);
    }

    return clock.Elapsed.TotalMilliseconds / runs;
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
