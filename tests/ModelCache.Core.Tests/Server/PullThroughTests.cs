using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Server;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests.Server;

/// <summary>The pull-through against a real nginx upstream on loopback, counted in nginx's own access log.</summary>
public sealed class PullThroughTests : IDisposable
{
    private const int Size = 3 << 20;
    private static readonly byte[] Bytes = TestModels.RandomBytes(Size, seed: 13);
    private readonly TempDirectory _temp = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(90));
    private readonly CacheStore _store;
    private readonly CachedFiles _cached;

    public PullThroughTests()
    {
        Directory.CreateDirectory(_temp.Combine("upstream"));
        _store = new CacheStore(_temp.Combine("cache"));
        _cached = new CachedFiles(_store);
    }

    public void Dispose()
    {
        _timeout.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Fifty_requests_for_an_uncached_model_cause_one_upstream_transfer_and_all_verify()
    {
        File.WriteAllBytes(_temp.Combine("upstream", "model.onnx"), Bytes);
        using var nginx = StartUpstream("1m");
        var model = Define(nginx.Url("slow/fifty/model.onnx"));
        using var source = PullThrough();

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(async () =>
        {
            using var content = await source.OpenAsync(model, 0, _timeout.Token);
            return (content.IsComplete, content.Length, Body: await ReadToEndAsync(content.Content));
        })));

        Assert.All(results, r => Assert.Equal(model.Sha256, TestModels.Sha256Of(r.Body)));
        Assert.All(results, r => Assert.Equal(Size, r.Length));
        Assert.Contains(results, r => !r.IsComplete); // streamed while the fetch ran, not served after it
        Assert.Single(nginx.RequestsFor("model.onnx"));
        Assert.Equal(1, source.Fetches);
        Assert.Equal(0, source.Failures);
        Assert.Equal(Bytes, File.ReadAllBytes(_store.GetModelPath(model)));
    }

    [Fact]
    public async Task A_request_that_joins_mid_fetch_at_an_offset_gets_the_right_bytes()
    {
        File.WriteAllBytes(_temp.Combine("upstream", "model.onnx"), Bytes);
        using var nginx = StartUpstream("1m");
        var model = Define(nginx.Url("slow/offset/model.onnx"));
        using var source = PullThrough();
        using var first = await source.OpenAsync(model, 0, _timeout.Token);
        var head = await ReadAtLeastAsync(first.Content, 1 << 20);

        const int Offset = (3 << 19) + 123;
        using var joined = await source.OpenAsync(model, Offset, _timeout.Token);
        Assert.False(joined.IsComplete);
        Assert.Equal(Bytes.Skip(Offset).ToArray(), await ReadToEndAsync(joined.Content));
        Assert.Equal(Bytes, head.Concat(await ReadToEndAsync(first.Content)).ToArray());
        Assert.Single(nginx.ReadAccessLog(), e => e.FileName == "model.onnx");
    }

    [Fact]
    public async Task Corrupt_upstream_bytes_fail_every_stream_at_its_end_and_the_next_request_fetches_again()
    {
        var upstreamFile = _temp.Combine("upstream", "model.onnx");
        File.WriteAllBytes(upstreamFile, TestModels.RandomBytes(Size, seed: 14));
        using var nginx = StartUpstream("2m");
        var model = Define(nginx.Url("slow/corrupt/model.onnx"));
        using var source = PullThrough();

        var opened = await Task.WhenAll(source.OpenAsync(model, 0, _timeout.Token), source.OpenAsync(model, 0, _timeout.Token), source.OpenAsync(model, 1000, _timeout.Token));
        var failures = await Task.WhenAll(opened.Select(content => Task.Run(async () =>
        {
            using (content)
            {
                return await Assert.ThrowsAsync<ModelCacheException>(() => ReadToEndAsync(content.Content));
            }
        })));

        Assert.All(failures, ex => Assert.Equal("UpstreamFailed", ex.ErrorId));
        Assert.All(failures, ex => Assert.Equal("HashMismatch", ((ModelCacheException)ex.InnerException!).ErrorId));
        Assert.False(File.Exists(_store.GetModelPath(model)));
        Assert.False(File.Exists(_store.GetPartialPath(model)));
        Assert.Equal(1, source.Fetches);
        Assert.Equal(1, source.Failures);

        File.WriteAllBytes(upstreamFile, Bytes);
        using var retried = await source.OpenAsync(model, 0, _timeout.Token);
        Assert.Equal(model.Sha256, TestModels.Sha256Of(await ReadToEndAsync(retried.Content)));
        Assert.Equal(2, nginx.WaitForAccessLog(entries => entries.Count(e => e.FileName == "model.onnx") == 2, TimeSpan.FromSeconds(10)).Count);
        Assert.Equal(2, source.Fetches);
        Assert.Equal(1, source.Failures);
    }

    [Fact]
    public async Task A_stream_that_sent_bytes_of_an_attempt_the_saver_discards_is_cut_short_and_the_fetch_still_succeeds()
    {
        // The (throttled) mirror serves wrong bytes: the saver discards them and starts again from the catalog URL.
        File.WriteAllBytes(_temp.Combine("upstream", "model.onnx"), TestModels.RandomBytes(Size, seed: 15));
        Directory.CreateDirectory(_temp.Combine("upstream", "good"));
        File.WriteAllBytes(_temp.Combine("upstream", "good", "model.onnx"), Bytes);
        using var nginx = StartUpstream("2m");
        var model = Define(nginx.Url("good/model.onnx"));
        using var source = PullThrough(mirror: nginx.Url("slow/bad/").ToString());

        using var early = await source.OpenAsync(model, 0, _timeout.Token);
        var failure = await Assert.ThrowsAsync<ModelCacheException>(() => ReadToEndAsync(early.Content));

        Assert.Equal("UpstreamRestarted", failure.ErrorId);
        await WaitUntilAsync(() => File.Exists(_store.GetModelPath(model)));
        using var later = await source.OpenAsync(model, 0, _timeout.Token);
        Assert.Equal(Bytes, await ReadToEndAsync(later.Content));
        Assert.Equal(1, source.Fetches);
        Assert.Equal(0, source.Failures);
    }

    [Fact]
    public async Task An_unreachable_upstream_is_UpstreamFailed_promptly_and_not_remembered()
    {
        var model = Define(new Uri($"http://127.0.0.1:{ClosedPort()}/model.onnx"));
        using var source = PullThrough();
        var clock = Stopwatch.StartNew();

        var failure = await Assert.ThrowsAsync<ModelCacheException>(() => source.OpenAsync(model, 0, _timeout.Token));
        var again = await Assert.ThrowsAsync<ModelCacheException>(() => source.OpenAsync(model, 0, _timeout.Token));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        Assert.Equal("UpstreamFailed", failure.ErrorId);
        Assert.Equal(ModelCacheErrorKind.ConnectionError, failure.Kind);
        Assert.Equal("SourceUnreachable", ((ModelCacheException)again.InnerException!).ErrorId); // tried again, not skipped by an old circuit breaker
        Assert.Equal(2, source.Fetches);
        Assert.Equal(2, source.Failures);
    }

    [Fact]
    public async Task A_cached_model_is_served_from_the_cache_without_an_upstream_request()
    {
        File.WriteAllBytes(_temp.Combine("upstream", "model.onnx"), Bytes);
        using var nginx = StartUpstream("1m");
        var model = Define(nginx.Url("slow/cached/model.onnx"));
        using (var local = new SourcePlanner(new[] { _temp.Combine("upstream") }, mirrorOnly: true, offline: true))
        {
            await new ModelSaver(_store, local).SaveAsync(model, false, null, null, _timeout.Token);
        }

        using var source = PullThrough();
        using var content = await source.OpenAsync(model, 5, _timeout.Token);

        Assert.True(content.IsComplete);
        Assert.Equal(Bytes.Skip(5).ToArray(), await ReadToEndAsync(content.Content));
        Assert.Equal(1, _cached.Served);
        Assert.Equal(0, source.Fetches);
        Assert.Empty(nginx.ReadAccessLog());
    }

    [Fact]
    public async Task Disposing_during_a_fetch_fails_the_readers_and_leaves_no_final_file_partial_nor_running_fetch()
    {
        File.WriteAllBytes(_temp.Combine("upstream", "model.onnx"), Bytes);
        using var nginx = StartUpstream("256k");
        var model = Define(nginx.Url("slow/stop/model.onnx"));
        var source = PullThrough();
        var readers = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => source.OpenAsync(model, 0, _timeout.Token)));
        await ReadAtLeastAsync(readers[0].Content, 64 << 10);

        var clock = Stopwatch.StartNew();
        source.Dispose();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Equal(0, source.RunningFetches);
        foreach (var reader in readers)
        {
            using (reader)
            {
                Assert.Equal("PullThroughStopped", (await Assert.ThrowsAsync<ModelCacheException>(() => ReadToEndAsync(reader.Content))).ErrorId);
            }
        }

        Assert.False(File.Exists(_store.GetModelPath(model)));
        Assert.False(File.Exists(_store.GetPartialPath(model)), "a stopped server leaves no partial download");
        Assert.Equal("PullThroughStopped", (await Assert.ThrowsAsync<ModelCacheException>(() => source.OpenAsync(model, 0, _timeout.Token))).ErrorId);
    }

    private NginxServer StartUpstream(string rate)
    {
        var options = new NginxServerOptions(_temp.Combine("upstream"));
        options.ThrottledLocations["/slow/"] = rate;
        return NginxServer.Start(options);
    }

    private static ModelDefinition Define(Uri url) => TestModels.Define(Bytes, url, member: "PULL", fileName: "model.onnx");

    private PullThroughContentSource PullThrough(string? mirror = null) => new(_store, _cached, new PullThroughOptions
    {
        Mirrors = mirror is null ? Array.Empty<string>() : new[] { mirror },
        Network = new NetworkOptions { Timeout = TimeSpan.FromSeconds(10), RetryCount = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(20) },
    });

    private Task<byte[]> ReadToEndAsync(Stream stream) => StreamReading.ReadToEndAsync(stream, _timeout.Token);

    private Task<byte[]> ReadAtLeastAsync(Stream stream, int count) => StreamReading.ReadExactlyAsync(stream, count, _timeout.Token);

    private async Task WaitUntilAsync(Func<bool> condition)
    {
        while (!condition())
        {
            await Task.Delay(20, _timeout.Token);
        }
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
