// Issue 22's benchmark: Invoke-FaceDetect through real pwsh against the loop an engineer would write in an
// afternoon, per fixture model, every figure measured in the same run and interleaved round by round.
//   dotnet run -c Release --project bench/ModelCache.FaceLoopBench -- [--rounds 5] [--models scrfd,retina] [--images 60]
//       [--passes 3] [--warm-passes 3] [--single-calls 5] [--fixtures dir] [--skip-cmdlet]
// Needs the module built (dotnet build ModelCache.sln) and the repository's pwsh tool (dotnet tool restore).
//
// Per model and round, each pass on fresh copies of the fixture JPEGs (a new temp folder per pass, so no pass
// reuses decoded images or results):
//   raw     Run only, on a prepared tensor, 2 threads sharing the loop's session;
//   seq     one thread: decode + letterbox, then Run, timed apart per image -> ideal = 2 / (decode + Run);
//   loop    HandLoop.Pass, best of --passes: 2 threads, each decode (smallest DCT scale covering the input) + letterbox + Run on
//           one shared session (1 intra-op thread, spinning off); VOID when below 0.94 x its ideal;
//   cmdlet  a child `dotnet pwsh`: Import-Module ModelCache.psd1, --warm-passes untimed passes, then the best of --passes
//           Invoke-FaceDetect -LiteralPath <files> -Model <name> with default settings, timed inside pwsh;
//           then the first result of one image in that warm process (median of --single-calls calls, fresh copies), and -Tile on the large photo;
//   tile    -Tile on a fixture group photo scaled to 3000 px wide (made at start): the loop decodes it once and its 2
//           threads share the whole-image pass and the tiles of the cmdlet's own plan (FaceDetector.Tiles); goal <= 1.2x.
// Ratios are medians of the per-round ratios (each round pairs loop and cmdlet under the same load).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using ModelCache.FaceLoopBench;

var rounds = 5;
var imageCount = 60;
var passes = 3;
var warmPasses = 3;
var singleCalls = 5;
string[]? only = null;
var skipCmdlet = false;
var repo = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
var fixtures = Path.GetFullPath(Path.Combine(repo, "../shared/fixtures"));
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException(args[i] + " needs a value");
    switch (args[i])
    {
        case "--rounds": rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--images": imageCount = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--passes": passes = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--warm-passes": warmPasses = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--single-calls": singleCalls = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--models": only = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
        case "--fixtures": fixtures = Path.GetFullPath(Next()); break;
        case "--skip-cmdlet": skipCmdlet = true; break;
        default: throw new ArgumentException("Unknown option " + args[i]);
    }
}

if (rounds < 1 || imageCount < 2 || passes < 1 || warmPasses < 1 || singleCalls < 1)
{
    throw new ArgumentException("--rounds, --passes, --warm-passes and --single-calls must be at least 1 and --images at least 2.");
}

// The fixture JPEGs (by content, not extension), each used twice under distinct names: 60 files by default.
var jpegs = Directory.GetFiles(Path.Combine(fixtures, "images")).Where(IsJpeg).OrderBy(f => f, StringComparer.Ordinal).ToArray();
var sources = Enumerable.Range(0, imageCount).Select(n => jpegs[n % jpegs.Length]).ToArray();
var single = jpegs.FirstOrDefault(f => Path.GetFileName(f) == "zidane.jpg") ?? jpegs[0];
var models = FixtureModels.All
    .Where(m => only is null || only.Any(o => m.File.Contains(o, StringComparison.OrdinalIgnoreCase) || m.Name.Contains(o, StringComparison.OrdinalIgnoreCase)))
    .ToList();
if (models.Count == 0)
{
    throw new ArgumentException("--models matches none of: " + string.Join(", ", FixtureModels.All.Select(m => m.Name)));
}

var work = Path.Combine(Path.GetTempPath(), "modelcache-faceloop-bench-" + Guid.NewGuid().ToString("N").Substring(0, 8));
Directory.CreateDirectory(work);

