using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

// Export and import throughput against zip -0 / unzip of the same files, medians of several runs, printed as ratios.
var options = new CommandLineReader(args);
int files = 4, sizeMiB = 256, repeat = 3;
string? workDirectory = null;
while (options.Next(out var option))
{
    switch (option)
    {
        case "--files": files = options.PositiveNumber(); break;
        case "--size-mb": sizeMiB = options.PositiveNumber(); break;
        case "--repeat": repeat = options.PositiveNumber(); break;
        case "--work-dir": workDirectory = Path.GetFullPath(options.Value()); break;
        case "-h" or "--help":
            Console.WriteLine("usage: dotnet run -c Release --project bench/ModelCache.BundleBench -- [--files N (4)] [--size-mb N (256)] [--repeat N (3)] [--work-dir DIR]");
            return 0;
        default: throw options.Unknown();
    }
}

if (ExternalTool.Find("zip") is null || ExternalTool.Find("unzip") is null)
{
    Console.Error.WriteLine("zip and unzip are needed for the baselines (apt-get install zip unzip).");
    return 1;
}

using var temp = new TempDirectory(workDirectory is null ? "modelcache-bundlebench" : Path.Combine(workDirectory, "modelcache-bundlebench"));
var cache = temp.Combine("cache");
Directory.CreateDirectory(cache);
var models = new List<(string File, ModelDefinition Model)>();
var buffer = new byte[1 << 20];
var random = new Random(42);
for (var i = 0; i < files; i++)
{
    var name = $"model{i}.onnx";
    var path = Path.Combine(cache, name);
    using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
    using (var output = File.Create(path))
    {
        for (var m = 0; m < sizeMiB; m++)
        {
            random.NextBytes(buffer);
            sha.AppendData(buffer);
            output.Write(buffer);
        }

        models.Add((path, new ModelDefinition("Bench", "M" + i, "face_detection", name, new Uri("https://example.invalid/" + name),
            Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant(), (long)sizeMiB << 20)));
    }
}

var catalog = new ModelCatalog(models.Select(m => m.Model));
long totalBytes = (long)files * sizeMiB << 20;
Console.WriteLine($"{files} files × {sizeMiB} MiB = {totalBytes >> 20} MiB, {repeat} runs each, medians; {Environment.ProcessorCount} cores.");

var export = new List<TimeSpan>();
var zip = new List<TimeSpan>();
var import = new List<TimeSpan>();
var unzip = new List<TimeSpan>();
for (var run = 0; run < repeat; run++)
{
    var bundle = temp.Combine($"bundle{run}.zip");
    var clock = Stopwatch.StartNew();
    await BundleExporter.ExportAsync(models, bundle, "bench", null, (_, failure) => throw failure, default);
    export.Add(clock.Elapsed);

    var zipped = temp.Combine($"zip{run}.zip");
    zip.Add(ExternalTool.Run("zip", new[] { "-0", "-q", "-j", zipped }.Concat(models.Select(m => m.File)).ToArray()));

    var store = new CacheStore(temp.Combine($"imported{run}"));
    using (var opened = Bundle.Open(bundle, catalog))
    using (var planner = new SourcePlanner(Array.Empty<string>(), mirrorOnly: true, offline: true))
    {
        var saver = new ModelSaver(store, planner);
        var source = new BundleSource(opened);
        clock.Restart();
        foreach (var (_, model) in models)
        {
            await saver.SaveFromAsync(model, new IModelSource[] { source }, false, null, null, default);
        }

        import.Add(clock.Elapsed);
    }

    unzip.Add(ExternalTool.Run("unzip", "-q", "-o", zipped, "-d", temp.Combine($"unzipped{run}")));
    foreach (var path in new[] { bundle, zipped })
    {
        File.Delete(path);
    }

    Directory.Delete(temp.Combine($"imported{run}"), true);
    Directory.Delete(temp.Combine($"unzipped{run}"), true);
}

static TimeSpan Median(List<TimeSpan> times) => times.OrderBy(t => t).ElementAt(times.Count / 2);
static string Rate(long bytes, TimeSpan time) => $"{bytes / 1048576.0 / time.TotalSeconds,7:F0} MiB/s";
Console.WriteLine($"export (hashing, stored ZIP)  {Rate(totalBytes, Median(export))}   zip -0  {Rate(totalBytes, Median(zip))}   ratio {Median(zip).TotalSeconds / Median(export).TotalSeconds:F2}× (goal ≥ 0.80×)");
Console.WriteLine($"import (stage, hash, promote) {Rate(totalBytes, Median(import))}   unzip   {Rate(totalBytes, Median(unzip))}   ratio {Median(unzip).TotalSeconds / Median(import).TotalSeconds:F2}× (goal ≥ 0.80×)");
return 0;
