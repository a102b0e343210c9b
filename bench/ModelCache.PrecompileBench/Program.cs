// Session creation and first detection, original model vs its optimized copy (Optimize-ModelCache -Precompile),
// for each fixture model, in the same run and interleaved round by round so machine load hits both alike.
//   dotnet run -c Release --project bench/ModelCache.PrecompileBench -- [--rounds 7] [--image zidane.jpg] [--fixtures dir]
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using ModelCache.Catalog;
using ModelCache.Inference;
using ModelCache.Store;

var rounds = 7;
var imageName = "zidane.jpg";
var fixtures = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../../shared/fixtures"));
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--rounds": rounds = int.Parse(args[i + 1]); break;
        case "--image": imageName = args[i + 1]; break;
        case "--fixtures": fixtures = Path.GetFullPath(args[i + 1]); break;
        default: throw new ArgumentException("Unknown option " + args[i]);
    }
}

var image = Path.Combine(fixtures, "images", imageName);
var root = Path.Combine(Path.GetTempPath(), "modelcache-precompile-bench-" + Guid.NewGuid().ToString("N").Substring(0, 8));
var store = new CacheStore(root);
store.EnsureWritable();
var copies = new OptimizedModelCache();
try
{
    // The first decode and the first session in a process pay one-off costs: paid here, before any measurement.
    using (var warm = new FaceDetector(Path.Combine(fixtures, "models", "version-slim-320.onnx")))
    {
        warm.Detect(image);
    }

    Console.WriteLine($"{Environment.ProcessorCount} cores, load average {LoadAverage()}; {rounds} rounds, medians; image {imageName}");
    Console.WriteLine("session: creating the ONNX Runtime session; first: the first Detect on it; steady: median of the next 3 Detects (ms).");
    Console.WriteLine("orig = original, ORT_ENABLE_ALL; opt = optimized copy, ORT_DISABLE_ALL (ONNX Runtime's advice); opt+ALL = optimized copy, ORT_ENABLE_ALL (what Invoke-FaceDetect does). Ratios: orig / opt, orig / opt+ALL.");
    Console.WriteLine($"{"model",-46} {"session orig/opt/+ALL",-20} {"ratio",6} {"ratio",6}  {"first orig/opt/+ALL",-22} {"ratio",6} {"ratio",6}  {"steady orig/opt/+ALL",-22} {"build",6}");
    foreach (var file in Directory.GetFiles(Path.Combine(fixtures, "models"), "*.onnx").OrderBy(f => f, StringComparer.Ordinal))
    {
        var model = Cache(file);
        var build = Stopwatch.StartNew();
        copies.PrecompileAsync(store, model).GetAwaiter().GetResult();
        build.Stop();
        var original = store.GetModelPath(model);
        var optimized = store.GetOptimizedModelPath(model);
        var runs = new Dictionary<string, (List<double> Session, List<double> First, List<double> Steady)>
        {
            ["orig"] = (new(), new(), new()), ["opt"] = (new(), new(), new()), ["opt+ALL"] = (new(), new(), new()),
        };
        for (var round = 0; round < rounds; round++)
        {
            Measure(runs["orig"], original, new FaceDetectorSettings());
            Measure(runs["opt"], optimized, new FaceDetectorSettings { PreOptimized = true, OptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_DISABLE_ALL });
            Measure(runs["opt+ALL"], optimized, new FaceDetectorSettings { PreOptimized = true });
        }

        double M(List<double> xs) => xs.OrderBy(x => x).ElementAt(xs.Count / 2);
        var (so, sp, sa) = (M(runs["orig"].Session), M(runs["opt"].Session), M(runs["opt+ALL"].Session));
        var (fo, fp, fa) = (M(runs["orig"].First), M(runs["opt"].First), M(runs["opt+ALL"].First));
        var (to, tp, ta) = (M(runs["orig"].Steady), M(runs["opt"].Steady), M(runs["opt+ALL"].Steady));
        Console.WriteLine($"{Path.GetFileName(file),-46} {$"{so:0.0} / {sp:0.0} / {sa:0.0}",-20} {so / sp,5:0.00}× {so / sa,5:0.00}×  {$"{fo:0.0} / {fp:0.0} / {fa:0.0}",-22} {fo / fp,5:0.00}× {fo / fa,5:0.00}×  {$"{to:0.0} / {tp:0.0} / {ta:0.0}",-22} {build.ElapsedMilliseconds,6}");
    }

    Console.WriteLine($"load average after: {LoadAverage()}");
}
finally
{
    Directory.Delete(root, recursive: true);
}

void Measure((List<double> Session, List<double> First, List<double> Steady) into, string path, FaceDetectorSettings settings)
{
    var clock = Stopwatch.StartNew();
    using var detector = new FaceDetector(path, settings);
    into.Session.Add(clock.Elapsed.TotalMilliseconds);
    clock.Restart();
    detector.Detect(image);
    into.First.Add(clock.Elapsed.TotalMilliseconds);
    var steady = new List<double>();
    for (var i = 0; i < 3; i++)
    {
        clock.Restart();
        detector.Detect(image);
        steady.Add(clock.Elapsed.TotalMilliseconds);
    }

    into.Steady.Add(steady.OrderBy(x => x).ElementAt(1));
}

ModelDefinition Cache(string file)
{
    using var stream = File.OpenRead(file);
    var sha = Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    var model = new ModelDefinition("Bench", Path.GetFileNameWithoutExtension(file).Replace('.', '_'), "face_detection", Path.GetFileName(file),
        new Uri("https://example.invalid/" + Path.GetFileName(file)), sha, new FileInfo(file).Length);
    var partial = store.PreparePartial(model);
    File.Copy(file, partial);
    store.Commit(model, partial, sha, null);
    return model;
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