// -Tile's photo: a fixture group photo scaled to 3000 px wide (high-quality resize, JPEG quality 90), made here each run.
var group = Path.Combine(fixtures, "images", "src_meeting.jpg");
var big = Path.Combine(work, "group-3000.jpg");
int bigWidth, bigHeight;
using (var original = SkiaSharp.SKBitmap.Decode(group) ?? throw new InvalidOperationException("Cannot decode " + group))
{
    bigWidth = 3000;
    bigHeight = (int)Math.Round(original.Height * 3000.0 / original.Width);
    using var scaled = original.Resize(new SkiaSharp.SKImageInfo(bigWidth, bigHeight), new SkiaSharp.SKSamplingOptions(SkiaSharp.SKCubicResampler.Mitchell));
    using var data = scaled.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 90);
    File.WriteAllBytes(big, data.ToArray());
}

static IReadOnlyList<SkiaSharp.SKRectI> TilePlan(int width, int height, int inputWidth, int inputHeight) =>
    ModelCache.Inference.FaceDetector.Tiles(width, height, inputWidth, inputHeight, new ModelCache.Inference.FaceDetectionOptions().TileOverlap).ToList();
var pwsh = new CmdletRunner(repo, Path.Combine(repo, "ModelCache.psd1"), Path.Combine(fixtures, "models"), work);
var folders = 0;
string FreshCopies(IReadOnlyList<string> files)
{
    var dir = Path.Combine(work, "pass-" + (++folders).ToString("000", CultureInfo.InvariantCulture));
    Directory.CreateDirectory(dir);
    for (var n = 0; n < files.Count; n++)
    {
        File.Copy(files[n], Path.Combine(dir, $"{n:000}-{Path.GetFileName(files[n])}"));
    }

    return dir;
}

// A folder of <count> subfolders, each with its own fresh copies: one per timed pass or call in the child pwsh.
string FreshSets(IReadOnlyList<string> files, int count)
{
    var root = Path.Combine(work, "sets-" + (++folders).ToString("000", CultureInfo.InvariantCulture));
    Directory.CreateDirectory(root);
    for (var n = 0; n < count; n++)
    {
        Directory.Move(FreshCopies(files), Path.Combine(root, n.ToString("00", CultureInfo.InvariantCulture)));
    }

    return root;
}

string[] Files(string dir) => Directory.GetFiles(dir).OrderBy(f => f, StringComparer.Ordinal).ToArray();

