using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests.Server;

/// <summary>The admin API: token (401), ReadOnly (403), confirmation (400), body limit (413), export folder (404), and what each call does.</summary>
public sealed class AdminApiTests
{
    [Theory]
    [InlineData("api/models/cache/optimize")]
    [InlineData("api/models/cache/clear")]
    [InlineData("api/models/export")]
    public async Task A_POST_without_a_token_or_with_a_wrong_one_is_401_and_changes_nothing(string path)
    {
        using var fixture = new ServerFixture(o => o.ExportPath = null);
        var clear = "{\"confirm\": true}";

        using var none = await fixture.Http.SendAsync(fixture.Post(path, clear, token: null));
        using var wrong = await fixture.Http.SendAsync(fixture.Post(path, clear, token: ServerFixture.Token + "x"));
        using var prefix = await fixture.Http.SendAsync(fixture.Post(path, clear, token: ServerFixture.Token.Substring(0, 10)));

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, prefix.StatusCode);
        Assert.Equal("Bearer", Assert.Single(none.Headers.WwwAuthenticate).Scheme);
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelA)));
    }

    [Fact]
    public async Task Without_a_configured_token_every_POST_is_401()
    {
        using var fixture = new ServerFixture(o => o.AdminToken = null);

        using var response = await fixture.Http.SendAsync(fixture.Post("api/models/cache/clear", "{\"confirm\": true}"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelA)));
    }

    [Theory]
    [InlineData("api/models/cache/optimize")]
    [InlineData("api/models/cache/clear")]
    [InlineData("api/models/export")]
    public async Task ReadOnly_refuses_every_POST_with_403(string path)
    {
        using var fixture = new ServerFixture(o =>
        {
            o.ReadOnly = true;
            o.ExportPath = null;
        });

        using var response = await fixture.Http.SendAsync(fixture.Post(path, "{\"confirm\": true}"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelA)));
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"confirm\": false}")]
    [InlineData("{\"confirm\": \"true\"}")]
    [InlineData("{\"confirm\": 1}")]
    [InlineData("not json")]
    [InlineData("{\"confirm\": true, \"names\": \"Test/A\"}")]
    public async Task Clear_without_confirm_true_is_400_and_removes_nothing(string body)
    {
        using var fixture = new ServerFixture();

        using var response = await fixture.Http.SendAsync(fixture.Post("api/models/cache/clear", body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelA)));
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelB)));
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413_before_anything_runs()
    {
        using var fixture = new ServerFixture(o => o.MaxRequestBodyBytes = 1024);
        var body = "{\"confirm\": true, \"names\": [\"" + new string('x', 2000) + "\"]}";

        using var response = await fixture.Http.SendAsync(fixture.Post("api/models/cache/clear", body));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelA)));
    }

    [Fact]
    public async Task Export_without_an_export_folder_is_404()
    {
        using var fixture = new ServerFixture(o => o.ExportPath = null);

        using var response = await fixture.Http.SendAsync(fixture.Post("api/models/export"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("ExportNotConfigured", (string)JObject.Parse(await response.Content.ReadAsStringAsync())["errorId"]!);
    }

    [Fact]
    public async Task Export_writes_a_bundle_named_by_the_server_into_the_export_folder()
    {
        using var fixture = new ServerFixture(o => o.ExportPath = Path.Combine(Path.GetTempPath(), "unused"));
        var folder = fixture.Temp("exports");
        fixture.Options.ExportPath = folder;

        using var response = await fixture.Http.SendAsync(fixture.Post("api/models/export", "{}"));
        var result = JObject.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var written = Assert.Single(Directory.GetFiles(folder));
        Assert.Equal(written, (string)result["path"]!);
        Assert.Matches(@"^modelcache-\d{8}-\d{6}-\d{3}\.zip$", Path.GetFileName(written));
        Assert.Equal(new[] { "Test/A", "Test/B" }, result["models"]!.Select(m => (string)m!).OrderBy(n => n));
        Assert.False(File.Exists("/tmp/evil.zip"));
    }

    [Fact]
    public async Task Clear_with_confirm_removes_the_named_entry_and_keeps_a_pinned_one()
    {
        using var fixture = new ServerFixture();
        var entries = await fixture.Store.ListAsync(fixture.Catalog);
        await fixture.Store.SetPinnedAsync(entries.Single(e => e.Name == "Test/B"), true, ServerFixture.ModelB);

        using var named = await fixture.Http.SendAsync(fixture.Post("api/models/cache/clear", "{\"confirm\": true, \"names\": [\"Test/A\"]}"));
        Assert.Equal(HttpStatusCode.OK, named.StatusCode);
        Assert.False(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelA)));
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelB)));

        using var all = await fixture.Http.SendAsync(fixture.Post("api/models/cache/clear", "{\"confirm\": true}"));
        var result = JObject.Parse(await all.Content.ReadAsStringAsync());
        Assert.Equal(new[] { "Test/B" }, result["keptPinned"]!.Select(n => (string)n!));
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelB)));
    }

    [Fact]
    public async Task Optimize_quarantines_a_corrupt_file_rather_than_deleting_it()
    {
        using var fixture = new ServerFixture();
        var corrupt = (byte[])ServerFixture.BytesB.Clone();
        corrupt[0] ^= 1;
        fixture.Put(ServerFixture.ModelB, corrupt);

        using var response = await fixture.Http.SendAsync(fixture.Post("api/models/cache/optimize"));
        var result = JObject.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(result["actions"]!, a => (string)a["action"]! == "Quarantined" && (string)a["name"]! == "Test/B");
        Assert.False(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelB)));
        Assert.True(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelA)));
    }

    [Fact]
    public async Task Info_and_status_need_no_token_and_describe_the_cache()
    {
        using var fixture = new ServerFixture();

        var info = JObject.Parse(await fixture.Http.GetStringAsync("api/models/cache/info"));
        var status = JObject.Parse(await fixture.Http.GetStringAsync("api/models/status"));

        Assert.Equal(2, (int)info["entryCount"]!);
        Assert.NotNull((string?)info["health"]);
        Assert.Equal(new[] { "Test/A", "Test/B" }, status["entries"]!.Select(e => (string)e["name"]!).OrderBy(n => n));
        using var post = await fixture.Http.PostAsync("api/models/cache/info", new StringContent(""));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
    }
}

