using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Testing;

namespace ModelCache.TransferBench;

/// <summary>
/// Issue 4's transfer benchmark, in one run against one nginx on 127.0.0.1:
/// Save-Model of a generated big file vs <c>curl -o</c>; Test-ModelHash vs <c>sha256sum</c> and
/// <c>openssl dgst -sha256</c> on the same file; 16 small files with Save-Model -ThrottleLimit 16 vs
/// -ThrottleLimit 1 (serial) behind a proxy that adds 50 ms per request. Save-Model and
/// Test-ModelHash run through the hosted PowerShell engine importing ModelCache.psd1, as users run them.
/// </summary>
internal static class Program
{
    private const string Family = "Bench";

    public static async Task<int> Main(string[] args)
    {
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(BenchOptions.Usage);
            return 2;
        }

        if (options.Help)
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
            Console.Error.WriteLine("Stopping after the current step; temp files are removed on the way out.");
        };

        try
        {
            await RunAsync(options, cancel.Token).ConfigureAwait(false);
            return 0;
        }
        catch (Exception ex) when (ex is OperationCanceledException || cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine("Cancelled.");
            return 130;
        }
    }

    private static async Task RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var curl = ExternalTool.Find("curl");
        var sha256sum = ExternalTool.Find("sha256sum");
        var openssl = ExternalTool.Find("openssl");
        var sync = ExternalTool.Find("sync");
        Console.WriteLine($"ModelCache transfer benchmark — {DateTime.Now:yyyy-MM-dd HH:mm}, {Environment.ProcessorCount} CPUs, {RuntimeInfo()}");
        Console.WriteLine($"big file {options.SizeMiB} MiB; {options.Files} files of {options.SmallMiB} MiB; {options.LatencyMs} ms added per request for the parallel runs; median of {options.Repeat} runs");
        Console.WriteLine("Save-Model and Test-ModelHash run in-process through the hosted PowerShell 7 engine (Import-Module ModelCache.psd1).");
        Console.WriteLine($"Machine load at start: {LoadAverage()}");
        Console.WriteLine();

        using var work = options.WorkDirectory is null ? new TempDirectory("modelcache-bench") : new TempDirectory(Path.Combine(options.WorkDirectory, "modelcache-bench"));
        var served = Directory.CreateDirectory(work.Combine("served")).FullName;
        var models = new List<object>();
        var bigName = "bench_big.onnx";
        var bigPath = Path.Combine(served, bigName);
        var clock = Stopwatch.StartNew();
        var bigSha = GenerateFile(bigPath, (long)options.SizeMiB << 20, seed: 1);
        models.Add(CatalogEntry("BIG", bigName, bigSha, (long)options.SizeMiB << 20));
        var smallNames = new List<string>();
        for (var i = 1; i <= options.Files; i++)
        {
            var member = "P" + i.ToString("00", CultureInfo.InvariantCulture);
            var fileName = $"bench_{member.ToLowerInvariant()}.onnx";
            var sha = GenerateFile(Path.Combine(served, fileName), (long)options.SmallMiB << 20, seed: 100 + i);
            models.Add(CatalogEntry(member, fileName, sha, (long)options.SmallMiB << 20));
            smallNames.Add(Family + "/" + member);
        }

        var catalog = work.Combine("catalog.json");
        File.WriteAllText(catalog, JsonSerializer.Serialize(new { models }));
        Console.WriteLine($"Generated the files in {clock.Elapsed.TotalSeconds:0.0} s under {work.Path}");

        // /limited/ is the same files at a per-connection limit (limit_rate), as release CDNs and corporate mirrors serve them.
        var nginxOptions = new NginxServerOptions(served) { WorkerProcesses = 2 };
        nginxOptions.ThrottledLocations["/limited/"] = options.LimitRate;
        using var nginx = NginxServer.Start(nginxOptions);
        await using var proxy = await LatencyProxy.StartAsync(nginx.BaseAddress, TimeSpan.FromMilliseconds(options.LatencyMs)).ConfigureAwait(false);
        using var shell = new BenchShell(work.Path, cancellationToken);
        Console.WriteLine($"nginx {nginx.BaseAddress} (pid {nginx.ProcessId}); latency proxy {proxy.BaseAddress}");
        Console.WriteLine();

        var hasThrottleLimit = shell.Run("(Get-Command Save-Model).Parameters.ContainsKey('ThrottleLimit')").Single().BaseObject is true;
        var common = $"-CatalogPath {Quote(catalog)} -MirrorOnly";
        var run = 0;
        string NewCache() => work.Combine("cache-" + (++run).ToString(CultureInfo.InvariantCulture));

        // Warm-up: JIT, HttpClient, first file-system touches; not measured.
        SaveModels(shell, smallNames.Take(1), NewCache(), nginx.BaseAddress, common, throttle: null);

        var report = new Report();
        if (options.Segmented)
        {
            Segmented(options, report, shell, work, nginx, bigName, bigPath, bigSha, common, NewCache, curl, sync, cancellationToken);
            return;
        }

        // 1. Download of the big file.
        var bytes = (long)options.SizeMiB << 20;
        var bigUrl = nginx.Url(bigName).ToString();
        if (curl is not null)
        {
            ExternalTool.Run(curl, "-sS", "--fail", "-o", work.Combine("warm.bin"), bigUrl); // page cache and connection warm-up
            File.Delete(work.Combine("warm.bin"));
        }

        var curlTimes = new List<TimeSpan>();
        var curlSyncTimes = new List<TimeSpan>();
        var saveTimes = new List<TimeSpan>();
        void MeasureCurl()
        {
            if (curl is null)
            {
                return;
            }

            var target = work.Combine("curl.bin");
            curlTimes.Add(ExternalTool.Run(curl, "-sS", "--fail", "-o", target, bigUrl));
            File.Delete(target);
            if (sync is not null)
            {
                var watch = Stopwatch.StartNew();
                ExternalTool.Run(curl, "-sS", "--fail", "-o", target, bigUrl);
                ExternalTool.Run(sync, target);
                curlSyncTimes.Add(watch.Elapsed);
                File.Delete(target);
            }
        }

        void MeasureSave()
        {
            var cache = NewCache();
            saveTimes.Add(SaveModels(shell, new[] { Family + "/BIG" }, cache, nginx.BaseAddress, common, throttle: null));
            Directory.Delete(cache, recursive: true);
        }

        // Alternate which goes first, so neither always inherits the other's disk write-back.
        for (var i = 0; i < options.Repeat; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (i % 2 == 0)
            {
                MeasureSave();
                MeasureCurl();
            }
            else
            {
                MeasureCurl();
                MeasureSave();
            }
        }

        report.Section($"Download of {options.SizeMiB} MiB from nginx (loopback)");
        report.Time("curl -o", curlTimes, bytes);
        report.Time("curl -o, then sync the file", curlSyncTimes, bytes);
        report.Time("Save-Model (hash while writing, fsync, promote)", saveTimes, bytes);
        report.Ratio("Save-Model vs curl -o (speed ratio)", curlTimes, saveTimes, 0.9);
        report.Ratio("Save-Model vs curl -o + sync (speed ratio)", curlSyncTimes, saveTimes, 1.0);
        Console.WriteLine($"  machine load after the downloads: {LoadAverage()}");
        if (options.DownloadOnly)
        {
            Console.WriteLine();
            Console.WriteLine("Speed ratios are other-time / ModelCache-time (above 1: ModelCache faster). Targets from issues 4 and 10.");
            return;
        }

        // 2. Hashing the same file (in the page cache after the runs above).
        var sumTimes = new List<TimeSpan>();
        var opensslTimes = new List<TimeSpan>();
        var testTimes = new List<TimeSpan>();
        shell.Run($"Test-ModelHash -LiteralPath {Quote(bigPath)} -Sha256 {bigSha} -Quiet");
        for (var i = 0; i < options.Repeat; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (sha256sum is not null)
            {
                sumTimes.Add(ExternalTool.Run(sha256sum, bigPath));
            }

            if (openssl is not null)
            {
                opensslTimes.Add(ExternalTool.Run(openssl, "dgst", "-sha256", bigPath));
            }

            var watch = Stopwatch.StartNew();
            var result = shell.Run($"Test-ModelHash -LiteralPath {Quote(bigPath)} -Sha256 {bigSha}").Single();
            testTimes.Add(watch.Elapsed);
            if (result.Properties["Status"].Value.ToString() != "Valid")
            {
                throw new InvalidOperationException("Test-ModelHash did not report the big file as Valid.");
            }
        }

        report.Section($"SHA-256 of the same {options.SizeMiB} MiB file (page cache)");
        report.Time("sha256sum", sumTimes, bytes);
        report.Time("openssl dgst -sha256", opensslTimes, bytes);
        report.Time("Test-ModelHash", testTimes, bytes);
        report.Ratio("Test-ModelHash vs openssl (speed ratio)", opensslTimes, testTimes, 0.9);
        report.Ratio("Test-ModelHash vs sha256sum (speed ratio)", sumTimes, testTimes, null);

        // 3. Many small files behind the latency proxy.
        report.Section($"{options.Files} files of {options.SmallMiB} MiB through a proxy adding {options.LatencyMs} ms per request");
        if (hasThrottleLimit)
        {
            var serial = new List<TimeSpan>();
            var parallel = new List<TimeSpan>();
            var byDefault = new List<TimeSpan>();
            for (var i = 0; i < options.Repeat; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                foreach (var (times, throttle) in new[] { (serial, (int?)1), (parallel, options.Throttle), (byDefault, (int?)null) })
                {
                    var cache = NewCache();
                    times.Add(SaveModels(shell, smallNames, cache, proxy.BaseAddress, common, throttle));
                    Directory.Delete(cache, recursive: true);
                }
            }

            var total = (long)options.Files * ((long)options.SmallMiB << 20);
            report.Time("Save-Model -ThrottleLimit 1 (serial)", serial, total);
            report.Time($"Save-Model -ThrottleLimit {options.Throttle}", parallel, total);
            report.Time("Save-Model (default -ThrottleLimit 4)", byDefault, total);
            report.Ratio($"-ThrottleLimit {options.Throttle} vs serial (speed-up)", serial, parallel, 3.0);
            report.Ratio("-ThrottleLimit 4 vs serial (speed-up)", serial, byDefault, null);
            Console.WriteLine($"  (the proxy forwarded {proxy.Requests} requests in all)");
        }
        else
        {
            Console.WriteLine("  skipped: this build of Save-Model has no -ThrottleLimit parameter.");
        }

        Console.WriteLine();
        Console.WriteLine("Speed ratios are other-time / ModelCache-time (above 1: ModelCache faster). Targets from issue 4.");
        if (curl is null || sha256sum is null || openssl is null)
        {
            Console.WriteLine("Missing tools were skipped: " + string.Join(", ", new[] { ("curl", curl), ("sha256sum", sha256sum), ("openssl", openssl) }.Where(t => t.Item2 is null).Select(t => t.Item1)));
        }
    }

    /// <summary>
    /// Issue 23, in one run: against the per-connection limit, Save-Model (segmented) vs aria2c -x8 -s8 -k1M + sync; against
    /// unlimited nginx, Save-Model vs curl -o + sync; and the cost of the one read that hashes a segmented file at the end.
    /// </summary>
    private static void Segmented(BenchOptions options, Report report, BenchShell shell, TempDirectory work, NginxServer nginx, string bigName, string bigPath, string bigSha,
        string common, Func<string> newCache, string? curl, string? sync, CancellationToken cancellationToken)
    {
        var aria2 = ExternalTool.Find("aria2c");
        var bytes = (long)options.SizeMiB << 20;
        var limitedUrl = nginx.Url("limited/" + bigName).ToString();
        var unlimitedUrl = nginx.Url(bigName).ToString();
        var saveLimited = new List<TimeSpan>();
        var saveOne = new List<TimeSpan>();
        var ariaTimes = new List<TimeSpan>();
        var saveUnlimited = new List<TimeSpan>();
        var curlSyncTimes = new List<TimeSpan>();
        var hashTimes = new List<TimeSpan>();
        if (curl is not null)
        {
            ExternalTool.Run(curl, "-sS", "--fail", "-o", work.Combine("warm.bin"), unlimitedUrl); // page cache and connection warm-up
            File.Delete(work.Combine("warm.bin"));
        }

        TimeSpan Save(Uri mirror, string extra)
        {
            var cache = newCache();
            var time = SaveModels(shell, new[] { Family + "/BIG" }, cache, mirror, common + extra, throttle: null);
            Directory.Delete(cache, recursive: true);
            return time;
        }

        TimeSpan ThenSync(Func<TimeSpan> download, string target)
        {
            var watch = Stopwatch.StartNew();
            download();
            if (sync is not null)
            {
                ExternalTool.Run(sync, target);
            }

            var time = watch.Elapsed;
            File.Delete(target);
            return time;
        }

        // One untimed run of each before the rounds, after a sync: whoever went first otherwise paid for the write-back of
        // the generated files and for first use in the process (measured: the first Save-Model 1.2-1.4 s, later ones 0.7-0.9 s).
        if (sync is not null)
        {
            ExternalTool.Run(sync);
        }

        Save(nginx.Url("limited/"), string.Empty);
        if (aria2 is not null)
        {
            ThenSync(() => ExternalTool.Run(aria2, "-q", "-x8", "-s8", "-k1M", "--allow-overwrite=true", "--auto-file-renaming=false",
                "--file-allocation=none", "-d", work.Path, "-o", "tool.bin", limitedUrl), work.Combine("tool.bin"));
        }

        for (var i = 0; i < options.Repeat; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var target = work.Combine("tool.bin");
            // Alternate which goes first, so neither always inherits the other's disk write-back.
            var pairs = new List<Action>
            {
                () => saveLimited.Add(Save(nginx.Url("limited/"), string.Empty)),
                () =>
                {
                    if (aria2 is not null)
                    {
                        ariaTimes.Add(ThenSync(() => ExternalTool.Run(aria2, "-q", "-x8", "-s8", "-k1M", "--allow-overwrite=true", "--auto-file-renaming=false",
                            "--file-allocation=none", "-d", work.Path, "-o", "tool.bin", limitedUrl), target));
                    }
                },
                () => saveUnlimited.Add(Save(nginx.BaseAddress, string.Empty)),
                () =>
                {
                    if (curl is not null)
                    {
                        curlSyncTimes.Add(ThenSync(() => ExternalTool.Run(curl, "-sS", "--fail", "-o", target, unlimitedUrl), target));
                    }
                },
            };
            if (i % 2 == 1)
            {
                pairs = new List<Action> { pairs[1], pairs[0], pairs[3], pairs[2] };
            }

            foreach (var measure in pairs)
            {
                measure();
            }

            if (i == 0)
            {
                // Today's single connection against the same limit, once, for scale.
                saveOne.Add(Save(nginx.Url("limited/"), " -ConnectionsPerHost 1"));
            }

            // The end-of-download hash of a segmented save: one read of the file, hot in the page cache as it is then.
            var watch = Stopwatch.StartNew();
            var result = shell.Run($"Test-ModelHash -LiteralPath {Quote(bigPath)} -Sha256 {bigSha}").Single();
            hashTimes.Add(watch.Elapsed);
            if (result.Properties["Status"].Value.ToString() != "Valid")
            {
                throw new InvalidOperationException("Test-ModelHash did not report the big file as Valid.");
            }
        }

        report.Section($"Download of {options.SizeMiB} MiB from nginx with limit_rate {options.LimitRate} per connection (loopback)");
        report.Time("aria2c -x8 -s8 -k1M, then sync the file", ariaTimes, bytes);
        report.Time("Save-Model (segmented, hash, fsync, promote)", saveLimited, bytes);
        report.Time("Save-Model -ConnectionsPerHost 1 (one run)", saveOne, bytes);
        report.Ratio("Save-Model vs aria2c + sync (speed ratio)", ariaTimes, saveLimited, 0.9);
        report.Section($"Download of {options.SizeMiB} MiB from nginx, no limit (loopback)");
        report.Time("curl -o, then sync the file", curlSyncTimes, bytes);
        report.Time("Save-Model", saveUnlimited, bytes);
        report.Ratio("Save-Model vs curl -o + sync (speed ratio)", curlSyncTimes, saveUnlimited, 1.0);
        report.Section("The end-of-download hash of a segmented save");
        report.Time("Test-ModelHash of the file (page cache)", hashTimes, bytes);
        if (saveLimited.Count > 0 && hashTimes.Count > 0)
        {
            Console.WriteLine($"  share of the segmented Save-Model spent on that read: {hashTimes.OrderBy(t => t).ElementAt(hashTimes.Count / 2).TotalSeconds / saveLimited.OrderBy(t => t).ElementAt(saveLimited.Count / 2).TotalSeconds * 100:0} %");
        }

        Console.WriteLine($"  machine load after the downloads: {LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("Speed ratios are other-time / ModelCache-time (above 1: ModelCache faster). Targets from issue 23.");
        if (aria2 is null || curl is null)
        {
            Console.WriteLine("Missing tools were skipped: " + string.Join(", ", new[] { ("aria2c", aria2), ("curl", curl) }.Where(t => t.Item2 is null).Select(t => t.Item1)));
        }
    }

    /// <summary>Runs one Save-Model command for <paramref name="names"/> into a fresh cache and returns its wall time.</summary>
    private static TimeSpan SaveModels(BenchShell shell, IEnumerable<string> names, string cache, Uri mirror, string common, int? throttle)
    {
        var list = names.ToList();
        var script = $"Save-Model {string.Join(", ", list.Select(Quote))} -CachePath {Quote(cache)} -Mirror {Quote(mirror.ToString())} {common}" +
            (throttle is { } limit ? " -ThrottleLimit " + limit.ToString(CultureInfo.InvariantCulture) : string.Empty);
        var watch = Stopwatch.StartNew();
        var output = shell.Run(script);
        var elapsed = watch.Elapsed;
        if (output.Count != list.Count || output.Any(o => o.Properties["LastCheck"]?.Value?.ToString() != "Passed" || o.Properties["Source"].Value?.ToString() != "Mirror"))
        {
            throw new InvalidOperationException($"'{script}' did not download and verify every model.");
        }

        return elapsed;
    }

    /// <summary>Writes <paramref name="size"/> pseudo-random bytes and returns their SHA-256.</summary>
    private static string GenerateFile(string path, long size, int seed)
    {
        var random = new Random(seed);
        var buffer = new byte[4 << 20];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
        {
            for (var left = size; left > 0; left -= buffer.Length)
            {
                var count = (int)Math.Min(buffer.Length, left);
                random.NextBytes(buffer.AsSpan(0, count));
                hash.AppendData(buffer, 0, count);
                stream.Write(buffer, 0, count);
            }
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static object CatalogEntry(string member, string fileName, string sha, long size) => new
    {
        family = Family, member, task = "face_detection", fileName, url = "http://127.0.0.1:9/never-contacted/" + fileName, sha256 = sha, size, license = "bench",
    };

    private static string Quote(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>/proc/loadavg's 1, 5 and 15 minute averages, to judge how busy the machine was.</summary>
    private static string LoadAverage()
    {
        try
        {
            var fields = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"load average {fields[0]} {fields[1]} {fields[2]} on {Environment.ProcessorCount} CPUs";
        }
        catch (IOException)
        {
            return "load average unknown";
        }
    }

    private static string RuntimeInfo() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription + " on " + System.Runtime.InteropServices.RuntimeInformation.OSDescription;
}

/// <summary>Command-line options.</summary>
internal sealed class BenchOptions
{
    public const string Usage = """
        usage: dotnet run -c Release --project bench/ModelCache.TransferBench -- [options]
          --size-mb N       size of the big file for download and hashing (default 1024)
          --files N         number of small files for parallel vs serial (default 16)
          --small-mb N      size of each small file (default 4)
          --latency-ms N    delay the proxy adds before each request (default 50)
          --throttle N      -ThrottleLimit of the parallel run (default 16)
          --repeat N        runs per measurement; the median is reported (default 3)
          --work-dir DIR    where the temp directory goes (default: the system temp dir)
          --download-only   run only the big download comparison (Save-Model vs curl -o and curl -o + sync)
          --segmented       run only issue 23's comparison: vs aria2c -x8 -s8 -k1M + sync under a per-connection
                            limit, vs curl -o + sync without one, and the end-of-download hash (use --size-mb 256)
          --limit-rate R    nginx limit_rate per connection for --segmented (default 32m)
        """;

    public int SizeMiB { get; private set; } = 1024;

    public int Files { get; private set; } = 16;

    public int SmallMiB { get; private set; } = 4;

    public int LatencyMs { get; private set; } = 50;

    public int Throttle { get; private set; } = 16;

    public int Repeat { get; private set; } = 3;

    public string? WorkDirectory { get; private set; }

    public bool Help { get; private set; }

    public bool DownloadOnly { get; private set; }

    public bool Segmented { get; private set; }

    public string LimitRate { get; private set; } = "32m";

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        var reader = new CommandLineReader(args);
        while (reader.Next(out var option))
        {
            switch (option)
            {
                case "--size-mb": options.SizeMiB = reader.PositiveNumber(); break;
                case "--files": options.Files = reader.PositiveNumber(); break;
                case "--small-mb": options.SmallMiB = reader.PositiveNumber(); break;
                case "--latency-ms": options.LatencyMs = reader.PositiveNumber(); break;
                case "--throttle": options.Throttle = reader.PositiveNumber(); break;
                case "--repeat": options.Repeat = reader.PositiveNumber(); break;
                case "--work-dir": options.WorkDirectory = Path.GetFullPath(reader.Value()); break;
                case "--download-only": options.DownloadOnly = true; break;
                case "--segmented": options.Segmented = true; break;
                case "--limit-rate": options.LimitRate = reader.Value(); break;
                case "-h" or "--help": options.Help = true; break;
                default: throw reader.Unknown();
            }
        }

        return options;
    }
}

/// <summary>Collects and prints timings.</summary>
internal sealed class Report
{
    public void Section(string title)
    {
        Console.WriteLine();
        Console.WriteLine(title);
    }

    public void Time(string label, IReadOnlyList<TimeSpan> times, long bytes)
    {
        if (times.Count == 0)
        {
            Console.WriteLine($"  {label,-50} skipped");
            return;
        }

        var median = Median(times);
        var speed = bytes / (1024.0 * 1024.0) / median.TotalSeconds;
        var spread = (times.Max() - times.Min()).TotalSeconds / median.TotalSeconds * 100;
        Console.WriteLine($"  {label,-50} {median.TotalSeconds,8:0.000} s {speed,9:0} MiB/s   spread (max-min)/median {spread,4:0}%   runs: {string.Join(" ", times.Select(t => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture)))}");
    }

    /// <summary>Prints other/ours: above 1 means ours is faster.</summary>
    public void Ratio(string label, IReadOnlyList<TimeSpan> other, IReadOnlyList<TimeSpan> ours, double? target)
    {
        if (other.Count == 0 || ours.Count == 0)
        {
            return;
        }

        var ratio = Median(other).TotalSeconds / Median(ours).TotalSeconds;
        // The range of ratios the runs allow: slowest of ours against fastest of theirs, and the reverse.
        var low = other.Min().TotalSeconds / ours.Max().TotalSeconds;
        var high = other.Max().TotalSeconds / ours.Min().TotalSeconds;
        var verdict = target is { } t ? $"   target >= {t:0.0#}: {(ratio >= t ? "met" : "MISSED")}" : string.Empty;
        Console.WriteLine($"  {label,-50} {ratio,8:0.00}x (runs allow {low:0.00}-{high:0.00}x){verdict}");
    }

    private static TimeSpan Median(IReadOnlyList<TimeSpan> times)
    {
        var sorted = times.OrderBy(t => t).ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
