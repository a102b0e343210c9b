using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Server;
using ModelCache.Testing;

namespace ModelCache.Core.Tests.Server;

/// <summary>
/// /metrics read by a real Prometheus text-format parser (<c>parse-prometheus-text-format</c> from npm, installed by
/// <c>npm ci --prefix tests/interop/prometheus</c>): every family typed and described, a label with a quote, a backslash
/// and a newline escaped so it parses back to itself, and the counts the cache and the requests give.
/// </summary>
public sealed class MetricsTests
{
    private const string HostileTask = "odd \"task\" \\ with\nnewline";
    private static readonly byte[] OddBytes = TestModels.RandomBytes(5_000, seed: 34);
    private static readonly ModelDefinition OddModel = new("Odd", "ONE", HostileTask, "odd.onnx", new Uri("https://example.invalid/odd.onnx"), TestModels.Sha256Of(OddBytes), OddBytes.Length);

    private static string InteropFolder => Path.Combine(TestPaths.RepoRoot, "tests", "interop", "prometheus");

    [SkippableFact]
    public async Task Metrics_parse_with_a_real_Prometheus_parser_and_count_entries_bytes_health_and_requests()
    {
        var node = RequireParser();
        using var fixture = new ServerFixture(extraModels: new[] { OddModel });
        fixture.Put(OddModel, OddBytes);
        using (var served = await fixture.Http.GetAsync("models/a.onnx"))
        {
            await served.Content.ReadAsByteArrayAsync();
        }

        using (await fixture.Http.GetAsync("models/nothing.onnx"))
        {
        }

        var text = await fixture.Http.GetStringAsync("metrics");
        var file = fixture.Temp("metrics.txt");
        File.WriteAllText(file, text);
        using var parsed = JsonDocument.Parse(Run(node, file));

        var families = parsed.RootElement.EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!);
        Assert.All(families.Values, f => Assert.False(string.IsNullOrEmpty(f.GetProperty("help").GetString())));
        double Value(string name, string? label = null, string? labelValue = null) => double.Parse(families[name].GetProperty("metrics").EnumerateArray()
            .Single(m => label is null || (m.GetProperty("labels").TryGetProperty(label, out var v) && v.GetString() == labelValue))
            .GetProperty("value").GetString()!, System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal("GAUGE", families["modelcache_entries"].GetProperty("type").GetString());
        Assert.Equal(2, Value("modelcache_entries", "task", "face_detection"));
        Assert.Equal(1, Value("modelcache_entries", "task", HostileTask));
        Assert.Equal(ServerFixture.BytesA.Length + ServerFixture.BytesB.Length, Value("modelcache_entry_bytes", "task", "face_detection"));
        Assert.Equal(OddBytes.Length, Value("modelcache_entry_bytes", "task", HostileTask));
        Assert.InRange(Value("modelcache_health"), 0, 3);
        Assert.Equal(0, Value("modelcache_partial_downloads"));
        Assert.Equal("COUNTER", families["modelcache_http_requests_total"].GetProperty("type").GetString());
        Assert.Equal(1, Value("modelcache_http_requests_total", "code", "2xx"));
        Assert.Equal(1, Value("modelcache_http_requests_total", "code", "4xx"));
        Assert.True(Value("modelcache_http_response_bytes_total") >= ServerFixture.BytesA.Length);
        Assert.Equal(0, Value("modelcache_upstream_fetches_total"));
        Assert.Equal(0, Value("modelcache_upstream_failures_total"));
    }

    [Fact]
    public void Upstream_counters_come_from_a_source_that_keeps_them()
    {
        var text = MetricsWriter.Write(new ModelCache.Store.CacheInspector(new ModelCache.Store.CacheStore(Path.GetTempPath() + "/modelcache-none-" + Guid.NewGuid().ToString("N")))
            .Summarize(new ModelCatalog(Array.Empty<ModelDefinition>()), new(), null, default), new ServerMetrics(), new Upstream(), DateTimeOffset.UtcNow);

        Assert.Contains("\nmodelcache_upstream_fetches_total 7\n", text, StringComparison.Ordinal);
        Assert.Contains("\nmodelcache_upstream_failures_total 2\n", text, StringComparison.Ordinal);
    }

    private sealed class Upstream : IUpstreamStats
    {
        public long Fetches => 7;

        public long Failures => 2;
    }

    private static string RequireParser()
    {
        var node = ExternalTool.Find("node");
        var problem = node is null ? "node is not on PATH (apt install nodejs)"
            : !Directory.Exists(Path.Combine(InteropFolder, "node_modules", "parse-prometheus-text-format")) ? "the parser is not installed (run: npm ci --prefix tests/interop/prometheus)"
            : null;
        Skip.If(problem is not null && Environment.GetEnvironmentVariable("CI") != "true", $"Cannot judge /metrics with a Prometheus parser: {problem}.");
        Assert.True(problem is null, $"The CI machine (CI=true) must run the metrics interop test, but {problem}.");
        return node!;
    }

    private static string Run(string node, string file)
    {
        var info = new ProcessStartInfo(node) { WorkingDirectory = InteropFolder, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(InteropFolder, "parse.mjs"));
        info.ArgumentList.Add(file);
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), "node parse.mjs did not finish within a minute.");
        Assert.True(process.ExitCode == 0, $"the Prometheus parser refused /metrics ({process.ExitCode}): {error.Result}");
        return output;
    }
}
