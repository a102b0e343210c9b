using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;
using Xunit;
using Xunit.Abstractions;

namespace ModelCache.Core.Tests;

/// <summary>
/// Segmented downloads: a real nginx with a per-connection limit_rate (the access log counts requests and bytes), and
/// small Kestrel servers that ignore ranges, lie in Content-Range, change the file between segments or refuse extra
/// connections. Every save goes through the one verified path: whole-file SHA-256, nothing unverified promoted.
/// </summary>
public sealed class SegmentedDownloadTests : IDisposable
{
    private const int Size = (12 << 20) + 4321;
    private static readonly byte[] Bytes = TestModels.RandomBytes(Size, seed: 23);
    private readonly ITestOutputHelper _output;
    private readonly TempDirectory _temp = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(120));
    private readonly CacheStore _store;
    private readonly ConcurrentQueue<string> _warnings = new();
    private readonly ConcurrentQueue<TransferProgress> _progress = new();

    public SegmentedDownloadTests(ITestOutputHelper output)
    {
        _output = output;
        Directory.CreateDirectory(_temp.Combine("upstream"));
        File.WriteAllBytes(_temp.Combine("upstream", "model.onnx"), Bytes);
        _store = new CacheStore(_temp.Combine("cache"));
    }

    public void Dispose()
    {
        _timeout.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Nginx_with_a_per_connection_limit_is_fetched_over_several_connections_and_verifies()
    {
        using var nginx = StartNginx("4m");
        var model = Define(nginx.Url("slow/one/model.onnx"));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var entry = await SaveAsync(model);

        _output.WriteLine($"{clock.Elapsed.TotalSeconds:0.00} s; {string.Join(" | ", _warnings)}");
        Assert.Equal(model.Sha256, TestModels.Sha256Of(File.ReadAllBytes(_store.GetModelPath(model))));
        Assert.Equal(EntryCheckResult.Passed, entry.LastCheck);
        Assert.False(File.Exists(_store.GetPartialPath(model)));
        var log = nginx.RequestsFor("model.onnx", atLeast: 3);
        _output.WriteLine(string.Join(Environment.NewLine, log.Select(e => $"{e.Status} {e.BytesSent} {e.Range} {e.IfRange} c{e.Connection}")));
        Assert.True(log.Count(e => e.Status == 206 && e.IfRange is not null) >= 3, "segments are range requests with If-Range");
        Assert.True(log.Select(e => e.Connection).Distinct().Count() >= 4, "several connections");
        Assert.InRange(log.Sum(e => e.BytesSent), Size, Size + (Size / 5));
        Assert.Contains(_progress, p => p.Connections >= 2 && p.BytesReceived is not null); // progress names the connections in use (how many at a report is timing)
        Assert.Equal(Size, entry.Transfer!.BytesTransferred, (double)Size / 5);
    }

    [Fact]
    public async Task Connections_per_host_of_one_keeps_a_single_connection()
    {
        using var nginx = StartNginx("16m");
        var model = Define(nginx.Url("slow/single/model.onnx"));

        await SaveAsync(model, connections: 1);

        var log = nginx.RequestsFor("model.onnx");
        Assert.Single(log);
        Assert.Equal(200, log[0].Status);
    }

    [Fact]
    public async Task Cancelled_mid_download_then_resumed_fetches_only_what_is_missing()
    {
        using var nginx = StartNginx("2m");
        var model = Define(nginx.Url("slow/resume/model.onnx"));
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(_timeout.Token))
        {
            var save = SaveAsync(model, token: stop.Token);
            while (!_progress.Any(p => p.BytesReceived > Size / 3))
            {
                await Task.Delay(20, _timeout.Token);
            }

            stop.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => save);
        }

        Assert.True(File.Exists(_store.GetPartialPath(model)));
        Assert.Contains("\"done\"", File.ReadAllText(_store.GetPartialPath(model) + ".json"));
        var entry = await SaveAsync(model);

        Assert.Equal(model.Sha256, TestModels.Sha256Of(File.ReadAllBytes(_store.GetModelPath(model))));
        Assert.True(entry.Transfer!.Resumed);
        var log = nginx.RequestsFor("model.onnx");
        var sent = log.Sum(e => e.BytesSent);
        _output.WriteLine($"sent {sent} for {Size}: " + string.Join(" ", log.Select(e => $"{e.Status}:{e.BytesSent}@{e.Range}")));
        Assert.True(sent < Size * 1.2, $"nginx sent {sent} bytes for a {Size}-byte file");
    }

    [Fact]
    public async Task A_server_that_ignores_ranges_is_read_as_one_stream()
    {
        await using var server = await RangeServer.StartAsync(Bytes, RangeBehaviour.IgnoresRanges, 4 << 20);
        var model = Define(server.Url("model.onnx"));

        await SaveAsync(model);

        Assert.Equal(model.Sha256, TestModels.Sha256Of(File.ReadAllBytes(_store.GetModelPath(model))));
        Assert.Contains(_warnings, w => w.Contains("ignored a range request", StringComparison.Ordinal) && w.Contains("one connection", StringComparison.Ordinal));
        Assert.True(server.BytesSent < Size * 3, "extra connections stop as soon as they see a 200");
    }

    [Fact]
    public async Task A_server_that_lies_in_Content_Range_is_refused_for_segments_and_read_as_one_stream()
    {
        await using var server = await RangeServer.StartAsync(Bytes, RangeBehaviour.LiesInContentRange, 4 << 20);
        var model = Define(server.Url("model.onnx"));

        await SaveAsync(model);

        Assert.Equal(model.Sha256, TestModels.Sha256Of(File.ReadAllBytes(_store.GetModelPath(model))));
        Assert.Contains(_warnings, w => w.Contains("different range or size", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(RangeBehaviour.ChangesAfterFirst)]
    [InlineData(RangeBehaviour.ChangesIgnoringIfRange)]
    public async Task A_file_that_changes_between_segments_restarts_cleanly_and_is_never_mixed(RangeBehaviour behaviour)
    {
        var second = TestModels.RandomBytes(Size, seed: 24);
        await using var server = await RangeServer.StartAsync(Bytes, behaviour, 4 << 20, second);
        var model = TestModels.Define(second, server.Url("model.onnx"), member: "SEG", fileName: "model.onnx");

        await SaveAsync(model);

        Assert.Equal(TestModels.Sha256Of(second), TestModels.Sha256Of(File.ReadAllBytes(_store.GetModelPath(model))));
        Assert.Contains(_warnings, w => w.Contains("changed", StringComparison.Ordinal) || w.Contains("ignored a range request", StringComparison.Ordinal));
        Assert.Contains(_warnings, w => w.Contains("again from the start over one connection", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_file_that_changed_and_does_not_match_the_catalog_is_never_promoted()
    {
        var second = TestModels.RandomBytes(Size, seed: 25);
        await using var server = await RangeServer.StartAsync(Bytes, RangeBehaviour.ChangesIgnoringIfRange, 4 << 20, second);
        var model = Define(server.Url("model.onnx"));

        var failure = await Assert.ThrowsAnyAsync<ModelCacheException>(() => SaveAsync(model));

        Assert.Equal("HashMismatch", failure.ErrorId);
        Assert.False(File.Exists(_store.GetModelPath(model)));
        Assert.False(File.Exists(_store.GetPartialPath(model)));
    }

    [Fact]
    public async Task A_429_for_extra_connections_backs_off_to_fewer_and_still_verifies()
    {
        await using var server = await RangeServer.StartAsync(Bytes, RangeBehaviour.Honest, 4 << 20);
        server.MaxConcurrent = 3;
        var model = Define(server.Url("model.onnx"));

        await SaveAsync(model);

        Assert.Equal(model.Sha256, TestModels.Sha256Of(File.ReadAllBytes(_store.GetModelPath(model))));
        Assert.Contains(server.Requests, r => r.Status == 429);
        Assert.Contains(_warnings, w => w.Contains("429", StringComparison.Ordinal) && w.Contains("Using at most", StringComparison.Ordinal));
        Assert.True(server.Requests.Count(r => r.Status == 206) >= 2, "the connections that were allowed still fetched segments");
        _output.WriteLine(string.Join(Environment.NewLine, server.Requests));
    }

    [Fact]
    public async Task The_open_ended_first_answer_stops_when_more_connections_start_so_a_stalled_burst_does_not_hold_the_download()
    {
        // A per-request limiter (nginx's limit_rate) sends each answer a first burst, then the limit; at its worst the
        // first answer sends nothing more at all. Once segments start, that answer must not keep the front of the file.
        await using var server = await RangeServer.StartAsync(Bytes, RangeBehaviour.Honest, 0);
        server.OpenEndedStallsAfter = 1 << 20;
        var model = Define(server.Url("model.onnx"));

        var entry = await SaveAsync(model);

        _output.WriteLine(string.Join(Environment.NewLine, server.Requests.Select(r => $"{r.Status} {r.Range} {r.Sent}")));
        Assert.Equal(model.Sha256, TestModels.Sha256Of(File.ReadAllBytes(_store.GetModelPath(model))));
        Assert.False(entry.Transfer!.Resumed, "no retry after a stall");
        Assert.Empty(_warnings);
        var openEnded = Assert.Single(server.Requests, r => r.Range.Length == 0 || r.Range.EndsWith('-'));
        Assert.InRange(openEnded.Sent, 1, 1 << 20);
        Assert.All(server.Requests.Where(r => r != openEnded), r => Assert.Equal(206, r.Status));
    }

    [Fact]
    public async Task A_fast_server_is_read_over_one_connection()
    {
        await using var server = await RangeServer.StartAsync(Bytes, RangeBehaviour.Honest, 0);
        var model = Define(server.Url("model.onnx"));

        await SaveAsync(model);

        Assert.Single(server.Requests);
        Assert.DoesNotContain(_progress, p => p.Connections > 1);
    }

    [Fact]
    public async Task A_large_hub_file_named_by_the_catalog_is_fetched_in_segments_through_the_hub_client()
    {
        await using var hub = await HubServer.StartAsync();
        hub.BytesPerSecond = 4 << 20;
        hub.AddRepo("acme/large").Commit("main", HubTestFile.Lfs("onnx/model.onnx", Bytes));
        var model = CatalogReader.Read(
            $"{{\"models\": [{{\"family\": \"Hub\", \"member\": \"LARGE\", \"task\": \"face_detection\", \"fileName\": \"model.onnx\", \"sha256\": \"{TestModels.Sha256Of(Bytes)}\", \"size\": {Size}," +
            " \"huggingFace\": {\"repo\": \"acme/large\", \"file\": \"onnx/model.onnx\"}}]}", "user.json", "user.json").Single();
        var environment = new FakeEnvironment(_temp.Path).With("HF_ENDPOINT", hub.Endpoint.ToString());
        using var planner = new SourcePlanner(Array.Empty<string>(), false, false, Network(8), environment, ModelCache.HuggingFace.HubSource.Factory(environment));

        var entry = await new ModelSaver(_store, planner).SaveAsync(model, false, new Progress(_progress), _warnings.Enqueue, _timeout.Token);

        Assert.Equal(Bytes, File.ReadAllBytes(entry.Path));
        var ranges = hub.StorageRequests.Where(r => r.Range.Length > 0 && r.Status == 206).ToList();
        _output.WriteLine(string.Join(Environment.NewLine, hub.Requests));
        Assert.True(ranges.Count >= 3, "the hub file was fetched as several ranges");
        Assert.Contains(_progress, p => p.Connections >= 3);
    }

    [Fact]
    public async Task A_pull_through_fetch_is_one_upstream_transfer_in_segments_and_clients_get_the_verified_bytes()
    {
        using var nginx = StartNginx("4m");
        var model = Define(nginx.Url("slow/pull/model.onnx"));
        using var source = new ModelCache.Server.PullThroughContentSource(_store, new ModelCache.Core.Tests.Server.CachedFiles(_store), new ModelCache.Server.PullThroughOptions
        {
            Mirrors = Array.Empty<string>(),
            Network = Network(8),
        });

        var bodies = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            using var content = await source.OpenAsync(model, 0, _timeout.Token);
            return await ModelCache.Core.Tests.Server.StreamReading.ReadToEndAsync(content.Content, _timeout.Token);
        })));

        Assert.All(bodies, body => Assert.Equal(model.Sha256, TestModels.Sha256Of(body)));
        Assert.Equal(1, source.Fetches);
        Assert.Equal(model.Sha256, TestModels.Sha256Of(File.ReadAllBytes(_store.GetModelPath(model))));
        var log = nginx.RequestsFor("model.onnx", atLeast: 3);
        Assert.True(log.Count(e => e.Status == 206 && e.IfRange is not null) >= 3, "the upstream transfer was segmented");
        Assert.InRange(log.Sum(e => e.BytesSent), Size, Size + (Size / 2));
    }

    private NginxServer StartNginx(string rate)
    {
        var options = new NginxServerOptions(_temp.Combine("upstream"));
        options.ThrottledLocations["/slow/"] = rate;
        return NginxServer.Start(options);
    }

    private static ModelDefinition Define(Uri url) => TestModels.Define(Bytes, url, member: "SEG", fileName: "model.onnx");

    private async Task<ModelCacheEntry> SaveAsync(ModelDefinition model, int connections = 8, CancellationToken? token = null)
    {
        using var planner = new SourcePlanner(Array.Empty<string>(), mirrorOnly: false, offline: false, Network(connections));
        var progress = new Progress(_progress);
        return await new ModelSaver(_store, planner).SaveAsync(model, false, progress, _warnings.Enqueue, token ?? _timeout.Token);
    }

    private static NetworkOptions Network(int connections) => new()
    {
        Timeout = TimeSpan.FromSeconds(10),
        RetryCount = 2,
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
        ConnectionsPerHost = connections,
        SegmentedMinimumSize = 1 << 20,
    };

    private sealed class Progress : IProgress<TransferProgress>
    {
        private readonly ConcurrentQueue<TransferProgress> _queue;

        public Progress(ConcurrentQueue<TransferProgress> queue)
        {
            _queue = queue;
        }

        public void Report(TransferProgress value) => _queue.Enqueue(value);
    }
}