var loops = new Dictionary<FixtureModel, HandLoop>();
var results = models.ToDictionary(m => m, _ => new Measured());
try
{
    Console.WriteLine($"{Environment.ProcessorCount} cores, load average {LoadAverage()}; {rounds} interleaved rounds, medians of the best of {passes} passes (cmdlet: after {warmPasses} untimed ones); {sources.Length} images ({jpegs.Length} fixture JPEGs, each pass on fresh copies)");
    if (!skipCmdlet && ModuleIsDebugBuild(Path.Combine(repo, "module", "bin", "ModelCache.PowerShell.dll")))
    {
        // module/bin holds whichever configuration was built last; a Debug cmdlet against a Release loop is no contest.
        Console.WriteLine("WARNING: module/bin holds a Debug build (JIT optimizations off): rebuild it with -c Release (dotnet run -c Release without --no-build).");
    }

    foreach (var model in models)
    {
        var loop = new HandLoop(Path.Combine(fixtures, "models", model.File), model.Prep);
        loops[model] = loop;
        // The first Runs of a session and the first decodes of a process pay one-off costs: paid here.
        var warm = FreshCopies(sources.Take(4).ToArray());
        loop.Pass(Files(warm), 2);
        Directory.Delete(warm, recursive: true);
        Console.WriteLine($"  {model.Name,-28} {model.File,-44} input {loop.Describe()}");
    }

    for (var round = 0; round < rounds; round++)
    {
        foreach (var model in models)
        {
            var m = results[model];
            var loop = loops[model];
            // Alternate which side goes first so a load trend within a round does not favour one side.
            if (round % 2 == 1 && !skipCmdlet)
            {
                MeasureCmdlet(model, m);
            }

            var dir = FreshCopies(sources);
            m.Raw.Add(loop.RawRun(Files(dir)[0], sources.Length, 2));
            Directory.Delete(dir, recursive: true);

            dir = FreshCopies(sources);
            var (decode, run) = loop.Sequential(Files(dir));
            Directory.Delete(dir, recursive: true);
            m.Decode.Add(decode);
            m.Run.Add(run);
            m.Ideal.Add(2000.0 / (decode + run));

            // Best of the passes, each on its own fresh copies, as on the cmdlet's side.
            var best = 0.0;
            for (var pass = 0; pass < passes; pass++)
            {
                dir = FreshCopies(sources);
                best = Math.Max(best, loop.Pass(Files(dir), 2));
                Directory.Delete(dir, recursive: true);
            }

            m.Loop.Add(best);

            dir = FreshCopies(new[] { big });
            m.LoopTile.Add(loop.TilePass(Files(dir)[0], TilePlan, 2));
            Directory.Delete(dir, recursive: true);

            // The median of single-image calls, each on its own fresh copy, as on the cmdlet's side.
            var calls = new List<double>();
            for (var call = 0; call < singleCalls; call++)
            {
                dir = FreshCopies(new[] { single });
                var clock = Stopwatch.StartNew();
                loop.Pass(Files(dir), 1);
                calls.Add(clock.Elapsed.TotalMilliseconds);
                Directory.Delete(dir, recursive: true);
            }

            m.LoopOne.Add(Median(calls));

            if (round % 2 == 0 && !skipCmdlet)
            {
                MeasureCmdlet(model, m);
            }

            var last = m.Cmdlet.Count == m.Loop.Count ? $"cmdlet {m.Cmdlet[^1],6:0.0} img/s" : "";
            Console.WriteLine($"  round {round + 1}/{rounds} {model.Name,-28} raw {m.Raw[^1],6:0.0}  loop {m.Loop[^1],6:0.0} (ideal {m.Ideal[^1],6:0.0})  {last}");
        }
    }

    Report();
    Console.WriteLine($"load average after: {LoadAverage()}");
}
finally
{
    foreach (var loop in loops.Values)
    {
        loop.Dispose();
    }

    Directory.Delete(work, recursive: true);
}

void MeasureCmdlet(FixtureModel model, Measured m)
{
    var warm = FreshCopies(sources);
    var timed = FreshSets(sources, passes);
    var one = FreshSets(new[] { single }, singleCalls);

    var oneWarm = FreshCopies(new[] { sources.First(s => s != single) });
    var bigWarm = FreshCopies(new[] { big });
    var bigTimed = FreshCopies(new[] { big });
    var (folderMs, count, firstMs, tileMs, tileFaces) = pwsh.Run(model.Name, warm, warmPasses, timed, one, Files(oneWarm)[0], Files(bigTimed)[0], Files(bigWarm)[0]);
    if (count != sources.Length)
    {
        throw new InvalidOperationException($"Invoke-FaceDetect returned {count} results for {sources.Length} images with {model.Name}.");
    }

    m.Cmdlet.Add(sources.Length * 1000.0 / folderMs);
    m.CmdletOne.Add(firstMs);
    m.CmdletTile.Add(tileMs);
    m.TileFaces = tileFaces;
    foreach (var dir in new[] { warm, timed, one, oneWarm, bigWarm, bigTimed })
    {
        Directory.Delete(dir, recursive: true);
    }
}

