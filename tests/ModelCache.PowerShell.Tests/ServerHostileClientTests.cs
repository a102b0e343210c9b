using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Testing;
using Xunit.Abstractions;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// Start-ModelCacheServer in a real child pwsh, driven by real clients: the model manager's documented curl commands
/// verbatim, body-less POSTs (with and without a token, with -ReadOnly), and a hostile-client run with Debian's
/// slowhttptest and wrk while a normal client probes from 127.0.0.2.
/// </summary>
public sealed class ServerHostileClientTests : IDisposable
{
    private const string Token = "curl-admin-token-0123456789";
    private const string FileName = "hostile_model.onnx";
    private const int ModelSize = (4 << 20) + 77;
    private readonly TempDirectory _temp = new("modelcache-hostile");
    private readonly ITestOutputHelper _output;

    public ServerHostileClientTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public void Dispose() => _temp.Dispose();

    [SkippableFact]
    public async Task The_model_managers_curl_commands_work_verbatim_and_body_less_POSTs_leave_the_server_running()
    {
        RequireTools("curl");
        using (var server = await StartServerAsync("-ExportPath '" + _temp.Combine("exports") + "'"))
        {
            var host = server.Uri.Authority;
            var write = $" -H \"Authorization: Bearer {Token}\"";

            var info = Curl($"curl http://{host}/api/models/cache/info");
            Assert.True(info.Status == 200, info.Body);
            Assert.Equal(1, JsonDocument.Parse(info.Body).RootElement.GetProperty("entryCount").GetInt32());
            var status = Curl($"curl http://{host}/api/models/status");
            Assert.True(status.Status == 200, status.Body);

            var optimize = Curl($"curl -X POST http://{host}/api/models/cache/optimize" + write);
            Assert.True(optimize.Status == 200, optimize.Body);
            var export = Curl($"curl -X POST http://{host}/api/models/export/HOSTILE -H \"Content-Type: application/json\" -d '{{\"export_path\": \"x.zip\", \"format\": \"zip\"}}'" + write);
            Assert.True(export.Status == 200, export.Body);
            Assert.True(File.Exists(_temp.Combine("exports", "x.zip")), export.Body);
            var clear = Curl($"curl -X POST http://{host}/api/models/cache/clear -H \"Content-Type: application/json\" -d '{{\"confirm\": true}}'" + write);
            Assert.True(clear.Status == 200, clear.Body);
            Assert.False(File.Exists(CachedFile), clear.Body);

            // Body-less POSTs (what `curl -X POST url` sends: neither Content-Length nor Transfer-Encoding) to every kind of path.
            foreach (var (path, expected) in new[]
            {
                ("metrics", 405), ("index.json", 405), ("models/" + FileName, 405), ("api/models/status", 405), ("no/such/path", 404),
                ("api/models/cache/optimize", 401), ("api/models/cache/clear", 401), ("api/models/export/HOSTILE", 401), ("api/models/pull", 401), ("", 405), ("models/", 405),
            })
            {
                var answer = Curl($"curl -X POST http://{host}/{path}");
                Assert.True(answer.Status == expected, $"POST /{path}: {answer.Status} {answer.Body}");
                AssertRunning(server, host);
            }

            var put = Curl($"curl -X PUT http://{host}/metrics");
            Assert.True(put.Status == 405, put.Body);
            AssertRunning(server, host);
            server.Process.Kill();
        }

        using (var readOnly = await StartServerAsync("-ReadOnly"))
        {
            var host = readOnly.Uri.Authority;
            foreach (var command in new[]
            {
                $"curl -X POST http://{host}/api/models/cache/optimize -H \"Authorization: Bearer {Token}\"",
                $"curl -X POST http://{host}/api/models/cache/clear -H \"Content-Type: application/json\" -d '{{\"confirm\": true}}' -H \"Authorization: Bearer {Token}\"",
                $"curl -X POST http://{host}/api/models/export/HOSTILE -H \"Authorization: Bearer {Token}\"",
            })
            {
                var answer = Curl(command);
                Assert.True(answer.Status == 403, $"{command}: {answer.Status} {answer.Body}");
                AssertRunning(readOnly, host);
            }

            Assert.Equal(405, Curl($"curl -X POST http://{host}/metrics").Status);
            Assert.Equal(401, Curl($"curl -X POST http://{host}/api/models/cache/optimize").Status);
            AssertRunning(readOnly, host);
            Assert.True(File.Exists(CachedFile));
            readOnly.Process.Kill();
        }
    }

