using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Integrity;
using ModelCache.Primitives;
using ModelCache.Testing;
using ModelCache.Transfer;
using ModelCache.Catalog;

namespace ModelCache.Core.Tests.HuggingFace;

/// <summary>Saving hub files into a hub cache, against the loopback <see cref="HubServer"/>.</summary>
public sealed class HubDownloaderTests : IAsyncLifetime
{
    internal static readonly byte[] Weights = TestModels.RandomBytes(700_000, seed: 11);
    internal static readonly byte[] Config = "{\"hidden\": 8}"u8.ToArray();
    private readonly TempDirectory _temp = new("modelcache-hub");
    private HubServer _server = null!;
    private string _commit = null!;

    private string Root => _temp.Combine("hub");

    public async Task InitializeAsync()
    {
        _server = await HubServer.StartAsync();
        _commit = _server.AddRepo("acme/detector").Commit("main",
            HubTestFile.Lfs("model.onnx", Weights), HubTestFile.Small("config.json", Config), HubTestFile.Lfs("onnx/deep/model.onnx", Weights));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    internal static NetworkOptions FastRetries => new() { RetryCount = 2, RetryBaseDelay = TimeSpan.FromMilliseconds(10), Timeout = TimeSpan.FromSeconds(20) };

    [Fact]
    public async Task An_lfs_file_becomes_a_blob_named_by_its_sha256_a_relative_snapshot_link_and_a_ref()
    {
        var reports = new List<TransferProgress>();
        var result = await Download("acme/detector", "model.onnx", progress: new SyncProgress(reports));

        var repo = Path.Combine(Root, "models--acme--detector");
        var blobId = TestModels.Sha256Of(Weights);
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(repo, "blobs", blobId)));
        var pointer = Path.Combine(repo, "snapshots", _commit, "model.onnx");
        Assert.Equal("../../blobs/" + blobId, new FileInfo(pointer).LinkTarget);
        Assert.Equal(Weights, File.ReadAllBytes(pointer));
        Assert.Equal(_commit, File.ReadAllText(Path.Combine(repo, "refs", "main")));
        Assert.Equal(40, new FileInfo(Path.Combine(repo, "refs", "main")).Length);
        Assert.True(File.Exists(Path.Combine(Root, ".locks", "models--acme--detector", blobId + ".lock")));
        Assert.Equal(new[] { ".locks", "models--acme--detector" }, Directory.GetDirectories(Root).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
        Assert.Empty(Directory.GetFiles(Path.Combine(repo, "blobs"), "*.incomplete"));

        Assert.Equal(TransferSource.Upstream, result.Transfer.Source);
        Assert.Equal(Weights.Length, result.Transfer.BytesTransferred);
        Assert.Equal(pointer, result.Path);
        Assert.Equal("acme/detector", result.Entry.Repo);
        Assert.Equal(new[] { "main" }, result.Entry.Refs);
        Assert.Equal(blobId, result.Entry.BlobId);
        Assert.True(result.Entry.IsLink);
        Assert.Contains(reports, r => r.Phase == TransferPhase.Downloading && r.BytesDone == Weights.Length && r.TotalBytes == Weights.Length);
    }

    [Fact]
    public async Task A_small_file_is_named_by_its_git_blob_sha1_and_a_nested_path_gets_one_more_dotdot_per_level()
    {
        var small = await Download("acme/detector", "config.json");
        var nested = await Download("acme/detector", "onnx/deep/model.onnx");

        Assert.Equal(HubTestFile.Small("config.json", Config).GitSha1, small.Entry.BlobId);
        Assert.Equal(Config, File.ReadAllBytes(small.Path));
        Assert.Equal("../../../../blobs/" + TestModels.Sha256Of(Weights), new FileInfo(nested.Path).LinkTarget);
        Assert.Equal(Weights, File.ReadAllBytes(nested.Path));
        Assert.Equal("onnx/deep/model.onnx", nested.Entry.FilePath);
        Assert.Equal(HashStatus.Valid, (await HubCacheBackend.VerifyAsync(small.Entry)).Status);
    }

