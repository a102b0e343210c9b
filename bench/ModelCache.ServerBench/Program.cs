using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Security.Cryptography;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Server;
using ModelCache.Store;
using ModelCache.Testing;

// N parallel clients download one cached model through the ModelCache server, and the same file from nginx, in the
// same run; medians of several rounds, printed as a ratio (goal: the server at 0.7x nginx or better).
var options = new CommandLineReader(args);
int clients = 8, sizeMiB = 256, repeat = 3;
while (options.Next(out var option))
{
    switch (option)
    {
        case "--clients": clients = options.PositiveNumber(); break;
        case "--size-mb": sizeMiB = options.PositiveNumber(); break;
        case "--repeat": repeat = options.PositiveNumber(); break;
        case "-h" or "--help":
            Console.WriteLine("usage: dotnet run -c Release --project bench/ModelCache.ServerBench -- [--clients N (8)] [--size-mb N (256)] [--repeat N (3)]");
            return 0;
        default: throw options.Unknown();
    }
}

using var temp = new TempDirectory("modelcache-serverbench");
var bytes = new byte[1 << 20];
var random = new Random(7);
var served = temp.Combine("nginx");
Directory.CreateDirectory(served);
var file = Path.Combine(served, "big.onnx");
using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
using (var output = File.Create(file))
{
    for (var i = 0; i < sizeMiB; i++)
    {
        random.NextBytes(bytes);
        sha.AppendData(bytes);
        output.Write(bytes);
    }

    var model = new ModelDefinition("Bench", "BIG", "face_detection", "big.onnx", new Uri("https://example.invalid/big.onnx"),
        Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant(), (long)sizeMiB << 20);
    output.Close();
    var store = new CacheStore(temp.Combine("cache"));
    var partial = store.PreparePartial(model);
    File.Copy(file, partial);
    store.Commit(model, partial, model.Sha256, null);

    using var nginx = NginxServer.Start(new NginxServerOptions(served));
    var catalog = new ModelCatalog(new[] { model });
    using var gated = ModelCacheServer.Start(new ModelCacheServerOptions(store, catalog) { Port = 0, ReadOnly = true });
    using var behindProxy = ModelCacheServer.Start(new ModelCacheServerOptions(store, catalog) { Port = 0, ReadOnly = true, ConnectionGate = false });
    using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
    Console.WriteLine($"{clients} clients x {sizeMiB} MiB, {repeat} rounds, medians; {Environment.ProcessorCount} cores.");

    var throughGated = new List<TimeSpan>();
    var throughUngated = new List<TimeSpan>();
    var fromNginx = new List<TimeSpan>();
    for (var round = 0; round < repeat; round++)
    {
        fromNginx.Add(await DownloadAllAsync(http, nginx.Url("big.onnx"), clients));
        throughGated.Add(await DownloadAllAsync(http, new Uri(gated.MirrorUri + "/big.onnx"), clients));
        throughUngated.Add(await DownloadAllAsync(http, new Uri(behindProxy.MirrorUri + "/big.onnx"), clients));
    }

    static TimeSpan Median(List<TimeSpan> times) => times.OrderBy(t => t).ElementAt(times.Count / 2);
    var total = (long)clients * sizeMiB;
    string Line(string what, List<TimeSpan> times) =>
        $"{what,-40} {total / Median(times).TotalSeconds,8:F0} MiB/s   ratio {Median(fromNginx).TotalSeconds / Median(times).TotalSeconds:F2}x (goal >= 0.70x)";
    Console.WriteLine($"{"nginx",-40} {total / Median(fromNginx).TotalSeconds,8:F0} MiB/s");
    Console.WriteLine(Line("server, connection gate (Linux default)", throughGated));
    Console.WriteLine(Line("server -BehindProxy (no gate)", throughUngated));
}

return 0;

static async Task<TimeSpan> DownloadAllAsync(HttpClient http, Uri url, int clients)
{
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
    {
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[1 << 16];
        while (await body.ReadAsync(buffer) > 0)
        {
        }
    }));
    return clock.Elapsed;
}
