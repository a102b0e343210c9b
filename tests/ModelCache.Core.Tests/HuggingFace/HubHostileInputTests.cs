using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Testing;
using ModelCache.Transfer;
using ModelCache.Catalog;

namespace ModelCache.Core.Tests.HuggingFace;

/// <summary>A server that lies, and names that try to leave the cache: nothing is saved, nothing outside the root is touched.</summary>
public sealed class HubHostileInputTests : IAsyncLifetime
{
    private static readonly byte[] Weights = HubDownloaderTests.Weights;
    private readonly TempDirectory _temp = new("modelcache-hub");
    private HubServer _server = null!;

    private string Root => _temp.Combine("hub");

    private string Repo => Path.Combine(Root, "models--acme--detector");

    private string Outside => _temp.Combine("outside");

    public async Task InitializeAsync()
    {
        _server = await HubServer.StartAsync();
        _server.AddRepo("acme/detector").Commit("main", HubTestFile.Lfs("model.onnx", Weights));
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Outside, "precious.txt"), "keep me");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task An_X_Linked_Etag_that_does_not_match_the_bytes_saves_nothing()
    {
        _server.HeaderOverrides["X-Linked-Etag"] = "\"" + new string('a', 64) + "\"";

        var error = await Assert.ThrowsAsync<TransferException>(() => Download());

        Assert.Equal("HubBlobHashMismatch", error.ErrorId);
        AssertNothingSaved();
    }

    [Fact]
    public async Task Bytes_that_differ_from_the_announced_blob_save_nothing()
    {
        _server.WrongBytes = TestModels.RandomBytes(Weights.Length, seed: 99);

        var error = await Assert.ThrowsAsync<TransferException>(() => Download());

        Assert.Equal("HubBlobHashMismatch", error.ErrorId);
        AssertNothingSaved();
    }

    [Fact]
    public async Task A_size_smaller_than_the_body_saves_nothing()
    {
        _server.HeaderOverrides["X-Linked-Size"] = "1000";

        var error = await Assert.ThrowsAsync<TransferException>(() => Download());

        Assert.Equal("ContentTooLong", error.ErrorId);
        AssertNothingSaved();
    }

    [Fact]
    public async Task A_size_larger_than_the_body_saves_nothing()
    {
        _server.HeaderOverrides["X-Linked-Size"] = (Weights.Length + 5000).ToString();

        await Assert.ThrowsAnyAsync<ModelCacheException>(() => Download());

        AssertNothingSaved();
    }

    [Theory]
    [InlineData("X-Repo-Commit", "main")]
    [InlineData("X-Repo-Commit", "../../../outside")]
    [InlineData("X-Repo-Commit", "ABCDEF0123456789ABCDEF0123456789ABCDEF01")]
    [InlineData("X-Linked-Etag", "\"../../../outside/precious.txt\"")]
    [InlineData("X-Linked-Size", "-5")]
    public async Task Headers_that_are_not_valid_names_are_HubInvalidResponse(string header, string value)
    {
        _server.HeaderOverrides[header] = value;

        var error = await Assert.ThrowsAsync<TransferException>(() => Download());

        Assert.Equal("HubInvalidResponse", error.ErrorId);
        Assert.False(Directory.Exists(Repo));
        Assert.Equal(new[] { "precious.txt" }, Directory.GetFiles(Outside).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("../acme", "model.onnx", "main", "HubRepoNameInvalid")]
    [InlineData("acme--x/detector", "model.onnx", "main", "HubRepoNameInvalid")]
    [InlineData("a/b/c", "model.onnx", "main", "HubRepoNameInvalid")]
    [InlineData("acme/detector", "../../../outside/precious.txt", "main", "HubPathInvalid")]
    [InlineData("acme/detector", "/etc/passwd", "main", "HubPathInvalid")]
    [InlineData("acme/detector", "onnx\\..\\x", "main", "HubPathInvalid")]
    [InlineData("acme/detector", "C:/x", "main", "HubPathInvalid")]
    [InlineData("acme/detector", "model.onnx", "..", "HubRevisionInvalid")]
    [InlineData("acme/detector", "model.onnx", "refs/../../x", "HubRevisionInvalid")]
    public async Task Names_that_could_leave_the_cache_are_refused_before_any_request(string repo, string path, string revision, string errorId)
    {
        var error = await Assert.ThrowsAsync<ModelCacheException>(() => Download(repo, path, revision));

        Assert.Equal(errorId, error.ErrorId);
        Assert.Equal(ModelCacheErrorKind.InvalidArgument, error.Kind);
        Assert.Empty(_server.Requests);
    }

    [SkippableFact]
    public async Task A_planted_incomplete_link_is_replaced_not_written_through()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
        Directory.CreateDirectory(Path.Combine(Repo, "blobs"));
        File.CreateSymbolicLink(Path.Combine(Repo, "blobs", TestModels.Sha256Of(Weights) + ".incomplete"), Path.Combine(Outside, "precious.txt"));

        var result = await Download();

        Assert.Equal("keep me", File.ReadAllText(Path.Combine(Outside, "precious.txt")));
        Assert.Equal(Weights, File.ReadAllBytes(result.Path));
    }

    [SkippableTheory]
    [InlineData("snapshots")]
    [InlineData("blobs")]
    [InlineData("refs")]
    public async Task A_folder_of_the_repo_planted_as_a_link_is_refused_and_nothing_is_written_through_it(string folder)
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
        Directory.CreateDirectory(Repo);
        Directory.CreateSymbolicLink(Path.Combine(Repo, folder), Outside);

        var error = await Assert.ThrowsAsync<ModelCacheException>(() => Download());

        Assert.Equal("CacheFolderIsLink", error.ErrorId);
        Assert.Equal(ModelCacheErrorKind.SecurityError, error.Kind);
        Assert.Equal(new[] { "precious.txt" }, Directory.GetFileSystemEntries(Outside).Select(Path.GetFileName));
    }

    [SkippableFact]
    public async Task A_locks_folder_planted_as_a_link_is_refused()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
        Directory.CreateDirectory(Root);
        Directory.CreateSymbolicLink(Path.Combine(Root, ".locks"), Outside);

        var error = await Assert.ThrowsAsync<ModelCacheException>(() => Download());

        Assert.Equal("CacheFolderIsLink", error.ErrorId);
        Assert.Equal(new[] { "precious.txt" }, Directory.GetFileSystemEntries(Outside).Select(Path.GetFileName));
    }

    [SkippableFact]
    public async Task Offline_a_ref_link_or_an_oversized_ref_is_not_followed()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
        await Download();
        var commit = File.ReadAllText(Path.Combine(Repo, "refs", "main"));
        File.WriteAllText(Path.Combine(Outside, "ref"), commit);
        File.Delete(Path.Combine(Repo, "refs", "main"));
        File.CreateSymbolicLink(Path.Combine(Repo, "refs", "main"), Path.Combine(Outside, "ref"));
        File.WriteAllText(Path.Combine(Repo, "refs", "big"), commit + new string(' ', 1 << 20));

        Assert.Equal("HubFileNotAvailableOffline", (await Assert.ThrowsAsync<ModelCacheException>(() => Download(offline: true))).ErrorId);
        Assert.Equal("HubFileNotAvailableOffline", (await Assert.ThrowsAsync<ModelCacheException>(() => Download(revision: "big", offline: true))).ErrorId);
    }

    private void AssertNothingSaved()
    {
        Assert.False(Directory.Exists(Path.Combine(Repo, "snapshots")));
        Assert.False(Directory.Exists(Path.Combine(Repo, "refs")));
        Assert.Empty(Directory.Exists(Path.Combine(Repo, "blobs")) ? Directory.GetFiles(Path.Combine(Repo, "blobs")).Where(f => !f.EndsWith(".incomplete", StringComparison.Ordinal)) : Array.Empty<string>());
    }

    private async Task<HubDownloadResult> Download(string repo = "acme/detector", string path = "model.onnx", string revision = "main", bool offline = false)
    {
        using var downloader = new HubDownloader(new HubSettings(Root, _server.Endpoint, null, offline), HubDownloaderTests.FastRetries, new FakeEnvironment(_temp.Path));
        return await downloader.DownloadAsync(repo, path, revision);
    }
}