    [Fact]
    public async Task A_second_save_uses_the_verified_blob_and_a_shared_blob_is_downloaded_once()
    {
        await Download("acme/detector", "model.onnx");
        var again = await Download("acme/detector", "model.onnx");
        var sameBytesOtherPath = await Download("acme/detector", "onnx/deep/model.onnx");

        Assert.Equal(TransferSource.Cache, again.Transfer.Source);
        Assert.Equal(TransferSource.Cache, sameBytesOtherPath.Transfer.Source);
        Assert.Single(_server.StorageRequests);
    }

    [Fact]
    public async Task The_token_goes_to_the_hub_host_and_never_to_the_storage_host_it_redirects_to()
    {
        var commit = _server.AddRepo("acme/private", token: "hf_secret").Commit("main", HubTestFile.Lfs("model.onnx", Weights));

        var result = await Download("acme/private", "model.onnx", token: "hf_secret");

        Assert.Equal(commit, result.Entry.Revision);
        Assert.NotEmpty(_server.StorageRequests);
        Assert.All(_server.StorageRequests, r => Assert.Equal(string.Empty, r.Authorization));
        Assert.All(_server.HubRequests, r => Assert.Equal("Bearer hf_secret", r.Authorization));
    }

    [Fact]
    public async Task Without_a_token_a_private_repo_is_HubAuthenticationRequired_and_nothing_is_written()
    {
        _server.AddRepo("acme/private", token: "hf_secret").Commit("main", HubTestFile.Lfs("model.onnx", Weights));

        var error = await Assert.ThrowsAsync<TransferException>(() => Download("acme/private", "model.onnx"));

        Assert.Equal("HubAuthenticationRequired", error.ErrorId);
        Assert.Contains("HF_TOKEN", error.RecommendedAction);
        Assert.False(Directory.Exists(Path.Combine(Root, "models--acme--private")));
    }

    [Theory]
    [InlineData("acme/missing", "model.onnx", "main", "HubRepositoryNotFound")]
    [InlineData("acme/detector", "model.onnx", "v9", "HubRevisionNotFound")]
    [InlineData("acme/detector", "absent.onnx", "main", "HubEntryNotFound")]
    public async Task Each_404_error_code_has_its_own_error_id(string repo, string path, string revision, string errorId)
    {
        var error = await Assert.ThrowsAsync<TransferException>(() => Download(repo, path, revision));

        Assert.Equal(errorId, error.ErrorId);
        Assert.Equal(ModelCacheErrorKind.NotFound, error.Kind);
        Assert.NotNull(error.RecommendedAction);
    }

    [Fact]
    public async Task A_dropped_download_is_resumed_with_a_range_request_into_the_incomplete_blob()
    {
        _server.DropAfterBytes = 300_000;
        var warnings = new List<string>();

        var result = await Download("acme/detector", "model.onnx", warnings: warnings);

        var gets = _server.StorageRequests.Where(r => r.Method == "GET").ToList();
        Assert.Equal(2, gets.Count);
        Assert.Equal(string.Empty, gets[0].Range);
        Assert.Matches(@"^bytes=\d+-$", gets[1].Range);
        Assert.Equal(206, gets[1].Status);
        Assert.True(result.Transfer.Resumed);
        Assert.Equal(Weights, File.ReadAllBytes(result.Path));
        Assert.Contains(warnings, w => w.Contains("Retrying"));
    }