void Report()
{
    Console.WriteLine();
    Console.WriteLine("Folder throughput (img/s), medians. Run/decode: one thread, ms per image. ideal = 2 / (decode + Run).");
    Console.WriteLine("loop VOID: below 0.94x its ideal (the yardstick itself is off; the verdict does not count).");
    Console.WriteLine("class: Run >= 10 ms -> goal cmdlet/loop >= 1.0x, else >= 0.8x.");
    Console.WriteLine($"{"model",-28} {"Run ms",7} {"dec ms",7} {"raw",7} {"loop",7} {"ideal",7} {"l/ideal",8} {"cmdlet",7} {"c/loop",7} {"dec %",6} {"goal",5}  verdict");
    foreach (var model in models)
    {
        var m = results[model];
        double run = Median(m.Run), decode = Median(m.Decode);
        var loopVsIdeal = Median(m.Loop.Zip(m.Ideal, (l, i) => l / i));
        var voidLoop = loopVsIdeal < 0.94;
        var goal = run >= 10 ? 1.0 : 0.8;
        string cmdlet = "-", ratio = "-", verdict = "not run";
        if (m.Cmdlet.Count > 0)
        {
            var r = Median(m.Cmdlet.Zip(m.Loop, (c, l) => c / l));
            cmdlet = Median(m.Cmdlet).ToString("0.0", CultureInfo.InvariantCulture);
            ratio = r.ToString("0.00", CultureInfo.InvariantCulture) + "x";
            verdict = (r >= goal ? "MET" : "MISSED") + (voidLoop ? " (loop VOID)" : "");
        }

        Console.WriteLine($"{model.Name,-28} {run,7:0.0} {decode,7:0.0} {Median(m.Raw),7:0.0} {Median(m.Loop),7:0.0} {Median(m.Ideal),7:0.0} {loopVsIdeal,7:0.00}{(voidLoop ? "!" : " ")} {cmdlet,7} {ratio,7} {100 * decode / (decode + run),5:0}% {goal,4:0.0}x  {verdict}");
    }

    if (skipCmdlet)
    {
        return;
    }

    Console.WriteLine();
    Console.WriteLine($"One image ({Path.GetFileName(single)}), warm process, ms, medians of {singleCalls} calls per round (each on a fresh copy): the loop's decode + letterbox + Run on one thread vs Invoke-FaceDetect's first result. Goal <= 1.1x.");
    Console.WriteLine($"{"model",-28} {"loop",8} {"cmdlet",8} {"ratio",7}  verdict");
    foreach (var model in models)
    {
        var m = results[model];
        var r = Median(m.CmdletOne.Zip(m.LoopOne, (c, l) => c / l));
        Console.WriteLine($"{model.Name,-28} {Median(m.LoopOne),8:0.0} {Median(m.CmdletOne),8:0.0} {r,6:0.00}x  {(r <= 1.1 ? "MET" : "MISSED")}");
    }

    Console.WriteLine();
    Console.WriteLine($"-Tile on {Path.GetFileName(group)} scaled to {bigWidth}x{bigHeight}, warm process, ms, medians: the loop (decode once, 2 threads share the");
    Console.WriteLine("whole-image pass and the cmdlet's tiles) vs Invoke-FaceDetect -Tile. Goal <= 1.2x.");
    Console.WriteLine($"{"model",-28} {"regions",8} {"loop",8} {"cmdlet",8} {"ratio",7} {"faces",6}  verdict");
    foreach (var model in models)
    {
        var m = results[model];
        var r = Median(m.CmdletTile.Zip(m.LoopTile, (c, l) => c / l));
        Console.WriteLine($"{model.Name,-28} {loops[model].Regions(bigWidth, bigHeight, TilePlan),8} {Median(m.LoopTile),8:0.0} {Median(m.CmdletTile),8:0.0} {r,6:0.00}x {m.TileFaces,6}  {(r <= 1.2 ? "MET" : "MISSED")}");
    }
}

static double Median(IEnumerable<double> values)
{
    var sorted = values.OrderBy(v => v).ToArray();
    return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

static bool IsJpeg(string path)
{
    using var stream = File.OpenRead(path);
    return stream.ReadByte() == 0xFF && stream.ReadByte() == 0xD8 && stream.ReadByte() == 0xFF;
}

static bool ModuleIsDebugBuild(string dll)
{
    var attribute = System.Reflection.Assembly.LoadFile(dll).GetCustomAttributes(typeof(DebuggableAttribute), false).OfType<DebuggableAttribute>().FirstOrDefault();
    return attribute?.IsJITOptimizerDisabled == true;
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

internal sealed class Measured
{
    public List<double> Raw { get; } = new();
    public List<double> Run { get; } = new();
    public List<double> Decode { get; } = new();
    public List<double> Ideal { get; } = new();
    public List<double> Loop { get; } = new();
    public List<double> LoopOne { get; } = new();
    public List<double> Cmdlet { get; } = new();
    public List<double> CmdletOne { get; } = new();
    public List<double> LoopTile { get; } = new();
    public List<double> CmdletTile { get; } = new();
    public int TileFaces { get; set; }
}