    [SkippableFact]
    public async Task A_hostile_client_run_leaves_the_server_answering_with_its_threads_and_memory_back()
    {
        RequireTools("slowhttptest", "wrk");
        using var server = await StartServerAsync(string.Empty);
        var root = server.Uri.ToString().TrimEnd('/');
        using var probe = ProbeClient(server.Uri);

        // Warm up what a normal client uses, then take the baseline.
        for (var i = 0; i < 10; i++)
        {
            (await probe.GetAsync("metrics")).Dispose();
            (await probe.GetAsync("models/" + FileName)).Dispose();
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        var before = ProcessStatus(server.Process.Id);

        using var stopProbing = new CancellationTokenSource();
        var probes = new ConcurrentQueue<string>();
        var prober = Task.Run(async () =>
        {
            while (!stopProbing.IsCancellationRequested)
            {
                var clock = Stopwatch.StartNew();
                try
                {
                    using var response = await probe.GetAsync("index.json");
                    probes.Enqueue(response.StatusCode == HttpStatusCode.OK ? "ok" : $"{(int)response.StatusCode} after {clock.ElapsedMilliseconds} ms");
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    probes.Enqueue($"{ex.GetType().Name} after {clock.ElapsedMilliseconds} ms: {ex.Message}");
                }

                await Task.Delay(250);
            }
        });

        // slowhttptest's -l bounds each mode (its default is 240 s); -p is its own probe's timeout.
        var runs = new List<string>
        {
            Run("slowhttptest", TimeSpan.FromSeconds(30), "-H", "-c", "300", "-r", "150", "-i", "5", "-l", "15", "-p", "3", "-u", root + "/metrics"),
            Run("slowhttptest", TimeSpan.FromSeconds(30), "-B", "-c", "300", "-r", "150", "-i", "5", "-s", "8192", "-l", "15", "-p", "3", "-u", root + "/api/models/cache/clear"),
            Run("slowhttptest", TimeSpan.FromSeconds(30), "-X", "-c", "300", "-r", "150", "-w", "512", "-y", "1024", "-n", "5", "-z", "32", "-k", "3", "-l", "15", "-p", "3", "-u", root + "/models/" + FileName),
            Run("wrk", TimeSpan.FromSeconds(25), "-t", "2", "-c", "100", "-d", "10s", "--timeout", "5s", root + "/index.json"),
        };

        stopProbing.Cancel();
        await prober;
        _output.WriteLine($"before: {before.Threads} threads, {before.RssKiB} KiB; {probes.Count} probes");
        runs.ForEach(r => _output.WriteLine(r));
        var failed = probes.Where(p => p != "ok").ToList();
        Assert.True(probes.Count >= 20 && failed.Count == 0,
            $"{failed.Count} of {probes.Count} probes from 127.0.0.2 failed during the run: {string.Join("; ", failed.Take(10))}\n{string.Join("\n", runs)}");

        await Task.Delay(TimeSpan.FromSeconds(10));
        var answer = Stopwatch.StartNew();
        using (var response = await probe.GetAsync("metrics"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.True(answer.Elapsed < TimeSpan.FromSeconds(1), $"the probe after the run took {answer.Elapsed}");

        // After a burst the runtime keeps threads by the core: the pool its minimum, a worker per core (threads it
        // injected beyond that retire after 20 s idle), and the socket engines grow with the cores too. Measured with
        // DOTNET_PROCESSOR_COUNT=16: 21 more than before. So at most two per core plus 8 more, within 30 s more; a
        // thread held by each of the run's hundreds of hostile connections stays far above that.
        var threadAllowance = 8 + (2 * Environment.ProcessorCount);
        var after = ProcessStatus(server.Process.Id);
        for (var waited = 0; waited < 30 && after.Threads > before.Threads + threadAllowance; waited++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            after = ProcessStatus(server.Process.Id);
        }

        _output.WriteLine($"after the idle wait: {after.Threads} threads, {after.RssKiB} KiB; probe {answer.ElapsedMilliseconds} ms");
        Assert.False(server.Process.HasExited, server.Process.Transcript());
        Assert.True(after.Threads <= before.Threads + threadAllowance, $"threads {before.Threads} before, {after.Threads} after ({Environment.ProcessorCount} cores)");
        Assert.True(after.RssKiB <= before.RssKiB + 64 * 1024, $"RSS {before.RssKiB} KiB before, {after.RssKiB} KiB after");
        server.Process.Kill();
    }

    private string CachedFile => Path.Combine(SiteServerProcess.CacheOf(_temp), "models", "Site", "HOSTILE", FileName);

    private async Task<SiteServerProcess> StartServerAsync(string arguments)
    {
        // Already cached: these clients are served from the cache, never from the (unreachable) upstream.
        var cached = ServedFile.Write(Path.GetDirectoryName(CachedFile)!, FileName, ModelSize, seed: 20261207);
        return await SiteServerProcess.StartAsync(_temp, "HOSTILE", FileName, new Uri("https://example.invalid/" + FileName), cached.Sha256, ModelSize,
            arguments, new Dictionary<string, string?> { ["MODELCACHE_ADMIN_TOKEN"] = Token }, TimeSpan.FromSeconds(90));
    }

    private static void RequireTools(params string[] tools)
    {
        var missing = tools.Where(t => ExternalTool.Find(t) is null).ToList();
        if (missing.Count > 0 && Environment.GetEnvironmentVariable("CI") == "true")
        {
            Assert.Fail($"CI needs {string.Join(", ", missing)} (.ci/run installs them).");
        }

        Skip.If(missing.Count > 0, $"Not installed: {string.Join(", ", missing)}.");
    }

    private static void AssertRunning(SiteServerProcess server, string host)
    {
        Assert.False(server.Process.HasExited, server.Process.Transcript());
        var metrics = Curl($"curl http://{host}/metrics");
        Assert.True(metrics.Status == 200, $"{metrics.Status} {metrics.Body}\n{server.Process.Transcript()}");
    }

    /// <summary>Runs <paramref name="command"/> as written (through bash), adding only what captures the status code.</summary>
    private static (int Status, string Body) Curl(string command)
    {
        var output = Run("bash", TimeSpan.FromSeconds(60), "-c", command + " -sS --max-time 30 -w '\\n%{http_code}'");
        var body = output.Substring(output.IndexOf('\n') + 1).TrimEnd();
        var split = body.LastIndexOf('\n');
        return (int.TryParse(body.Substring(split + 1), out var status) ? status : -1, split < 0 ? string.Empty : body.Substring(0, split));
    }

    /// <summary>Runs a tool to its end (killed after <paramref name="limit"/>); the first line says what ran and how it ended, then its output.</summary>
    private static string Run(string tool, TimeSpan limit, params string[] arguments)
    {
        var info = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Cannot start " + tool);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        var ended = process.WaitForExit(limit);
        if (!ended)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        // slowhttptest redraws a status screen every few seconds: keep the last one, without its colour codes.
        var text = System.Text.RegularExpressions.Regex.Replace(output.Result + error.Result, "\x1b\\[[0-9;]*[A-Za-z]", string.Empty);
        var last = text.LastIndexOf("test type:", StringComparison.Ordinal);
        return $"{tool} {string.Join(" ", arguments)}: {(ended ? "exit " + process.ExitCode : "killed after " + limit)}\n{(last > 0 ? text.Substring(last) : text)}";
    }

    private static (int Threads, long RssKiB) ProcessStatus(int pid)
    {
        var lines = File.ReadAllLines($"/proc/{pid}/status");
        int Field(string name) => int.Parse(lines.First(l => l.StartsWith(name + ":", StringComparison.Ordinal)).Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries)[1]);
        return (Field("Threads"), Field("VmRSS"));
    }

    /// <summary>A client whose connections come from 127.0.0.2, so the server counts it apart from the attackers on 127.0.0.1.</summary>
    private static HttpClient ProbeClient(Uri baseAddress) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
}
