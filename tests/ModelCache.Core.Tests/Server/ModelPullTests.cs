using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Server;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests.Server;

/// <summary>
/// POST /api/models/pull: names only (never a URL or a path), the admin token and -ReadOnly as every POST, progress as
/// NDJSON, and a fetch that outlives the client who asked for it. The upstream is a rate-limited nginx.
/// </summary>
public sealed class ModelPullTests : IDisposable
{
    private const int Size = 4 << 20;
    private static readonly byte[] Bytes = TestModels.RandomBytes(Size, seed: 43);
    private readonly TempDirectory _temp = new("modelcache-pull");
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(120));

    public ModelPullTests()
    {
        Directory.CreateDirectory(_temp.Combine("upstream"));
        File.WriteAllBytes(_temp.Combine("upstream", "pulled.onnx"), Bytes);
    }

    public void Dispose()
    {
        _timeout.Dispose();
        _temp.Dispose();
    }

    [Theory]
    [InlineData("{\"names\": [\"https://example.invalid/evil.onnx\"]}", 400, "PullNameInvalid")]
    [InlineData("{\"name\": \"file:///etc/passwd\"}", 400, "PullNameInvalid")]
    [InlineData("{\"names\": [\"/etc/passwd\"]}", 400, "PullNameInvalid")]
    [InlineData("{\"names\": [\"../../etc/passwd\"]}", 400, "PullNameInvalid")]
    [InlineData("{\"names\": [\"C:\\\\Windows\\\\x.onnx\"]}", 400, "PullNameInvalid")]
    [InlineData("{\"names\": [\"Nope/Nothing\"]}", 404, "ModelNotFound")]
    [InlineData("{\"names\": [\"SCRFD/*\"]}", 404, "ModelNotFound")]
    [InlineData("{\"name\": \"Test/A\", \"names\": [\"Test/B\"]}", 400, "RequestBodyInvalid")]
    [InlineData("{}", 400, "RequestBodyInvalid")]
    [InlineData("{\"name\": 7}", 400, "RequestBodyInvalid")]
    public async Task A_pull_that_names_no_catalog_model_is_refused_with_an_id_before_anything_is_fetched(string body, int status, string errorId)
    {
        using var fixture = new ServerFixture(cacheB: false);

        using var response = await fixture.Http.SendAsync(fixture.Post("api/models/pull", body));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(errorId, (string)JObject.Parse(await response.Content.ReadAsStringAsync())["errorId"]!);
        Assert.False(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelB)));
    }

    [Fact]
    public async Task A_pull_needs_the_token_is_refused_by_ReadOnly_and_needs_pull_through()
    {
        using var fixture = new ServerFixture(cacheB: false);
        using var readOnly = new ServerFixture(o => o.ReadOnly = true, cacheB: false);
        const string body = "{\"names\": [\"Test/B\"]}";

        using var noToken = await fixture.Http.SendAsync(fixture.Post("api/models/pull", body, token: null));
        using var refused = await readOnly.Http.SendAsync(readOnly.Post("api/models/pull", body));
        using var noPullThrough = await fixture.Http.SendAsync(fixture.Post("api/models/pull", body));

        Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, noPullThrough.StatusCode);
        Assert.Equal("PullNotConfigured", (string)JObject.Parse(await noPullThrough.Content.ReadAsStringAsync())["errorId"]!);
    }

    [Fact]
    public async Task A_pull_streams_NDJSON_progress_ends_with_success_and_the_model_is_cached_and_verified()
    {
        using var nginx = StartUpstream("4m");
        var model = Define(nginx.Url("slow/pulled.onnx"));
        using var server = StartServer(model);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(100) };

        using var response = await http.SendAsync(Post(server, "{\"name\": \"Pull/PULLED\"}"), HttpCompletionOption.ResponseHeadersRead, _timeout.Token);
        var lines = await ReadLinesAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var pulling = lines.Where(l => (string)l["status"]! == "pulling").ToList();
        Assert.True(pulling.Count >= 2, string.Join("\n", lines));
        Assert.All(pulling, l => Assert.Equal(Size, (long)l["total"]!));
        Assert.Equal(pulling.Select(l => (long)l["completed"]!).OrderBy(c => c), pulling.Select(l => (long)l["completed"]!));
        Assert.Equal("sha256:" + model.Sha256.ToLowerInvariant(), (string)pulling[0]["digest"]!);
        var verified = Assert.Single(lines, l => (string)l["status"]! == "verified");
        Assert.False((bool)verified["cached"]!);
        Assert.Equal("success", (string)lines[^1]["status"]!);
        Assert.Equal(model.Sha256, TestModels.Sha256Of(File.ReadAllBytes(server.Store.GetModelPath(model))));

        // Asked again: cached and verified already, no second upstream request.
        using var again = await http.SendAsync(Post(server, "{\"names\": [\"PULLED\"]}"), HttpCompletionOption.ResponseHeadersRead, _timeout.Token);
        var second = await ReadLinesAsync(again);
        Assert.True((bool)second.Single(l => (string)l["status"]! == "verified")["cached"]!);
        Assert.Equal("success", (string)second[^1]["status"]!);
        Assert.Single(nginx.ReadAccessLog(), e => e.FileName == "pulled.onnx");
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_does_not_cancel_the_fetch_and_the_model_lands_verified()
    {
        using var nginx = StartUpstream("1m");
        var model = Define(nginx.Url("slow/pulled.onnx"));
        using var server = StartServer(model);
        var path = server.Store.GetModelPath(model);

        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(100) })
        {
            using var response = await http.SendAsync(Post(server, "{\"names\": [\"Pull/PULLED\"]}"), HttpCompletionOption.ResponseHeadersRead, _timeout.Token);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(_timeout.Token));
            while (await reader.ReadLineAsync(_timeout.Token) is { } line)
            {
                var json = JObject.Parse(line);
                if ((string)json["status"]! == "pulling" && (long)json["completed"]! > 0)
                {
                    break; // hang up with the fetch under way
                }
            }

            Assert.False(File.Exists(path), "the model must still be on its way when the client hangs up");
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(path) && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(100);
        }

        Assert.True(File.Exists(path), "the fetch went on after its client left");
        Assert.Equal(model.Sha256, TestModels.Sha256Of(File.ReadAllBytes(path)));
        Assert.Contains(server.Log, line => line.StartsWith("POST /api/models/pull ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_upstream_failure_is_an_error_line_for_the_model_and_a_final_error_line()
    {
        using var nginx = StartUpstream("4m");
        var model = Define(nginx.Url("slow/missing.onnx"));
        using var server = StartServer(model);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(100) };

        using var response = await http.SendAsync(Post(server, "{\"names\": [\"Pull/PULLED\"]}"), HttpCompletionOption.ResponseHeadersRead, _timeout.Token);
        var lines = await ReadLinesAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(lines, l => (string)l["status"]! == "error" && (string?)l["model"] == "Pull/PULLED" && (string)l["errorId"]! == "UpstreamFailed");
        Assert.Equal("error", (string)lines[^1]["status"]!);
        Assert.Equal("UpstreamFailed", (string)lines[^1]["errorId"]!);
        Assert.False(File.Exists(server.Store.GetModelPath(model)));
    }

    private static async Task<List<JObject>> ReadLinesAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(JObject.Parse).ToList();
    }

    private static HttpRequestMessage Post(RunningServer server, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Server.Uri, "api/models/pull")) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ServerFixture.Token);
        return request;
    }

    private NginxServer StartUpstream(string rate)
    {
        var options = new NginxServerOptions(_temp.Combine("upstream"));
        options.ThrottledLocations["/slow/"] = rate;
        return NginxServer.Start(options);
    }

    private static ModelDefinition Define(Uri url) => new("Pull", "PULLED", "face_detection", "pulled.onnx", url, TestModels.Sha256Of(Bytes), Bytes.Length);

    private RunningServer StartServer(ModelDefinition model)
    {
        var store = new CacheStore(_temp.Combine("cache"));
        var server = new RunningServer(store);
        var options = new ModelCacheServerOptions(store, new ModelCatalog(new[] { model }))
        {
            Port = 0,
            ShutdownGrace = TimeSpan.FromSeconds(2),
            AdminToken = AdminToken.FromString(ServerFixture.Token),
            RequestLog = entry => server.Log.Enqueue(entry.ToString()),
            PullThrough = new PullThroughOptions
            {
                Network = new NetworkOptions { Timeout = TimeSpan.FromSeconds(20), RetryCount = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(20) },
            },
        };
        server.Server = ModelCacheServer.Start(options);
        return server;
    }

    private sealed class RunningServer : IDisposable
    {
        public RunningServer(CacheStore store) => Store = store;

        public CacheStore Store { get; }

        public ModelCacheServer Server { get; set; } = null!;

        public System.Collections.Concurrent.ConcurrentQueue<string> Log { get; } = new();

        public void Dispose() => Server.Dispose();
    }
}
