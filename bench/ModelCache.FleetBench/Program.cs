using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Testing;

namespace ModelCache.FleetBench;

/// <summary>
/// Issue 21's scale runs, against the real CNCF distribution registry (Debian's docker-registry) on 127.0.0.1:
/// <list type="number">
/// <item>fleet: N concurrent clients, each with its own cache root, save one generated model with
/// <c>Save-Model -Mirror oci://…</c>, directly from an upstream registry (the baseline), through a cold pull-through
/// proxy at once and with start jitter, and through a warm proxy; upstream fetches and proxy egress are counted in
/// the registries' access logs.</item>
/// <item>skopeo: Save-Model of a 256 MiB model from the registry through real pwsh vs <c>skopeo copy</c> of a
/// one-layer artifact holding the same blob to an <c>oci:</c> folder followed by <c>sync</c>, interleaved rounds.</item>
/// </list>
/// </summary>
internal static class Program
{
    private const string Family = "Fleet";

    public static async Task<int> Main(string[] args)
    {
        var options = new CommandLineReader(args);
        int clients = 200, sizeMiB = 16, jitterSeconds = 20, bigMiB = 256, rounds = 5;
        string only = "all";
        string? workDirectory = null;
        try
        {
            while (options.Next(out var option))
            {
                switch (option)
                {
                    case "--clients": clients = options.PositiveNumber(); break;
                    case "--size-mb": sizeMiB = options.PositiveNumber(); break;
                    case "--jitter-s": jitterSeconds = options.PositiveNumber(); break;
                    case "--big-mb": bigMiB = options.PositiveNumber(); break;
                    case "--rounds": rounds = options.PositiveNumber(); break;
                    case "--only": only = options.Value(); break;
                    case "--work-dir": workDirectory = Path.GetFullPath(options.Value()); break;
                    case "-h" or "--help":
                        Console.WriteLine(Usage);
                        return 0;
                    default: throw options.Unknown();
                }
            }

            if (only is not ("all" or "fleet" or "skopeo"))
            {
                throw new ArgumentException("--only takes fleet, skopeo or all.");
            }
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var binary = LoopbackRegistry.Binary();
        if (binary is null)
        {
            Console.Error.WriteLine("docker-registry is not installed (apt-get install docker-registry).");
            return 1;
        }

        using var work = workDirectory is null ? new TempDirectory("modelcache-fleetbench") : new TempDirectory(Path.Combine(workDirectory, "modelcache-fleetbench"));

        // The clients read no user or machine settings and no Docker credentials of this machine.
        Environment.SetEnvironmentVariable("XDG_CONFIG_HOME", work.Combine("config"));
        Environment.SetEnvironmentVariable("MODELCACHE_MACHINE_CONFIG", work.Combine("machine", "config.json"));
        Environment.SetEnvironmentVariable("DOCKER_CONFIG", work.Combine("docker"));
        foreach (var variable in new[] { "MODELCACHE_MIRROR", "MODELCACHE_MIRROR_ONLY", "MODELCACHE_OFFLINE", "MODELCACHE_CATALOG" })
        {
            Environment.SetEnvironmentVariable(variable, null);
        }

        Console.WriteLine($"ModelCache fleet benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} CPUs, {LoadAverage()}");
        if (only is "all" or "fleet")
        {
            await FleetAsync(binary, work, clients, sizeMiB, jitterSeconds).ConfigureAwait(false);
        }

        if (only is "all" or "skopeo")
        {
            await SkopeoAsync(binary, work, bigMiB, rounds).ConfigureAwait(false);
        }

        return 0;
    }

    private const string Usage = """
        usage: dotnet run -c Release --project bench/ModelCache.FleetBench -- [options]
          --only fleet|skopeo|all  which part to run (default all)
          --clients N              concurrent clients of the fleet run (default 200)
          --size-mb N              size of the fleet's model (default 16)
          --jitter-s N             start-jitter window of the jittered phase (default 20)
          --big-mb N               size of the model for Save-Model vs skopeo (default 256)
          --rounds N               interleaved rounds of Save-Model vs skopeo; the median is reported (default 5)
          --work-dir DIR           where the temp directory goes (default: the system temp dir)
        """;

    private static async Task FleetAsync(string binary, TempDirectory work, int clients, int sizeMiB, int jitterSeconds)
    {
        var size = (long)sizeMiB << 20;
        var modelFile = work.Combine("fleet.onnx");
        var sha256 = GenerateFile(modelFile, size, seed: 21);
        var catalog = WriteCatalog(work.Combine("fleet-catalog.json"), "M", "fleet.onnx", sha256, size);
        await using var upstream = await LoopbackRegistry.StartAsync(binary, parentDirectory: work.Path).ConfigureAwait(false);
        await upstream.PushBlobAsync("fleet/models", modelFile).ConfigureAwait(false);
        File.Delete(modelFile);

        Console.WriteLine();
        Console.WriteLine($"Fleet: {clients} concurrent clients, each its own cache root, Save-Model of one {sizeMiB} MiB model (hash, fsync, promote) with -Mirror oci://…");
        Console.WriteLine("Clients are hosted PowerShell runspaces in this process (a runspace pool importing ModelCache.psd1): " +
            $"{clients} pwsh processes would need ~{clients * 120 / 1024.0:0} GB and a core each to start on this {Environment.ProcessorCount}-CPU machine.");
        // Every client blocks a thread while its pipeline runs: without enough threads from the start, the pool's slow
        // growth would stagger the clients' starts by seconds.
        ThreadPool.GetMinThreads(out var workers, out var completion);
        ThreadPool.SetMinThreads(Math.Max(workers, clients * 2 + 16), Math.Max(completion, clients * 2 + 16));
        var clock = Stopwatch.StartNew();
        var state = InitialSessionState.CreateDefault2();
        state.ImportPSModule(TestPaths.Manifest);
        using var pool = RunspaceFactory.CreateRunspacePool(state);
        pool.SetMinRunspaces(clients);
        pool.SetMaxRunspaces(clients);
        pool.Open();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => InvokeAsync(pool, "(Get-Command Save-Model).Name"))).ConfigureAwait(false);
        Console.WriteLine($"{clients} runspaces open with the module imported in {clock.Elapsed.TotalSeconds:0.0} s; upstream {upstream.BaseAddress}");
        Console.WriteLine();
        Console.WriteLine($"{"phase",-40} {"wall",7} {"p50",7} {"p99",7} {"max",7} {"fail",5} {"up GETs",8} {"up MiB",8} {"proxy GETs",10} {"proxy egress",13}");

