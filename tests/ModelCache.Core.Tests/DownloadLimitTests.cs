using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.IO;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests;

/// <summary>Nothing unbounded: size caps, free space, slow drips, odd redirects and dead mirrors. All on 127.0.0.1.</summary>
public sealed class DownloadLimitTests : IAsyncLifetime
{
    private static readonly byte[] Bytes = TestModels.RandomBytes(300_000, seed: 11);
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
    public async Task An_endless_chunked_body_for_a_model_without_catalog_size_is_cut_at_the_download_limit_and_nothing_is_left()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { EndlessBody = true, EndlessLimitBytes = 256L << 20 }), exactSize: false);
        var network = Options();
        network.MaxDownloadSize = 2L << 20;

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, network));

        Assert.Equal("ContentTooLong", error.ErrorId);
        Assert.Equal(ModelCacheErrorKind.InvalidData, error.Kind);
        Assert.Contains("-MaxDownloadSize", error.Message);
        Assert.Contains("MaxDownloadSize", error.RecommendedAction);
        Assert.Single(_server.RequestsFor("m.onnx")); // bad content: not retried
        Assert.False(_server.RequestsFor("m.onnx").Single().Completed);
        AssertNothingLeft(model);
    }

    [Fact]
    public async Task Without_catalog_size_or_content_length_the_free_disk_space_caps_the_download()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { EndlessBody = true, EndlessLimitBytes = 256L << 20 }), exactSize: false);
        var network = Options();
        network.FileSystem = new FakeFileSystem { FreeSpace = 1L << 20 };

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, network));

        Assert.Equal("ContentTooLong", error.ErrorId);
        Assert.Contains("free disk space", error.Message);
        AssertNothingLeft(model);
    }

    [Fact]
    public async Task A_content_length_above_the_download_limit_is_refused_before_the_body_is_read()
    {
        var model = Model(_server.Serve("m.onnx", Bytes), exactSize: false);
        var network = Options();
        network.MaxDownloadSize = 100_000;

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, network));

        Assert.Equal("ContentTooLong", error.ErrorId);
        Assert.Contains("announces 300000 bytes", error.Message);
        AssertNothingLeft(model);
    }

    [Fact]
    public async Task A_known_size_that_does_not_fit_on_the_disk_fails_early_with_the_space_needed()
    {
        var model = Model(_server.Serve("m.onnx", Bytes));
        var network = Options();
        network.FileSystem = new FakeFileSystem { FreeSpace = 1000 };

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, network));

        Assert.Equal("InsufficientDiskSpace", error.ErrorId);
        Assert.Equal(ModelCacheErrorKind.WriteError, error.Kind);
        Assert.Contains("300000 more are needed", error.Message);
        Assert.Single(_server.RequestsFor("m.onnx")); // not retried
        AssertNothingLeft(model);
    }

    [Fact]
    public async Task A_slow_drip_is_stopped_by_the_minimum_rate_and_retried_like_a_stall()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { DripAfterBytes = 50_000, DripInterval = TimeSpan.FromMilliseconds(100) }));
        var network = Options(retries: 1);
        network.MinimumBytesPerSecond = 1024;
        network.MinimumRateWindow = TimeSpan.FromSeconds(1);
        var warnings = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, network, warnings));

        Assert.Equal("DownloadStalled", error.ErrorId);
        Assert.Contains("below the minimum of 1024 bytes/s", error.Message);
        Assert.Equal(2, _server.RequestCount("m.onnx")); // retried once, like a stall
        Assert.Contains(warnings, w => w.Contains("Retrying"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        Assert.False(File.Exists(Store.GetModelPath(model)));
    }

    [Fact]
    public async Task A_fast_transfer_is_not_mistaken_for_a_drip()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { BytesPerSecond = 400_000 }));
        var network = Options(retries: 0);
        network.MinimumBytesPerSecond = 1024;
        network.MinimumRateWindow = TimeSpan.FromMilliseconds(200);

        Assert.True((await Save(model, network)).PassedAndUnchanged());
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("ftp://127.0.0.1/tiny.onnx")]
    public async Task A_redirect_to_a_non_http_scheme_fails_that_mirror_and_the_next_one_is_tried(string target)
    {
        _server.Serve("a/tiny.onnx", Bytes, new FaultPlan { RedirectTo = new Uri(target) });
        _server.Serve("b/tiny.onnx", Bytes);
        var model = Model(new Uri("http://127.0.0.1:9/upstream/tiny.onnx"));
        var warnings = new List<string>();

        var entry = await Save(model, Options(), warnings, mirrors: new[] { new Uri(_server.BaseAddress, "a/").ToString(), new Uri(_server.BaseAddress, "b/").ToString() });

        Assert.True(entry.PassedAndUnchanged());
        Assert.Contains("/b/", entry.Transfer!.SourceUrl);
        Assert.Contains(warnings, w => w.Contains("only http and https redirects are followed") && w.Contains("Trying the next source"));
        Assert.Single(_server.RequestsFor("a/tiny.onnx")); // refused, not retried
    }

    [Fact]
    public async Task A_redirect_to_file_from_the_only_source_is_an_unsupported_redirect_error()
    {
        var model = Model(_server.Serve("m.onnx", Bytes, new FaultPlan { RedirectTo = new Uri("file:///etc/passwd") }));

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, Options()));

        Assert.Equal("UnsupportedRedirect", error.ErrorId);
        Assert.Equal(ModelCacheErrorKind.SecurityError, error.Kind);
        AssertNothingLeft(model);
    }

    [Fact]
    public async Task A_mirror_that_refuses_connections_is_tried_once_per_batch_and_then_skipped()
    {
        using var dead = new RefusingListener();
        _server.Serve("good/a.onnx", Bytes);
        _server.Serve("good/b.onnx", Bytes);
        _server.Serve("good/c.onnx", Bytes);
        var models = new[] { "a", "b", "c" }
            .Select(n => TestModels.Define(Bytes, new Uri($"http://127.0.0.1:9/{n}.onnx"), member: n.ToUpperInvariant(), fileName: n + ".onnx"))
            .ToList();
        // HttpClient may reconnect by itself when a fresh connection ends without an answer (4 times here), so first
        // count what one attempt costs: one model, no retries, in a batch of its own.
        using (var probe = new SourcePlanner(new[] { dead.BaseAddress }, true, false, Options(retries: 0), new FakeEnvironment(_temp.Path)))
        {
            await Assert.ThrowsAnyAsync<ModelCacheException>(() => new ModelSaver(new CacheStore(_temp.Combine("probe")), probe).SaveAsync(models[0], false, null, null, CancellationToken.None));
        }

        var perAttempt = dead.Connections;
        Assert.InRange(perAttempt, 1, 10);
        dead.Reset();
        var warnings = new List<string>();
        var saved = new List<string>();
        var failed = new List<ModelCacheException>();
        using var planner = new SourcePlanner(new[] { dead.BaseAddress, new Uri(_server.BaseAddress, "good/").ToString() }, true, false, Options(retries: 3), new FakeEnvironment(_temp.Path));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await new ModelSaver(Store, planner).SaveAllAsync(models, throttleLimit: 1, force: false, null, w => { lock (warnings) { warnings.Add(w); } },
            (model, entry, failure) =>
            {
                lock (saved)
                {
                    if (entry is not null)
                    {
                        saved.Add(model.Name);
                    }
                    else
                    {
                        failed.Add(failure!);
                    }
                }
            }, timeout.Token);

        Assert.True(failed.Count == 0, string.Join(" / ", failed.Select(f => f.Message)) + " // " + string.Join(" / ", warnings));
        Assert.Equal(3, saved.Count);
        // One attempt for the whole batch: not one per model (3 attempts) nor per retry (12 attempts, as before the breaker).
        Assert.True(dead.Connections == perAttempt, $"{dead.Connections} connections, {perAttempt} per attempt; warnings: {string.Join(" / ", warnings)}");
        Assert.Single(warnings, w => w.Contains("skipped for the rest of this batch"));
        Assert.Equal(2, warnings.Count(w => w.StartsWith("Skipped " + dead.BaseAddress, StringComparison.Ordinal)));
        Assert.DoesNotContain(warnings, w => w.Contains("Retrying"));
    }

    [Fact]
    public async Task Written_ranges_are_flushed_progressively_and_a_known_size_is_preallocated()
    {
        var big = TestModels.RandomBytes(26_000_000, seed: 12); // seven 4 MiB writes
        var model = TestModels.Define(big, _server.Serve("big.onnx", big));
        var fileSystem = new FakeFileSystem { FreeSpace = 1L << 30, WriteBackGranularity = 256 << 10 };
        var network = Options();
        network.FileSystem = fileSystem;

        Assert.True((await Save(model, network)).PassedAndUnchanged());

        Assert.Equal(new[] { (0L, (long)big.Length) }, fileSystem.Preallocated);
        Assert.NotEmpty(fileSystem.Started);
        Assert.Equal(0, fileSystem.Started[0].Offset);
        for (var i = 1; i < fileSystem.Started.Count; i++)
        {
            Assert.Equal(fileSystem.Started[i - 1].Offset + fileSystem.Started[i - 1].Length, fileSystem.Started[i].Offset); // contiguous, nothing skipped
        }

        Assert.True(fileSystem.Started.Count > 5, $"{fileSystem.Started.Count} ranges");
        Assert.Equal(fileSystem.Started.Take(fileSystem.Started.Count - 4), fileSystem.Waited); // each range waited for 4 ranges later
    }

    [Fact]
    public void The_native_file_system_reports_free_space_and_its_calls_work_here()
    {
        var native = NativeFileSystem.Current;
        Assert.True(native.GetAvailableFreeSpace(_temp.Combine("not", "yet", "there.bin")) > 0);
        var path = _temp.Combine("native.bin");
        using (var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite))
        {
            native.Preallocate(file, 0, 1 << 20);
            Assert.Equal(0, file.Length); // reserved, not grown: the resume point stays honest
            file.Write(new byte[1 << 20], 0, 1 << 20);
            file.Flush();
            native.StartWriteBack(file, 0, 1 << 20);
            native.WaitForWriteBack(file, 0, 1 << 20);
        }

        if (System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux))
        {
            Assert.Equal(8L << 20, native.WriteBackGranularity); // sync_file_range was found and worked
        }
    }

    private static ModelDefinition Model(Uri url, bool exactSize = true) => TestModels.Define(Bytes, url, exactSize: exactSize);

    private static NetworkOptions Options(int retries = 0) => new()
    {
        RetryCount = retries,
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
        MaxRetryDelay = TimeSpan.FromSeconds(1),
        Timeout = TimeSpan.FromSeconds(10),
    };

    private async Task<ModelCacheEntry> Save(ModelDefinition model, NetworkOptions network, List<string>? warnings = null, string[]? mirrors = null)
    {
        using var planner = new SourcePlanner(mirrors ?? Array.Empty<string>(), mirrors is not null, false, network, new FakeEnvironment(_temp.Path));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await new ModelSaver(Store, planner).SaveAsync(model, false, null, w =>
        {
            if (warnings is not null)
            {
                lock (warnings)
                {
                    warnings.Add(w);
                }
            }
        }, timeout.Token);
    }

    private void AssertNothingLeft(ModelDefinition model)
    {
        Assert.False(File.Exists(Store.GetModelPath(model)));
        Assert.False(File.Exists(Store.GetPartialPath(model)));
    }

    /// <summary>Accepts each connection and resets it without answering, counting them: a host where nothing answers HTTP.</summary>
    private sealed class RefusingListener : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private int _connections;
        private int _requestBytes;

        public RefusingListener()
        {
            _listener.Start();
            BaseAddress = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/";
            _ = Task.Run(AcceptAsync);
        }

        public string BaseAddress { get; }

        public int Connections => Volatile.Read(ref _connections);

        public void Reset() => Interlocked.Exchange(ref _connections, 0);

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                Interlocked.Increment(ref _connections);
                _ = Task.Run(() => HangUpAsync(client));
            }
        }

        /// <summary>Waits for the request (so the client cannot tell it was never sent and quietly retry), then resets the connection.</summary>
        private async Task HangUpAsync(TcpClient client)
        {
            using (client)
            {
                try
                {
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    wait.CancelAfter(TimeSpan.FromSeconds(5));
                    var received = await client.GetStream().ReadAsync(new byte[4096], wait.Token);
                    client.LingerState = new LingerOption(true, 0); // close with RST
                    Interlocked.Add(ref _requestBytes, received);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
                {
                }
            }
        }
    }
}