/// <summary>The admin API's clear is Clear-ModelCache's operation: it plans and removes through the server's cache backend, nothing of its own.</summary>
public sealed class AdminClearOperationTests
{
    [Fact]
    public async Task Clear_plans_and_removes_through_the_cache_backend_seam()
    {
        RecordingBackend? recording = null;
        using var fixture = new ServerFixture(options => options.Backend = recording = new RecordingBackend(new CatalogCacheBackend(options.Store)));

        using var named = await fixture.Http.SendAsync(fixture.Post("api/models/cache/clear", "{\"confirm\": true, \"names\": [\"Test/A\"]}"));
        var result = JObject.Parse(await named.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, named.StatusCode);
        Assert.Equal(new[] { "Test/A" }, recording!.Planned.Single().Names);
        Assert.Equal(new[] { "Test/A" }, recording.Removed);
        Assert.Equal(new[] { "Test/A" }, result["removed"]!.Select(r => (string)r["name"]!));
        Assert.False(File.Exists(fixture.Store.GetModelPath(ServerFixture.ModelA)));
    }

    private sealed class RecordingBackend : ICacheBackend
    {
        private readonly ICacheBackend _inner;

        public RecordingBackend(ICacheBackend inner) => _inner = inner;

        public List<RemovalRequest> Planned { get; } = new();

        public List<string> Removed { get; } = new();

        public ModelCache.Layouts.CacheLayoutKind Kind => _inner.Kind;

        public string Root => _inner.Root;

        public Task<IReadOnlyList<CachedFile>> ListAsync(ModelCatalog catalog, ICollection<ModelCacheException> problems, CancellationToken cancellationToken) => _inner.ListAsync(catalog, problems, cancellationToken);

        public Selection<CachedFile> Select(ModelCatalog catalog, IReadOnlyList<CachedFile> files, string name) => _inner.Select(catalog, files, name);

        public Task<Selection<CachedFile>> FindAsync(ModelCatalog catalog, string name, ICollection<ModelCacheException> problems, CancellationToken cancellationToken) => _inner.FindAsync(catalog, name, problems, cancellationToken);

        public Task<CachedFileCheck> VerifyAsync(CachedFile file, ModelCatalog catalog, IProgress<long>? bytesHashed, CancellationToken cancellationToken) => _inner.VerifyAsync(file, catalog, bytesHashed, cancellationToken);

        public string? RepairCommand(CachedFile file) => _inner.RepairCommand(file);

        public CacheSummary Summarize(ModelCatalog catalog, CacheHealthThresholds thresholds, ICollection<ModelCacheException> problems, CancellationToken cancellationToken) => _inner.Summarize(catalog, thresholds, problems, cancellationToken);

        public Task<RemovalPlan> PlanRemovalAsync(ModelCatalog catalog, RemovalRequest request, CancellationToken cancellationToken)
        {
            Planned.Add(request);
            return _inner.PlanRemovalAsync(catalog, request, cancellationToken);
        }

        public Task<RemovalOutcome> RemoveAsync(RemovalItem item, CancellationToken cancellationToken)
        {
            Removed.Add(((CachedFile)item.Subject).Name);
            return _inner.RemoveAsync(item, cancellationToken);
        }

        public Task<long> SweepAbandonedAsync(ModelCatalog catalog, CancellationToken cancellationToken) => _inner.SweepAbandonedAsync(catalog, cancellationToken);
    }
}
