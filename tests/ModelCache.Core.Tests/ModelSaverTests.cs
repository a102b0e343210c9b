using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests;

public sealed class ModelSaverTests : IAsyncLifetime
{
    private static readonly byte[] Bytes = TestModels.RandomBytes(300_000);
    private readonly TempDirectory _temp = new();
    private FaultServer _server = null!;

    public async Task InitializeAsync() => _server = await FaultServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_missing_model_is_downloaded_verified_and_stored()
    {
        var model = TestModels.Define(Bytes, _server.Serve("tiny.onnx", Bytes));
        var store = new CacheStore(_temp.Combine("cache"));
        var reports = new List<TransferProgress>();

        var entry = await Save(store, model, progress: new SyncProgress(reports));

        Assert.Equal(Bytes, File.ReadAllBytes(entry.Path));
        Assert.True(entry.PassedAndUnchanged());
        Assert.Equal(TransferSource.Upstream, entry.Transfer!.Source);
        Assert.Equal(Bytes.Length, entry.Transfer.BytesTransferred);
        Assert.Equal(model.Url!.ToString(), entry.SourceUrl);
        Assert.Contains(reports, r => r.Phase == TransferPhase.Downloading && r.BytesDone == Bytes.Length && r.TotalBytes == Bytes.Length);
        Assert.Equal(1, _server.RequestCount("tiny.onnx"));
        Assert.Equal(new[] { "tiny.onnx", CacheStore.MetadataFileName }.OrderBy(n => n), Directory.GetFiles(store.GetModelDirectory(model)).Select(Path.GetFileName).OrderBy(n => n));
    }

    [Fact]
    public async Task A_valid_cached_model_is_returned_without_any_request()
    {
        var model = TestModels.Define(Bytes, _server.Serve("tiny.onnx", Bytes));
        var store = new CacheStore(_temp.Combine("cache"));
        await Save(store, model);

        var again = await Save(store, model);

        Assert.Equal(TransferSource.Cache, again.Transfer!.Source);
        Assert.Equal(0, again.Transfer.BytesTransferred);
        Assert.Equal(1, _server.RequestCount("tiny.onnx"));
    }

    [Fact]
    public async Task A_corrupt_cached_model_is_reported_and_downloaded_again()
    {
        var model = TestModels.Define(Bytes, _server.Serve("tiny.onnx", Bytes));
        var store = new CacheStore(_temp.Combine("cache"));
        var first = await Save(store, model);
        File.WriteAllBytes(first.Path, TestModels.RandomBytes(Bytes.Length, seed: 9));
        var warnings = new List<string>();

        var repaired = await Save(store, model, warnings);

        Assert.Equal(Bytes, File.ReadAllBytes(repaired.Path));
        Assert.Equal(TransferSource.Upstream, repaired.Transfer!.Source);
        Assert.Contains(warnings, w => w.Contains("corrupt") && w.Contains(model.Name));
        Assert.Equal(2, _server.RequestCount("tiny.onnx"));
    }

    [Fact]
    public async Task Offline_a_corrupt_cached_model_fails_saying_it_is_corrupt_and_promises_no_download()
    {
        var model = TestModels.Define(Bytes, _server.Serve("tiny.onnx", Bytes));
        var store = new CacheStore(_temp.Combine("cache"));
        var first = await Save(store, model);
        File.WriteAllBytes(first.Path, TestModels.RandomBytes(Bytes.Length, seed: 9));
        var warnings = new List<string>();

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(store, model, warnings, planner: new SourcePlanner(Array.Empty<string>(), false, offline: true)));