        var phase = 0;
        string? siteMirror = null;
        async Task RunPhaseAsync(string title, LoopbackRegistry? proxy, int jitterMs, bool warm)
        {
            var mirror = siteMirror ?? $"oci://127.0.0.1:{(proxy ?? upstream).Port}/fleet/models";
            var roots = Directory.CreateDirectory(work.Combine("phase-" + (++phase).ToString(CultureInfo.InvariantCulture))).FullName;
            if (warm)
            {
                var one = await PullAsync(pool, catalog, Path.Combine(roots, "warm"), mirror, 0).ConfigureAwait(false);
                if (one.Failure is not null)
                {
                    throw new InvalidOperationException("The warm-up pull failed: " + one.Failure);
                }

                await WaitForProxyCopyAsync(proxy!, sha256, size).ConfigureAwait(false);
            }

            await SettleAsync(upstream).ConfigureAwait(false);
            var upstreamMark = upstream.Lines.Count;
            var proxyMark = proxy?.Lines.Count ?? 0;
            var random = new Random(phase);
            var delays = Enumerable.Range(0, clients).Select(_ => jitterMs == 0 ? 0 : random.Next(jitterMs)).ToList();
            var wall = Stopwatch.StartNew();
            // Each client on its own task, so no client's start waits for another's call to be set up.
            var results = await Task.WhenAll(delays.Select((delay, i) => Task.Run(() =>
                PullAsync(pool, catalog, Path.Combine(roots, "client-" + i.ToString(CultureInfo.InvariantCulture)), mirror, delay, wall)))).ConfigureAwait(false);
            var elapsed = wall.Elapsed;
            await SettleAsync(upstream).ConfigureAwait(false);
            if (proxy is not null)
            {
                await SettleAsync(proxy).ConfigureAwait(false);
            }

            var upstreamGets = upstream.BlobRequests(sha256, fromLine: upstreamMark);
            var proxyGets = proxy?.BlobRequests(sha256, fromLine: proxyMark) ?? Array.Empty<LoopbackRegistry.AccessLine>();
            var times = results.Where(r => r.Failure is null).Select(r => r.Elapsed.TotalSeconds).OrderBy(t => t).ToList();
            Console.WriteLine($"{title,-40} {elapsed.TotalSeconds,6:0.0}s {Percentile(times, 50),6:0.00}s {Percentile(times, 99),6:0.00}s {Percentile(times, 100),6:0.00}s " +
                $"{results.Count(r => r.Failure is not null),5} {upstreamGets.Count,8} {upstreamGets.Sum(r => r.Bytes) / 1048576.0,8:0} " +
                $"{(proxy is null ? "-" : proxyGets.Count.ToString(CultureInfo.InvariantCulture)),10} {(proxy is null ? "-" : (proxyGets.Sum(r => r.Bytes) / 1048576.0).ToString("0", CultureInfo.InvariantCulture) + " MiB"),13}");
            // How late the clients started against their planned start (the harness's own spread, not the registry's).
            var lateness = results.Select((r, i) => r.Started.TotalSeconds - delays[i] / 1000.0).OrderBy(t => t).ToList();
            Console.WriteLine($"{"",-40} (clients started up to {lateness[^1]:0.0} s after their planned start, median {Percentile(lateness, 50):0.0} s)");
            foreach (var failure in results.Where(r => r.Failure is not null).Select(r => r.Failure).Distinct().Take(3))
            {
                Console.WriteLine("    failure: " + failure);
            }

            Directory.Delete(roots, recursive: true);
        }