    [Fact]
    public async Task A_kept_incomplete_blob_is_resumed_from_its_length()
    {
        var blobs = Path.Combine(Root, "models--acme--detector", "blobs");
        Directory.CreateDirectory(blobs);
        File.WriteAllBytes(Path.Combine(blobs, TestModels.Sha256Of(Weights) + ".incomplete"), Weights.Take(250_000).ToArray());

        var result = await Download("acme/detector", "model.onnx");

        Assert.Equal("bytes=250000-", _server.StorageRequests.Single(r => r.Method == "GET").Range);
        Assert.Equal(Weights.Length - 250_000, result.Transfer.BytesTransferred);
        Assert.Equal(Weights, File.ReadAllBytes(result.Path));
    }

    [Fact]
    public async Task With_symlinks_disabled_the_snapshot_file_is_a_copy()
    {
        var result = await Download("acme/detector", "model.onnx", disableSymlinks: true);

        Assert.Null(new FileInfo(result.Path).LinkTarget);
        Assert.Equal(Weights, File.ReadAllBytes(result.Path));
        Assert.False(result.Entry.IsLink);
        var check = await HubCacheBackend.VerifyAsync(result.Entry);
        Assert.Equal(HashStatus.Valid, check.Status);
        Assert.Equal(TestModels.Sha256Of(Weights), check.Expected);
    }

    [Fact]
    public async Task Offline_a_cached_file_is_served_by_ref_and_snapshot_without_any_request()
    {
        await Download("acme/detector", "model.onnx");
        var before = _server.Requests.Count;

        var result = await Download("acme/detector", "model.onnx", offline: true);

        Assert.Equal(before, _server.Requests.Count);
        Assert.Equal(TransferSource.Cache, result.Transfer.Source);
        Assert.Equal(_commit, result.Entry.Revision);
    }

    [Fact]
    public async Task Offline_a_file_not_cached_is_HubFileNotAvailableOffline_without_any_request()
    {
        var error = await Assert.ThrowsAsync<ModelCacheException>(() => Download("acme/detector", "model.onnx", offline: true));

        Assert.Equal("HubFileNotAvailableOffline", error.ErrorId);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task Hub_settings_come_from_the_environment()
    {
        var environment = new FakeEnvironment("/home/u")
            .With("HF_HOME", "/data/hf").With("HF_ENDPOINT", "https://mirror.example/hf/").With("HF_TOKEN", "t")
            .With("TRANSFORMERS_OFFLINE", "1").With("HF_HUB_DISABLE_SYMLINKS", "true");

        var settings = HubSettings.FromEnvironment(environment);

        Assert.Equal(Path.GetFullPath("/data/hf/hub"), settings.CacheRoot);
        Assert.Equal("https://mirror.example/hf", settings.Endpoint.ToString().TrimEnd('/'));
        Assert.Equal("t", settings.Token);
        Assert.True(settings.Offline);
        Assert.True(settings.DisableSymlinks);
        Assert.DoesNotContain("t)", settings.ToString());
        Assert.Equal("HubEndpointInvalid", Assert.Throws<ModelCacheException>(() => HubSettings.FromEnvironment(new FakeEnvironment("/h").With("HF_ENDPOINT", "ftp://x"))).ErrorId);
    }

    internal async Task<HubDownloadResult> Download(string repo, string path, string? revision = null, string? token = null, bool offline = false,
        bool disableSymlinks = false, List<string>? warnings = null, IProgress<TransferProgress>? progress = null)
    {
        using var downloader = new HubDownloader(new HubSettings(Root, _server.Endpoint, token, offline, disableSymlinks), FastRetries, new FakeEnvironment(_temp.Path));
        return await downloader.DownloadAsync(repo, path, revision, progress: progress, warn: w => { lock (warnings ?? new List<string>()) { warnings?.Add(w); } });
    }
}

/// <summary>Collects reports synchronously (Progress&lt;T&gt; posts them later).</summary>
internal sealed class SyncProgress : IProgress<TransferProgress>
{
    private readonly List<TransferProgress> _reports;

    public SyncProgress(List<TransferProgress> reports) => _reports = reports;

    public void Report(TransferProgress value)
    {
        lock (_reports)
        {
            _reports.Add(value);
        }
    }
}