        Assert.Equal("ModelNotAvailableOffline", error.ErrorId);
        Assert.Contains("is corrupt", error.Message);
        Assert.DoesNotContain("is not in the cache", error.Message);
        Assert.Empty(warnings);
        Assert.Equal(1, _server.RequestCount("tiny.onnx"));
    }

    [Fact]
    public async Task Force_downloads_again_even_when_valid()
    {
        var model = TestModels.Define(Bytes, _server.Serve("tiny.onnx", Bytes));
        var store = new CacheStore(_temp.Combine("cache"));
        await Save(store, model);

        var again = await Save(store, model, force: true);

        Assert.Equal(TransferSource.Upstream, again.Transfer!.Source);
        Assert.Equal(2, _server.RequestCount("tiny.onnx"));
    }

    [Fact]
    public async Task A_404_fails_with_not_found_and_leaves_nothing_behind()
    {
        var model = TestModels.Define(Bytes, new Uri(_server.BaseAddress, "absent.onnx"));
        var store = new CacheStore(_temp.Combine("cache"));

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(store, model));

        Assert.Equal("SourceFileNotFound", error.ErrorId);
        Assert.Equal(ModelCacheErrorKind.NotFound, error.Kind);
        Assert.Contains("404", error.Message);
        Assert.False(File.Exists(store.GetModelPath(model)));
        Assert.False(File.Exists(store.GetPartialPath(model)));
    }

    [Fact]
    public async Task Wrong_bytes_fail_with_hash_mismatch_and_nothing_under_the_final_name()
    {
        var wrong = TestModels.RandomBytes(Bytes.Length, seed: 5);
        var model = TestModels.Define(Bytes, _server.Serve("tiny.onnx", wrong));
        var store = new CacheStore(_temp.Combine("cache"));

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(store, model));

        Assert.Equal("HashMismatch", error.ErrorId);
        Assert.Contains(TestModels.Sha256Of(wrong), error.Message);
        Assert.False(File.Exists(store.GetModelPath(model)));
        Assert.False(File.Exists(store.GetPartialPath(model)));
    }

    [Fact]
    public async Task A_body_of_the_wrong_length_is_rejected_before_hashing()
    {
        var model = TestModels.Define(Bytes, _server.Serve("tiny.onnx", Bytes.Take(1000).ToArray()));
        var store = new CacheStore(_temp.Combine("cache"));

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(store, model));

        Assert.Equal("SizeMismatch", error.ErrorId);
        Assert.Contains("1000 bytes", error.Message);
        Assert.False(File.Exists(store.GetModelPath(model)));
    }

    [Fact]
    public async Task Offline_a_missing_model_fails_naming_the_model_the_cache_path_and_the_remedy()
    {
        var model = TestModels.Define(Bytes, _server.Serve("tiny.onnx", Bytes));
        var store = new CacheStore(_temp.Combine("cache"));

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(store, model, planner: new SourcePlanner(Array.Empty<string>(), false, offline: true)));

        Assert.Equal("ModelNotAvailableOffline", error.ErrorId);
        Assert.Contains("Test/TINY", error.Message);
        Assert.Contains(store.GetModelPath(model), error.Message);
        Assert.Contains("Save-Model Test/TINY", error.RecommendedAction);
        Assert.Contains("-Mirror", error.RecommendedAction);
        Assert.Equal(0, _server.TotalRequests);
    }

    [Fact]
    public async Task Offline_an_http_mirror_is_not_contacted_but_a_directory_mirror_is_used()
    {
        var mirrorDirectory = _temp.Combine("mirror");
        Directory.CreateDirectory(mirrorDirectory);
        File.WriteAllBytes(Path.Combine(mirrorDirectory, "tiny.onnx"), Bytes);
        _server.Serve("m/tiny.onnx", Bytes);
        var model = TestModels.Define(Bytes, _server.Serve("tiny.onnx", Bytes));
        var planner = new SourcePlanner(new[] { new Uri(_server.BaseAddress, "m/").ToString(), mirrorDirectory }, false, offline: true);

        var entry = await Save(new CacheStore(_temp.Combine("cache")), model, planner: planner);

        Assert.Equal(TransferSource.Mirror, entry.Transfer!.Source);
        Assert.Equal(Path.Combine(mirrorDirectory, "tiny.onnx"), entry.Transfer.SourceUrl);
        Assert.Equal(0, _server.TotalRequests);
    }

    [Fact]
    public async Task A_copied_cache_root_serves_as_a_directory_mirror_for_an_air_gapped_machine()
    {
        var model = TestModels.Define(Bytes, _server.Serve("tiny.onnx", Bytes));
        var connected = new CacheStore(_temp.Combine("connected"));
        await Save(connected, model);

        var airGapped = new CacheStore(_temp.Combine("air-gapped"));
        var entry = await Save(airGapped, model, planner: new SourcePlanner(new[] { connected.Root }, mirrorOnly: false, offline: true));

        Assert.Equal(TransferSource.Mirror, entry.Transfer!.Source);
        Assert.Equal(connected.GetModelPath(model), entry.Transfer.SourceUrl);
        Assert.Equal(1, _server.RequestCount("tiny.onnx"));
    }

    [Fact]
    public async Task Mirrors_are_tried_in_order_before_upstream()
    {
        var model = TestModels.Define(Bytes, _server.Serve("upstream/tiny.onnx", Bytes));
        _server.Serve("second/tiny.onnx", Bytes);
        var planner = new SourcePlanner(new[] { new Uri(_server.BaseAddress, "first").ToString(), new Uri(_server.BaseAddress, "second").ToString() }, false, offline: false);
        var warnings = new List<string>();

        var entry = await Save(new CacheStore(_temp.Combine("cache")), model, warnings, planner: planner);

        Assert.Equal(TransferSource.Mirror, entry.Transfer!.Source);
        Assert.Equal(1, _server.RequestCount("first/tiny.onnx"));
        Assert.Equal(1, _server.RequestCount("second/tiny.onnx"));
        Assert.Equal(0, _server.RequestCount("upstream/tiny.onnx"));
        Assert.Single(warnings);
    }

    [Fact]
    public async Task Mirror_only_never_falls_back_to_upstream()
    {
        var model = TestModels.Define(Bytes, _server.Serve("upstream/tiny.onnx", Bytes));
        var planner = new SourcePlanner(new[] { new Uri(_server.BaseAddress, "empty").ToString() }, mirrorOnly: true, offline: false);

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(new CacheStore(_temp.Combine("cache")), model, planner: planner));

        Assert.Equal("SourceFileNotFound", error.ErrorId);
        Assert.Equal(0, _server.RequestCount("upstream/tiny.onnx"));
    }

    [Fact]
    public async Task Every_extra_fixture_model_saves_and_verifies_from_the_fixtures_mirror()
    {
        var catalog = new ModelCatalog(ModelCatalog.ReadBuiltIn());
        var extras = File.ReadAllLines(Path.Combine(TestPaths.Reference, "extra-models.tsv")).Skip(1).Select(l => l.Split('\t')).ToList();
        var store = new CacheStore(_temp.Combine("cache"));
        var planner = new SourcePlanner(new[] { TestPaths.FixtureModels }, mirrorOnly: false, offline: true);

        foreach (var row in extras)
        {
            var model = catalog.Resolve(row[1] + "/" + row[2]);
            var entry = await Save(store, model, planner: planner);
            Assert.True(entry.PassedAndUnchanged(), model.Name);
            Assert.Equal(row[5], entry.Sha256);
        }

        Assert.Equal(extras.Count, (await store.ListAsync(catalog)).Count);
    }

    [Fact]
    public async Task Cancellation_leaves_nothing_under_the_final_name()
    {
        var big = TestModels.RandomBytes(8_000_000);
        var model = TestModels.Define(big, _server.Serve("big.onnx", big));
        var store = new CacheStore(_temp.Combine("cache"));
        using var cancel = new CancellationTokenSource();
        var progress = new SyncProgress(new List<TransferProgress>(), r =>
        {
            if (r.BytesDone > 0)
            {
                cancel.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new ModelSaver(store, new SourcePlanner(Array.Empty<string>(), false, false)).SaveAsync(model, false, progress, null, cancel.Token));

        Assert.False(File.Exists(store.GetModelPath(model)));
    }

    private static async Task<ModelCacheEntry> Save(CacheStore store, ModelDefinition model, List<string>? warnings = null, bool force = false, IProgress<TransferProgress>? progress = null, SourcePlanner? planner = null)
    {
        using var plan = planner ?? new SourcePlanner(Array.Empty<string>(), false, false);
        var saver = new ModelSaver(store, plan);
        return await saver.SaveAsync(model, force, progress, w => warnings?.Add(w), CancellationToken.None);
    }

    private sealed class SyncProgress : IProgress<TransferProgress>
    {
        private readonly List<TransferProgress> _reports;
        private readonly Action<TransferProgress>? _onReport;

        public SyncProgress(List<TransferProgress> reports, Action<TransferProgress>? onReport = null)
        {
            _reports = reports;
            _onReport = onReport;
        }

        public void Report(TransferProgress value)
        {
            lock (_reports)
            {
                _reports.Add(value);
            }

            _onReport?.Invoke(value);
        }
    }
}