        await RunPhaseAsync("direct from upstream (baseline), at once", null, 0, warm: false).ConfigureAwait(false);
        await using (var proxy = await LoopbackRegistry.StartAsync(binary, upstream.BaseAddress, work.Path).ConfigureAwait(false))
        {
            await RunPhaseAsync("cold proxy, at once", proxy, 0, warm: false).ConfigureAwait(false);
        }

        await using (var proxy = await LoopbackRegistry.StartAsync(binary, upstream.BaseAddress, work.Path).ConfigureAwait(false))
        {
            await RunPhaseAsync($"cold proxy, start jitter 0-{jitterSeconds} s", proxy, jitterSeconds * 1000, warm: false).ConfigureAwait(false);
        }

        await using (var proxy = await LoopbackRegistry.StartAsync(binary, upstream.BaseAddress, work.Path).ConfigureAwait(false))
        {
            await RunPhaseAsync("warm proxy (one pull first), at once", proxy, 0, warm: true).ConfigureAwait(false);
        }

        // The site tier: one site server (a real pwsh running Start-ModelCacheServer) whose -Mirror is a cold proxy;
        // the clients use the server's MirrorUri. Concurrent askers of an uncached model share its one upstream transfer.
        await using (var proxy = await LoopbackRegistry.StartAsync(binary, upstream.BaseAddress, work.Path).ConfigureAwait(false))
        {
            using var server = PwshProcess.StartCommand(
                $"Import-Module {Quote(TestPaths.Manifest)} -ErrorAction Stop; " +
                $"Start-ModelCacheServer -CachePath {Quote(work.Combine("site-cache"))} -Port 0 -BehindProxy -MaxConnections {clients + 16} " +
                $"-Mirror 'oci://127.0.0.1:{proxy.Port}/fleet/models' -CatalogPath {Quote(catalog)} | ForEach-Object {{ 'SERVER|' + $_.MirrorUri }}",
                new Dictionary<string, string?>
                {
                    ["XDG_CONFIG_HOME"] = work.Combine("config"),
                    ["MODELCACHE_MACHINE_CONFIG"] = work.Combine("machine", "config.json"),
                    ["DOCKER_CONFIG"] = work.Combine("docker"),
                },
                work.Path);
            try
            {
                var line = await server.WaitForOutputAsync(l => l.StartsWith("SERVER|", StringComparison.Ordinal), TimeSpan.FromMinutes(2)).ConfigureAwait(false);
                siteMirror = line["SERVER|".Length..];
                await RunPhaseAsync("site server -> cold proxy, at once", proxy, 0, warm: false).ConfigureAwait(false);
            }
            finally
            {
                server.Kill();
                siteMirror = null;
            }
        }

