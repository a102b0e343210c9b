using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using ModelCache.Catalog;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.TransferBench;
using Newtonsoft.Json.Linq;

// Get-ModelCache -Summary on a cache of N entries (each saved through the store, with its metadata), computed from
// disk every time, against listing the same folder with find in the same run.
var options = new CommandLineReader(args);
int entries = 10_000, repeat = 5;
string? workDirectory = null;
while (options.Next(out var option))
{
    switch (option)
    {
        case "--entries": entries = options.PositiveNumber(); break;
        case "--repeat": repeat = options.PositiveNumber(); break;
        case "--work-dir": workDirectory = Path.GetFullPath(options.Value()); break;
        case "-h" or "--help":
            Console.WriteLine("usage: dotnet run -c Release --project bench/ModelCache.SummaryBench -- [--entries N (10000)] [--repeat N (5)] [--work-dir DIR]");
            return 0;
        default: throw options.Unknown();
    }
}

if (ExternalTool.Find("find") is null)
{
    Console.Error.WriteLine("find is needed for the baseline.");
    return 1;
}

using var temp = new TempDirectory(workDirectory is null ? "modelcache-summarybench" : Path.Combine(workDirectory, "modelcache-summarybench"));
var root = temp.Combine("cache");
var store = new CacheStore(root);
var models = new List<ModelDefinition>();
var clock = Stopwatch.StartNew();
for (var i = 0; i < entries; i++)
{
    // Small distinct files: the summary reads metadata and sizes, never the bytes, so their size does not matter.
    var bytes = BitConverter.GetBytes(i).Concat(new byte[60]).ToArray();
    var sha = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
    var model = new ModelDefinition("Bench" + (i % 20), "M" + i, i % 3 == 0 ? "face_recognition" : "face_detection", $"m{i}.onnx",
        new Uri($"https://example.invalid/m{i}.onnx"), sha, bytes.Length);
    models.Add(model);
    var partial = store.PreparePartial(model);
    File.WriteAllBytes(partial, bytes);
    store.Commit(model, partial, sha, model.Url!.ToString());
}

var catalogFile = temp.Combine("catalog.json");
File.WriteAllText(catalogFile, new JObject
{
    ["models"] = new JArray(models.Select(m => new JObject
    {
        ["family"] = m.Family, ["member"] = m.Member, ["task"] = m.Task, ["fileName"] = m.FileName,
        ["url"] = m.Url!.ToString(), ["sha256"] = m.Sha256, ["size"] = m.Size,
    })),
}.ToString());
Console.WriteLine($"{entries} entries saved through the store in {clock.Elapsed.TotalSeconds:F1} s; {repeat} runs each, medians; {Environment.ProcessorCount} cores.");

using var shell = new BenchShell(temp.Path, default);
shell.Run($"$env:MODELCACHE_CATALOG = '{catalogFile}'; $env:MODELCACHE_OFFLINE = '1'");
var summary = new List<TimeSpan>();
var summaryCore = new List<TimeSpan>();
var find = new List<TimeSpan>();
var catalog = new ModelCatalog(models);
for (var run = 0; run < repeat; run++)
{
    clock.Restart();
    var result = shell.Run($"Get-ModelCache -Summary -CachePath '{root}'");
    summary.Add(clock.Elapsed);
    if (result.Single().Properties["EntryCount"].Value is not int counted || counted != entries)
    {
        throw new InvalidOperationException($"the summary counted {result.Single().Properties["EntryCount"].Value} entries, expected {entries}");
    }

    clock.Restart();
    new CacheInspector(store).Summarize(catalog, new CacheHealthThresholds(), null, default);
    summaryCore.Add(clock.Elapsed);
    find.Add(ExternalTool.Run("find", root, "-type", "f"));
}

static TimeSpan Median(List<TimeSpan> times) => times.OrderBy(t => t).ElementAt(times.Count / 2);
static string Ms(TimeSpan time) => $"{time.TotalMilliseconds,7:F0} ms";
Console.WriteLine($"Get-ModelCache -Summary       {Ms(Median(summary))}   (goal < 1000 ms for 10,000 entries)");
Console.WriteLine($"CacheInspector.Summarize      {Ms(Median(summaryCore))}   (the library call alone)");
Console.WriteLine($"find -type f                  {Ms(Median(find))}   ratio {Median(find).TotalSeconds / Median(summary).TotalSeconds:F2}×");
return 0;
