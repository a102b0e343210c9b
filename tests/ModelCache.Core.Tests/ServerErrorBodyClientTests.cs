using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Core.Tests.Server;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Server;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests;

/// <summary>
/// The client side of the server's error bodies (<c>{errorId, message, retryable}</c>): the saver shows the server's
/// message and id, retries only what the server calls retryable (or answers with Retry-After), and keeps today's rules
/// for plain servers; and every hint fits the source that failed (catalog URL, mirror, hub, ModelCache server).
/// </summary>
public sealed class ServerErrorBodyClientTests : IAsyncLifetime
{
    private static readonly byte[] Bytes = TestModels.RandomBytes(200_000, seed: 5);
    private readonly TempDirectory _temp = new();
    private FaultServer _faults = null!;

    public async Task InitializeAsync() => _faults = await FaultServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _faults.DisposeAsync();
        _temp.Dispose();
    }

    private static string Body(string errorId, string message, bool retryable) =>
        Newtonsoft.Json.JsonConvert.SerializeObject(new { errorId, message, retryable });

    [Theory]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(500)]
    public async Task A_body_that_says_not_retryable_is_not_retried_and_its_message_and_id_are_shown(int status)
    {
        _faults.Serve("m.onnx", Bytes, new FaultPlan { FailTimes = 100, FailStatus = status, FailJson = Body("UpstreamFailed", "The server could not fetch Test/TINY (SourceFileNotFound).", false) });
        var model = TestModels.Define(Bytes, new Uri("https://example.invalid/m.onnx"), fileName: "m.onnx");

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, mirror: _faults.BaseAddress));

        Assert.Single(_faults.RequestsFor("m.onnx"));
        Assert.Contains("The server could not fetch Test/TINY (SourceFileNotFound).", error.Message, StringComparison.Ordinal);
        Assert.Contains("UpstreamFailed", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("mirror is running", error.RecommendedAction ?? string.Empty, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_that_says_retryable_is_retried()
    {
        _faults.Serve("m.onnx", Bytes, new FaultPlan { FailTimes = 2, FailStatus = 502, FailJson = Body("UpstreamFailed", "try again", true) });
        var model = TestModels.Define(Bytes, new Uri("https://example.invalid/m.onnx"), fileName: "m.onnx");

        var entry = await Save(model, mirror: _faults.BaseAddress);

        Assert.Equal(3, _faults.RequestsFor("m.onnx").Count);
        Assert.True(entry.PassedAndUnchanged());
    }

    [Fact]
    public async Task A_not_retryable_body_with_retry_after_is_retried()
    {
        _faults.Serve("m.onnx", Bytes, new FaultPlan { FailTimes = 1, FailStatus = 503, RetryAfterSeconds = 1, FailJson = Body("ServerBusy", "busy", false) });
        var model = TestModels.Define(Bytes, new Uri("https://example.invalid/m.onnx"), fileName: "m.onnx");

        await Save(model, mirror: _faults.BaseAddress);

        Assert.Equal(2, _faults.RequestsFor("m.onnx").Count);
    }

    [Fact]
    public async Task A_416_with_a_body_still_restarts_the_download_from_zero()
    {
        _faults.Serve("m.onnx", Bytes, new FaultPlan { FailTimes = 1, FailStatus = 416, FailJson = Body("RangeNotSatisfiable", "The file has 200000 bytes.", false) });
        var model = TestModels.Define(Bytes, new Uri("https://example.invalid/m.onnx"), fileName: "m.onnx");

        var entry = await Save(model, mirror: _faults.BaseAddress);

        Assert.Equal(2, _faults.RequestsFor("m.onnx").Count);
        Assert.True(entry.PassedAndUnchanged());
    }

    [Fact]
    public async Task A_plain_5xx_without_a_body_keeps_being_retried()
    {
        _faults.Serve("m.onnx", Bytes, new FaultPlan { FailTimes = 2, FailStatus = 502 });
        var model = TestModels.Define(Bytes, new Uri("https://example.invalid/m.onnx"), fileName: "m.onnx");

        await Save(model, mirror: _faults.BaseAddress);

        Assert.Equal(3, _faults.RequestsFor("m.onnx").Count);
    }

    [Fact]
    public async Task Behind_a_real_server_a_permanent_upstream_failure_is_shown_once_with_the_servers_message()
    {
        var upstream = _faults.Serve("gone.onnx", Bytes, new FaultPlan { FailTimes = 100, FailStatus = 404 });
        var model = TestModels.Define(Bytes, upstream, member: "GONE", fileName: "gone.onnx");
        using var fixture = new ServerFixture(o => o.PullThrough = new PullThroughOptions { Network = Network(0) }, new[] { model });

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, mirror: fixture.Server.MirrorUri));

        Assert.Single(fixture.Log, e => e.Path.Contains("gone.onnx", StringComparison.Ordinal));
        Assert.Contains("UpstreamFailed", error.Message, StringComparison.Ordinal);
        Assert.Contains("could not fetch", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("HTTP 502 Bad Gateway for", error.Message, StringComparison.Ordinal);
        Assert.Contains("server", error.RecommendedAction, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("mirror is running", error.RecommendedAction ?? string.Empty, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Behind_a_real_server_a_transient_upstream_failure_is_retried()
    {
        var upstream = _faults.Serve("flaky.onnx", Bytes, new FaultPlan { FailTimes = 1, FailStatus = 503 });
        var model = TestModels.Define(Bytes, upstream, member: "FLAKY", fileName: "flaky.onnx");
        using var fixture = new ServerFixture(o => o.PullThrough = new PullThroughOptions { Network = Network(0) }, new[] { model });

        var entry = await Save(model, mirror: fixture.Server.MirrorUri);

        Assert.True(entry.PassedAndUnchanged());
        Assert.Equal(2, fixture.Log.Count(e => e.Path.Contains("flaky.onnx", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_refused_catalog_url_without_a_mirror_does_not_blame_a_mirror()
    {
        var model = TestModels.Define(Bytes, new Uri($"http://127.0.0.1:{ClosedPort()}/m.onnx"), fileName: "m.onnx");

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model));

        Assert.DoesNotContain("mirror is running", error.RecommendedAction, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("catalog URL", error.RecommendedAction, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_missing_file_catalog_url_gets_a_catalog_url_hint_and_a_missing_mirror_file_a_mirror_hint()
    {
        var model = TestModels.Define(Bytes, new Uri("file://" + _temp.Combine("nowhere", "m.onnx")), fileName: "m.onnx");
        var mirror = _temp.Combine("mirror");
        System.IO.Directory.CreateDirectory(mirror);

        var upstream = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model));
        var fromMirror = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, mirror: new Uri(mirror)));

        Assert.Equal("SourceFileNotFound", upstream.ErrorId);
        Assert.Contains("catalog", upstream.RecommendedAction, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("into the mirror", upstream.RecommendedAction, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("mirror", fromMirror.RecommendedAction, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_refused_mirror_is_named_as_the_mirror()
    {
        var model = TestModels.Define(Bytes, new Uri("https://example.invalid/m.onnx"), fileName: "m.onnx");

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, mirror: new Uri($"http://127.0.0.1:{ClosedPort()}/")));

        Assert.Contains("mirror", error.RecommendedAction, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("catalog URL", error.RecommendedAction, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(404)]
    [InlineData(403)]
    [InlineData(400)]
    public async Task A_catalog_url_answering_an_error_gets_a_catalog_url_hint(int status)
    {
        var model = TestModels.Define(Bytes, _faults.Serve("m.onnx", Bytes, new FaultPlan { FailTimes = 100, FailStatus = status }), fileName: "m.onnx");

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model));

        Assert.Contains("catalog URL", error.RecommendedAction, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("mirror holds", error.RecommendedAction, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("private mirror", error.RecommendedAction, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(404)]
    [InlineData(403)]
    public async Task A_mirror_answering_an_error_gets_a_mirror_hint(int status)
    {
        _faults.Serve("m.onnx", Bytes, new FaultPlan { FailTimes = 100, FailStatus = status });
        var model = TestModels.Define(Bytes, new Uri("https://example.invalid/m.onnx"), fileName: "m.onnx");

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, mirror: _faults.BaseAddress));

        Assert.Contains("mirror", error.RecommendedAction, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("catalog URL", error.RecommendedAction, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_refused_hub_is_named_as_the_hub()
    {
        var model = new ModelDefinition("Hub", "M", "face_detection", "m.onnx", null, TestModels.Sha256Of(Bytes), Bytes.Length,
            huggingFace: new HubFileReference(HubRepoId.Parse("acme/detector"), "m.onnx"));

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, hfEndpoint: $"http://127.0.0.1:{ClosedPort()}"));

        Assert.Contains("HF_ENDPOINT", error.RecommendedAction, StringComparison.Ordinal);
        Assert.DoesNotContain("mirror is running", error.RecommendedAction, StringComparison.OrdinalIgnoreCase);
    }

    private static int ClosedPort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private static NetworkOptions Network(int retries) => new()
    {
        RetryCount = retries,
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
        MaxRetryDelay = TimeSpan.FromSeconds(2),
        Timeout = TimeSpan.FromSeconds(10),
    };

    private async Task<ModelCacheEntry> Save(ModelDefinition model, Uri? mirror = null, string? hfEndpoint = null)
    {
        var environment = new FakeEnvironment(_temp.Path);
        if (hfEndpoint is not null)
        {
            environment = environment.With("HF_ENDPOINT", hfEndpoint);
        }

        using var planner = new SourcePlanner(mirror is null ? Array.Empty<string>() : new[] { mirror.ToString() }, mirror is not null, false, Network(2), environment, HubSource.Factory(environment));
        return await new ModelSaver(new CacheStore(_temp.Combine("cache")), planner).SaveAsync(model, false, null, null, CancellationToken.None);
    }
}