        Console.WriteLine();
        Console.WriteLine("Times are per client from its start (after its jitter delay) to a verified entry; p99 is nearest-rank. " +
            "'up GETs'/'up MiB': blob GETs the upstream served in the phase; 'proxy GETs'/'proxy egress': blob GETs the proxy served (its access log). " +
            "The warm phase's one warm-up pull is not counted. " +
            "In the site-server phase the clients pull from the server (http), the server from the proxy: 'proxy GETs' is the server's fetches.");
    }

    private static async Task SkopeoAsync(string binary, TempDirectory work, int sizeMiB, int rounds)
    {
        var skopeo = ExternalTool.Find("skopeo");
        var sync = ExternalTool.Find("sync") ?? throw new InvalidOperationException("sync (coreutils) is missing.");
        Console.WriteLine();
        if (skopeo is null)
        {
            Console.WriteLine("Save-Model vs skopeo: skipped, skopeo is not installed (apt-get install skopeo).");
            return;
        }

        var size = (long)sizeMiB << 20;
        var modelFile = work.Combine("big.onnx");
        var clock = Stopwatch.StartNew();
        var sha256 = GenerateFile(modelFile, size, seed: 256);
        var catalog = WriteCatalog(work.Combine("big-catalog.json"), "BIG", "big.onnx", sha256, size);
        await using var registry = await LoopbackRegistry.StartAsync(binary, parentDirectory: work.Path).ConfigureAwait(false);
        await registry.PushBlobAsync("bench/models", modelFile).ConfigureAwait(false);
        await registry.PushOneLayerArtifactAsync("bench/models", "big", sha256, size, "big.onnx").ConfigureAwait(false);
        File.Delete(modelFile);
        Console.WriteLine($"Save-Model vs skopeo: {sizeMiB} MiB generated and pushed (blob + one-layer artifact :big) in {clock.Elapsed.TotalSeconds:0.0} s; {rounds} interleaved rounds, medians.");
        var source = $"docker://127.0.0.1:{registry.Port}/bench/models:big";
        var mirror = $"oci://127.0.0.1:{registry.Port}/bench/models";
        var environment = new Dictionary<string, string?>
        {
            ["XDG_CONFIG_HOME"] = work.Combine("config"),
            ["MODELCACHE_MACHINE_CONFIG"] = work.Combine("machine", "config.json"),
            ["DOCKER_CONFIG"] = work.Combine("docker"),
        };

        // One long-lived pwsh runs every Save-Model round, as a user's session or a scheduled script does: each round
        // waits for its go file (naming a fresh cache root), saves with verification, and prints its own time.
        var script = $$"""
            Import-Module {{Quote(TestPaths.Manifest)}} -ErrorAction Stop
            'READY'
            for ($n = 1; ; $n++) {
                $go = [System.IO.Path]::Combine({{Quote(work.Path)}}, "go-$n")
                while (-not [System.IO.File]::Exists($go)) { [System.Threading.Thread]::Sleep(5) }
                $cache = [System.IO.File]::ReadAllText($go)
                if ($cache -eq 'stop') { exit 0 }
                $watch = [System.Diagnostics.Stopwatch]::StartNew()
                $entry = Save-Model {{Family}}/BIG -CatalogPath {{Quote(catalog)}} -CachePath $cache -Mirror {{Quote(mirror)}} -MirrorOnly -ErrorAction Stop
                'RESULT|{0}|{1}|{2}|{3}' -f $n, $watch.Elapsed.TotalMilliseconds.ToString([cultureinfo]::InvariantCulture), $entry.Source, $entry.LastCheck
            }
            """;
        var started = Stopwatch.StartNew();
        using var child = PwshProcess.StartCommand(script, environment, work.Path);
        await child.WaitForOutputAsync(l => l == "READY", TimeSpan.FromMinutes(2)).ConfigureAwait(false);
        var ready = started.Elapsed;
        var run = 0;
        TimeSpan MeasureModule()
        {
            var n = ++run;
            var cache = work.Combine("module-" + n.ToString(CultureInfo.InvariantCulture));
            File.WriteAllText(work.Combine("go-" + n.ToString(CultureInfo.InvariantCulture)), cache);
            var line = child.WaitForOutputAsync(l => l.StartsWith($"RESULT|{n}|", StringComparison.Ordinal), TimeSpan.FromMinutes(5))
                .GetAwaiter().GetResult();
            var parts = line.Split('|');
            if (parts is not { Length: 5 } || parts[3] != "Mirror" || parts[4] != "Passed" || child.ErrorLines.Count > 0)
            {
                throw new InvalidOperationException("Save-Model did not download and verify the model: " + child.Transcript());
            }

            Directory.Delete(cache, recursive: true);
            return TimeSpan.FromMilliseconds(double.Parse(parts[2], CultureInfo.InvariantCulture));
        }

        TimeSpan MeasureSkopeo()
        {
            var folder = work.Combine("oci-" + Guid.NewGuid().ToString("N"));
            var watch = Stopwatch.StartNew();
            ExternalTool.Run(skopeo, "copy", "--quiet", "--src-tls-verify=false", source, $"oci:{folder}:big");
            ExternalTool.Run(sync, Directory.GetFiles(folder, "*", SearchOption.AllDirectories));
            var elapsed = watch.Elapsed;
            var blob = Path.Combine(folder, "blobs", "sha256", sha256);
            if (!File.Exists(blob) || new FileInfo(blob).Length != size)
            {
                throw new InvalidOperationException("skopeo copy did not write the layer blob " + blob);
            }

            Directory.Delete(folder, recursive: true);
            return elapsed;
        }

        // Warm-up (not measured): page cache of the registry's blob, the first Save-Model in the process (JIT), skopeo's first start.
        var first = MeasureModule();
        MeasureSkopeo();
        var saves = new List<TimeSpan>();
        var copies = new List<TimeSpan>();
        for (var i = 0; i < rounds; i++)
        {
            // Alternate which goes first, so neither always inherits the other's disk write-back.
            if (i % 2 == 0)
            {
                saves.Add(MeasureModule());
                copies.Add(MeasureSkopeo());
            }
            else
            {
                copies.Add(MeasureSkopeo());
                saves.Add(MeasureModule());
            }
        }

        File.WriteAllText(work.Combine("go-" + (run + 1).ToString(CultureInfo.InvariantCulture)), "stop");
        child.WaitForExit(TimeSpan.FromSeconds(30));
        string Runs(List<TimeSpan> times) => string.Join(" ", times.Select(t => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture)));
        Console.WriteLine($"  {"skopeo copy docker://… oci:DIR:big, then sync",-58} {Median(copies).TotalSeconds,7:0.000} s {sizeMiB / Median(copies).TotalSeconds,6:0} MiB/s   runs: {Runs(copies)}");
        Console.WriteLine($"  {"Save-Model -Mirror oci://… in pwsh (the command)",-58} {Median(saves).TotalSeconds,7:0.000} s {sizeMiB / Median(saves).TotalSeconds,6:0} MiB/s   runs: {Runs(saves)}");
        var ratio = Median(copies).TotalSeconds / Median(saves).TotalSeconds;
        Console.WriteLine($"  Save-Model vs skopeo copy + sync (speed ratio, goal >= 0.9): {ratio:0.00}x (runs allow {copies.Min().TotalSeconds / saves.Max().TotalSeconds:0.00}-{copies.Max().TotalSeconds / saves.Min().TotalSeconds:0.00}x) {(ratio >= 0.9 ? "MET" : "MISSED")}");
        Console.WriteLine($"  not in the rounds: pwsh start + Import-Module {ready.TotalSeconds:0.00} s; the first Save-Model in that process (JIT of the transfer path) {first.TotalSeconds:0.00} s");
        Console.WriteLine($"  machine after the rounds: {LoadAverage()}");
    }

    private sealed record Pull(TimeSpan Started, TimeSpan Elapsed, string? Failure);

    /// <summary>One client: waits its jitter, then Save-Model into its own cache root; the time excludes the wait.</summary>
    private static async Task<Pull> PullAsync(RunspacePool pool, string catalog, string cacheRoot, string mirror, int delayMs, Stopwatch? phase = null)
    {
        if (delayMs > 0)
        {
            await Task.Delay(delayMs).ConfigureAwait(false);
        }

        using var shell = PowerShell.Create();
        shell.RunspacePool = pool;
        shell.AddScript("param($Catalog, $Root, $Mirror) Save-Model " + Family + "/M -CatalogPath $Catalog -CachePath $Root -Mirror $Mirror -MirrorOnly")
            .AddArgument(catalog).AddArgument(cacheRoot).AddArgument(mirror);
        var started = phase?.Elapsed ?? TimeSpan.Zero;
        var watch = Stopwatch.StartNew();
        try
        {
            var output = await shell.InvokeAsync().ConfigureAwait(false);
            var elapsed = watch.Elapsed;
            if (shell.Streams.Error.Count > 0)
            {
                return new Pull(started, elapsed, string.Join("; ", shell.Streams.Error.Select(e => e.FullyQualifiedErrorId + ": " + e)));
            }

            return output.Count == 1 && output[0].Properties["LastCheck"]?.Value?.ToString() == "Passed" && output[0].Properties["Source"]?.Value?.ToString() == "Mirror"
                ? new Pull(started, elapsed, null)
                : new Pull(started, elapsed, "no verified entry from the mirror");
        }
        catch (RuntimeException ex)
        {
            return new Pull(started, watch.Elapsed, ex.ErrorRecord?.FullyQualifiedErrorId + ": " + ex.Message);
        }
    }

    private static async Task InvokeAsync(RunspacePool pool, string script)
    {
        using var shell = PowerShell.Create();
        shell.RunspacePool = pool;
        shell.AddScript(script);
        await shell.InvokeAsync().ConfigureAwait(false);
        if (shell.Streams.Error.Count > 0)
        {
            throw new InvalidOperationException(script + ": " + shell.Streams.Error[0]);
        }
    }

    /// <summary>Until the proxy's background copy of the blob is in its storage (it serves locally only from then on).</summary>
    private static async Task WaitForProxyCopyAsync(LoopbackRegistry proxy, string sha256, long size)
    {
        var held = Path.Combine(proxy.StorageDirectory, "docker", "registry", "v2", "blobs", "sha256", sha256[..2], sha256, "data");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(File.Exists(held) && new FileInfo(held).Length == size))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The proxy never stored the blob.");
            }

            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    /// <summary>Until the registry's log has been quiet for half a second: access lines arrive through a pipe after the response.</summary>
    private static async Task SettleAsync(LoopbackRegistry registry)
    {
        var count = registry.Lines.Count;
        for (var quiet = 0; quiet < 10;)
        {
            await Task.Delay(50).ConfigureAwait(false);
            var next = registry.Lines.Count;
            quiet = next == count ? quiet + 1 : 0;
            count = next;
        }
    }

    private static string WriteCatalog(string path, string member, string fileName, string sha256, long size)
    {
        File.WriteAllText(path, $$"""
            { "models": [ { "family": "{{Family}}", "member": "{{member}}", "task": "face_detection", "fileName": "{{fileName}}",
              "url": "http://127.0.0.1:9/never-contacted/{{fileName}}", "sha256": "{{sha256}}", "size": {{size}}, "license": "bench" } ] }
            """);
        return path;
    }

    /// <summary>Writes <paramref name="size"/> pseudo-random bytes and returns their SHA-256.</summary>
    private static string GenerateFile(string path, long size, int seed)
    {
        var random = new Random(seed);
        var buffer = new byte[4 << 20];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None))
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

    /// <summary>Nearest-rank percentile of sorted seconds; NaN when empty.</summary>
    private static double Percentile(IReadOnlyList<double> sorted, int percent) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(percent / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static TimeSpan Median(IReadOnlyList<TimeSpan> times)
    {
        var sorted = times.OrderBy(t => t).ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Quote(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string LoadAverage()
    {
        try
        {
            var fields = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"load average {fields[0]} {fields[1]} {fields[2]}";
        }
        catch (IOException)
        {
            return "load average unknown";
        }
    }
}
