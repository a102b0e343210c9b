using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests;

/// <summary>The download engine against a server that misbehaves on purpose. All on 127.0.0.1.</summary>
public sealed class TransferFaultTests : IAsyncLifetime
{
    private static readonly byte[] Bytes = TestModels.RandomBytes(600_000, seed: 3);
    private readonly TempDirectory _temp = new();
    private FaultServer _server = null!;

    public async Task InitializeAsync() => _server = await FaultServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    private CacheStore Store => new(_temp.Combine("cache"));

    [Fact]
    public async Task A_dropped_connection_is_resumed_with_a_range_request_and_the_whole_file_verified()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { DropAfterBytes = 200_000 }));
        var warnings = new List<string>();

        var entry = await Save(model, warnings: warnings);

        var requests = _server.RequestsFor("m.onnx");
        Assert.Equal(2, requests.Count);
        Assert.Equal(string.Empty, requests[0].Range);
        Assert.Matches(@"^bytes=\d+-$", requests[1].Range);
        Assert.NotEqual(string.Empty, requests[1].IfRange);
        Assert.Equal(206, requests[1].Status);
        Assert.True(entry.Transfer!.Resumed);
        Assert.InRange(entry.Transfer.BytesTransferred, Bytes.Length, Bytes.Length + 200_000);
        Assert.Equal(Bytes, File.ReadAllBytes(entry.Path));
        Assert.Contains(warnings, w => w.Contains("Retrying"));
        Assert.False(File.Exists(Store.GetPartialPath(model)));
    }

    [Fact]
    public async Task A_server_that_ignores_range_gets_a_clean_restart()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { DropAfterBytes = 200_000, IgnoreRange = true }));

        var entry = await Save(model);

        var requests = _server.RequestsFor("m.onnx");
        Assert.Equal(2, requests.Count);
        Assert.Equal(200, requests[1].Status);
        Assert.False(entry.Transfer!.Resumed);
        Assert.Equal(Bytes, File.ReadAllBytes(entry.Path));
    }

    [Theory]
    [InlineData(503)]
    [InlineData(500)]
    [InlineData(429)]
    [InlineData(408)]
    public async Task Transient_statuses_are_retried_until_success(int status)
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { FailTimes = 2, FailStatus = status }));

        var entry = await Save(model);

        Assert.Equal(3, _server.RequestsFor("m.onnx").Count);
        Assert.True(entry.PassedAndUnchanged());
    }

    [Fact]
    public async Task Retry_after_is_honoured()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { FailTimes = 1, FailStatus = 503, RetryAfterSeconds = 1 }));
        var warnings = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await Save(model, warnings: warnings);

        Assert.Contains(warnings, w => w.Contains("Retrying in 1 s"));
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), "the retry waited for Retry-After");
    }

    [Fact]
    public async Task Retries_are_bounded_by_retry_count()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { FailTimes = 100, FailStatus = 502 }));

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, retries: 2));

        Assert.Equal("DownloadFailed", error.ErrorId);
        Assert.Equal(ModelCacheErrorKind.ConnectionError, error.Kind);
        Assert.Contains("502", error.Message);
        Assert.Equal(3, _server.RequestsFor("m.onnx").Count);
        Assert.False(File.Exists(Store.GetModelPath(model)));
    }

    [Theory]
    [InlineData(400, "DownloadFailed")]
    [InlineData(403, "AccessDenied")]
    [InlineData(401, "AccessDenied")]
    [InlineData(410, "SourceFileNotFound")]
    public async Task Other_client_errors_fail_at_once(int status, string errorId)
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { FailTimes = 100, FailStatus = status }));

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model));

        Assert.Equal(errorId, error.ErrorId);
        Assert.Single(_server.RequestsFor("m.onnx"));
    }

    [Fact]
    public async Task Wrong_bytes_end_with_hash_mismatch_and_nothing_promoted_or_kept()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { WrongBytes = TestModels.RandomBytes(Bytes.Length, seed: 99) }));

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model));

        Assert.Equal("HashMismatch", error.ErrorId);
        Assert.Single(_server.RequestsFor("m.onnx"));
        AssertNothingLeft(model);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_html_page_served_with_200_is_rejected(bool labelledHtml)
    {
        var model = Model(_server.Serve("m.onnx", Bytes, labelledHtml ? new FaultPlan { Html = true } : new FaultPlan { HtmlDisguised = true }), exactSize: false);

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model));

        Assert.Equal("UnexpectedContent", error.ErrorId);
        Assert.Equal(ModelCacheErrorKind.InvalidData, error.Kind);
        Assert.Contains("HTML", error.Message);
        AssertNothingLeft(model);
    }

    [Fact]
    public async Task A_body_longer_than_the_catalog_size_is_cut_off()
    {
        var longer = Bytes.Concat(new byte[50_000]).ToArray();
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { WrongBytes = longer, OmitContentLength = true }));

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model));

        Assert.Equal("ContentTooLong", error.ErrorId);
        AssertNothingLeft(model);
    }

    [Fact]
    public async Task A_content_length_that_disagrees_with_the_catalog_is_rejected()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { WrongBytes = Bytes.Take(1000).ToArray() }));

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model));

        Assert.Equal("SizeMismatch", error.ErrorId);
        AssertNothingLeft(model);
    }

    [Fact]
    public async Task A_body_shorter_than_content_length_keeps_the_partial_for_resume()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { DropAfterBytes = 300_000, DropTimes = 100 }));

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, retries: 0));

        Assert.Equal("DownloadInterrupted", error.ErrorId);
        Assert.False(File.Exists(Store.GetModelPath(model)));
        Assert.InRange(new FileInfo(Store.GetPartialPath(model)).Length, 1, 300_000);

        _server.Serve("m.onnx", Bytes);
        var entry = await Save(model);
        Assert.True(entry.Transfer!.Resumed);
        Assert.Equal(Bytes, File.ReadAllBytes(entry.Path));
    }

    [Fact]
    public async Task A_stalled_transfer_times_out_and_is_resumed_on_retry()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { StallAfterBytes = 100_000, StallTimes = 1 }));
        var warnings = new List<string>();

        var entry = await Save(model, warnings: warnings, timeout: TimeSpan.FromSeconds(1));

        Assert.Contains(warnings, w => w.Contains("No data arrived"));
        Assert.True(entry.Transfer!.Resumed);
        Assert.Equal(2, _server.RequestsFor("m.onnx").Count);
    }

    [Fact]
    public async Task A_stall_that_never_ends_fails_with_a_stall_error()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { StallAfterBytes = 100_000 }));

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, retries: 1, timeout: TimeSpan.FromSeconds(1)));

        Assert.Equal("DownloadStalled", error.ErrorId);
        Assert.Equal(2, _server.RequestsFor("m.onnx").Count);
        Assert.False(File.Exists(Store.GetModelPath(model)));
    }

    [Fact]
    public async Task Cancellation_keeps_a_resumable_partial_and_the_next_save_resumes()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { BytesPerSecond = 400_000 }));
        using var cancel = new CancellationTokenSource();
        var progress = new CallbackProgress(p =>
        {
            if (p.BytesDone > 100_000)
            {
                cancel.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Save(model, progress: progress, cancellationToken: cancel.Token));
        Assert.False(File.Exists(Store.GetModelPath(model)));
        Assert.True(File.Exists(Store.GetPartialPath(model)));

        _server.Serve("m.onnx", Bytes);
        var entry = await Save(model);
        Assert.True(entry.Transfer!.Resumed);
        Assert.Matches(@"^bytes=\d+-$", _server.RequestsFor("m.onnx").Last().Range);
        Assert.Equal(Bytes, File.ReadAllBytes(entry.Path));
    }

    [Fact]
    public async Task A_complete_partial_left_by_a_crash_is_verified_and_promoted_without_a_request()
    {
        var model = Model(_server.Serve("m.onnx", Bytes));
        var partial = new PartialDownload(Store.PreparePartial(model));
        File.WriteAllBytes(partial.Path, Bytes);
        partial.Describe(model.Url!.ToString(), "etag:\"whatever\"");

        var entry = await Save(model);

        Assert.Empty(_server.RequestsFor("m.onnx"));
        Assert.True(entry.PassedAndUnchanged());
        Assert.True(entry.Transfer!.Resumed);
        Assert.Equal(new[] { "tiny.onnx", CacheStore.MetadataFileName }.OrderBy(n => n), Directory.GetFiles(Store.GetModelDirectory(model)).Select(Path.GetFileName).OrderBy(n => n));
    }

    [Fact]
    public async Task Leftovers_of_a_crash_beside_a_finished_model_are_swept_on_the_next_save()
    {
        var model = Model(_server.Serve("m.onnx", Bytes));
        var first = await Save(model);
        var directory = Store.GetModelDirectory(model);
        File.WriteAllText(first.Path + CacheStore.PartialStateSuffix, "{}");
        File.WriteAllText(Path.Combine(directory, CacheStore.MetadataFileName + ".1a2b3c4d.tmp"), "{");

        var again = await Save(model);

        Assert.Equal(TransferSource.Cache, again.Transfer!.Source);
        Assert.Equal(new[] { "tiny.onnx", CacheStore.MetadataFileName }.OrderBy(n => n), Directory.GetFiles(directory).Select(Path.GetFileName).OrderBy(n => n));
    }

    [Fact]
    public async Task A_partial_from_another_version_of_the_file_is_not_trusted()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { DropAfterBytes = 300_000, DropTimes = 100 }));
        await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, retries: 0));

        // The server now has different content (a new ETag): If-Range makes it send the whole file.
        var updated = TestModels.RandomBytes(Bytes.Length, seed: 42);
        var updatedModel = TestModels.Define(updated, _server.Serve("m.onnx", updated));
        var entry = await Save(updatedModel);

        Assert.Equal(200, _server.RequestsFor("m.onnx").Last().Status);
        Assert.False(entry.Transfer!.Resumed);
        Assert.Equal(updated, File.ReadAllBytes(entry.Path));
    }

    [Fact]
    public async Task Redirects_on_the_same_host_are_followed()
    {
        var target = _server.Serve("cdn/m.onnx", Bytes);
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { RedirectTo = target }));

        var entry = await Save(model);

        Assert.True(entry.PassedAndUnchanged());
        Assert.Single(_server.RequestsFor("cdn/m.onnx"));
    }

    [Fact]
    public async Task Mirror_credentials_go_to_the_mirror_host_only_never_to_a_redirect_target_elsewhere()
    {
        var otherHost = new UriBuilder(_server.BaseAddress) { Host = "localhost", Path = "elsewhere/tiny.onnx" }.Uri;
        _server.Serve("elsewhere/tiny.onnx", Bytes);
        _server.Serve("mirror/tiny.onnx", Bytes, new FaultPlan { RedirectTo = otherHost });
        var model = Model(new Uri(_server.BaseAddress, "upstream/m.onnx"));
        var network = Options();
        network.MirrorCredential = MirrorCredential.Bearer("s3cret-token");

        var entry = await Save(model, network: network, mirrors: new[] { new Uri(_server.BaseAddress, "mirror/").ToString() });

        Assert.True(entry.PassedAndUnchanged());
        Assert.Equal("Bearer s3cret-token", _server.RequestsFor("mirror/tiny.onnx").Single().Authorization);
        var redirected = _server.RequestsFor("elsewhere/tiny.onnx").Single();
        Assert.StartsWith("localhost", redirected.Host);
        Assert.Equal(string.Empty, redirected.Authorization);
        Assert.DoesNotContain("s3cret", network.MirrorCredential.ToString());
    }

    [Fact]
    public async Task Mirror_credentials_are_not_sent_upstream()
    {
        var model = Model(_server.Serve("upstream/m.onnx", Bytes));
        var network = Options();
        network.MirrorCredential = MirrorCredential.Basic("user", "pa55");

        await Save(model, network: network, mirrors: new[] { new Uri(_server.BaseAddress, "empty-mirror/").ToString() });

        Assert.StartsWith("Basic ", _server.RequestsFor("empty-mirror/tiny.onnx").Single().Authorization);
        Assert.Equal(string.Empty, _server.RequestsFor("upstream/m.onnx").Single().Authorization);
    }

    [Fact]
    public async Task A_redirect_from_https_to_http_is_refused()
    {
        await using var https = await FaultServer.StartAsync(https: true);
        var plain = _server.Serve("m.onnx", Bytes);
        var model = Model(https.Serve("m.onnx", Bytes, new FaultPlan { RedirectTo = plain }));
        var network = Options();
        network.ServerCertificateValidation = (_, certificate, _, _) => certificate?.Thumbprint == https.Certificate!.Thumbprint;

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, network: network));

        Assert.Equal("InsecureRedirect", error.ErrorId);
        Assert.Single(https.RequestsFor("m.onnx"));
        Assert.Empty(_server.RequestsFor("m.onnx"));
    }

    [Fact]
    public async Task Https_sources_work_and_the_certificate_is_validated()
    {
        await using var https = await FaultServer.StartAsync(https: true);
        var model = Model(https.Serve("m.onnx", Bytes));

        var untrusted = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, retries: 0));
        Assert.Equal("DownloadFailed", untrusted.ErrorId);

        var network = Options();
        network.ServerCertificateValidation = (_, certificate, _, _) => certificate?.Thumbprint == https.Certificate!.Thumbprint;
        Assert.True((await Save(model, network: network)).PassedAndUnchanged());
    }

    [Fact]
    public async Task Http_proxy_from_the_environment_carries_the_request()
    {
        var proxy = _server;
        _server.Serve("weights/m.onnx", Bytes);
        var model = Model(new Uri("http://models.example.invalid/weights/m.onnx"));
        var environment = new FakeEnvironment(_temp.Path).With("HTTP_PROXY", proxy.BaseAddress.ToString()).With("NO_PROXY", "internal.example");

        using var planner = new SourcePlanner(Array.Empty<string>(), false, false, Options(), environment);
        var entry = await new ModelSaver(Store, planner).SaveAsync(model, false, null, null, CancellationToken.None);

        Assert.True(entry.PassedAndUnchanged());
        Assert.Equal("models.example.invalid", proxy.RequestsFor("weights/m.onnx").Single().Host);
    }

    [Theory]
    [InlineData("https://a.example.com/x", "example.com", true)]
    [InlineData("https://example.com/x", ".example.com", true)]
    [InlineData("https://badexample.com/x", "example.com", false)]
    [InlineData("http://10.1.2.3:8080/x", "10.1.2.3:8080", true)]
    [InlineData("http://10.1.2.3:9090/x", "10.1.2.3:8080", false)]
    [InlineData("https://anything/x", "*", true)]
    [InlineData("https://host/x", "", false)]
    public void No_proxy_matches_hosts_suffixes_and_ports(string url, string noProxy, bool bypassed)
    {
        var proxy = new EnvironmentProxy("http://proxy:3128", "http://proxy:3128", noProxy);
        Assert.Equal(bypassed, proxy.IsBypassed(new Uri(url)));
        Assert.Equal(bypassed ? new Uri(url) : new Uri("http://proxy:3128"), proxy.GetProxy(new Uri(url)));
    }

    [Fact]
    public async Task Parallel_saves_overlap_up_to_the_throttle_limit()
    {
        var models = Enumerable.Range(0, 6).Select(i =>
        {
            var bytes = TestModels.RandomBytes(200_000, seed: 100 + i);
            return TestModels.Define(bytes, _server.Serve($"p{i}.onnx", bytes, new FaultPlan { BytesPerSecond = 1_000_000 }), member: "P" + i, fileName: $"p{i}.onnx");
        }).ToList();
        var results = new List<ModelCacheEntry>();
        using var planner = new SourcePlanner(Array.Empty<string>(), false, false, Options());

        await new ModelSaver(Store, planner).SaveAllAsync(models, 3, false, null, null, (_, entry, failure) =>
        {
            Assert.Null(failure);
            lock (results)
            {
                results.Add(entry!);
            }
        }, CancellationToken.None);

        Assert.Equal(6, results.Count);
        Assert.All(results, r => Assert.True(r.PassedAndUnchanged()));
        Assert.InRange(_server.MaxConcurrentRequests, 2, 3);
    }

    [Fact]
    public async Task Concurrent_savers_of_one_model_share_a_single_transfer()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { BytesPerSecond = 2_000_000 }));

        var entries = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Save(model))));

        Assert.Single(_server.RequestsFor("m.onnx"));
        Assert.All(entries, e => Assert.True(e.PassedAndUnchanged()));
        Assert.Equal(7, entries.Count(e => e.Transfer!.Source == TransferSource.Cache));
    }

    [SkippableFact]
    public async Task A_full_disk_ends_with_a_disk_full_error_and_no_partial()
    {
        // A real full disk: a 256 KiB tmpfs as the cache root, for a 600 KB model. Mounting needs Linux
        // and root; elsewhere the test is skipped and says why, but never on CI (CI=true), which runs
        // as root and must run it.
        var mountPoint = _temp.Combine("small");
        Directory.CreateDirectory(mountPoint);
        var (mount, cannotRun) = await TmpfsMount.TryMountAsync(mountPoint, "256k");
        Skip.If(cannotRun is not null && Environment.GetEnvironmentVariable("CI") != "true", $"Cannot fill a disk here: {cannotRun}.");
        Assert.True(cannotRun is null, $"The CI machine (CI=true) must be able to run this test as root on Linux, but {cannotRun}.");
        using (mount)
        {
            var model = Model(_server.Serve("m.onnx", Bytes));
            var store = new CacheStore(mountPoint);
            // The free-space check would refuse this download before its first byte (InsufficientDiskSpace, tested in
            // DownloadLimitTests); an OS that cannot tell the free space, or space taken by others meanwhile, still ends here.
            var network = Options();
            network.FileSystem = new FakeFileSystem { FreeSpace = null };
            using var planner = new SourcePlanner(Array.Empty<string>(), false, false, network);

            var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => new ModelSaver(store, planner).SaveAsync(model, false, null, null, CancellationToken.None));

            Assert.Equal("DiskFull", error.ErrorId);
            Assert.Equal(ModelCacheErrorKind.WriteError, error.Kind);
            Assert.False(File.Exists(store.GetPartialPath(model)));
            Assert.False(File.Exists(store.GetModelPath(model)));
        }
    }

    private static ModelDefinition Model(Uri url, bool exactSize = true) => TestModels.Define(Bytes, url, exactSize: exactSize);

    private static NetworkOptions Options(int retries = 3, TimeSpan? timeout = null) => new()
    {
        RetryCount = retries,
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
        MaxRetryDelay = TimeSpan.FromSeconds(2),
        Timeout = timeout ?? TimeSpan.FromSeconds(10),
    };

    private async Task<ModelCacheEntry> Save(ModelDefinition model, List<string>? warnings = null, int retries = 3, TimeSpan? timeout = null,
        IProgress<TransferProgress>? progress = null, NetworkOptions? network = null, string[]? mirrors = null, CancellationToken cancellationToken = default)
    {
        using var planner = new SourcePlanner(mirrors ?? Array.Empty<string>(), false, false, network ?? Options(retries, timeout), new FakeEnvironment(_temp.Path));
        return await new ModelSaver(Store, planner).SaveAsync(model, false, progress, w =>
        {
            lock (warnings ?? new List<string>())
            {
                warnings?.Add(w);
            }
        }, cancellationToken);
    }

    private void AssertNothingLeft(ModelDefinition model)
    {
        Assert.False(File.Exists(Store.GetModelPath(model)));
        Assert.False(File.Exists(Store.GetPartialPath(model)));
    }

    private sealed class CallbackProgress : IProgress<TransferProgress>
    {
        private readonly Action<TransferProgress> _callback;

        public CallbackProgress(Action<TransferProgress> callback) => _callback = callback;

        public void Report(TransferProgress value) => _callback(value);
    }
}
