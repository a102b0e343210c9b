using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using ModelCache.HuggingFace;
using ModelCache.Integrity;
using ModelCache.Testing;
using ModelCache.Catalog;

namespace ModelCache.Core.Tests.HuggingFace;

/// <summary>
/// The hub's own JavaScript client (<c>@huggingface/hub</c>, installed by <c>npm ci --prefix tests/interop/hub</c>)
/// judges the layout: it must read what ModelCache writes, and ModelCache must read what it writes.
/// </summary>
public sealed class HubInteropTests : IAsyncLifetime
{
    private static readonly byte[] Weights = HubDownloaderTests.Weights;
    private static readonly byte[] Config = HubDownloaderTests.Config;
    private readonly TempDirectory _temp = new("modelcache-hub");
    private HubServer _server = null!;
    private string _first = null!;
    private string _head = null!;

    private static string InteropFolder => Path.Combine(TestPaths.RepoRoot, "tests", "interop", "hub");

    private string Root => _temp.Combine("hub");

    public async Task InitializeAsync()
    {
        _server = await HubServer.StartAsync();
        var repo = _server.AddRepo("acme/detector");
        _first = repo.Commit("main", HubTestFile.Lfs("model.onnx", Weights));
        _head = repo.Commit("main", HubTestFile.Small("config.json", Config), HubTestFile.Lfs("onnx/deep/model.onnx", Weights));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task What_ModelCache_writes_scanCacheDir_lists_with_the_ref_the_files_and_their_sizes_and_no_warning(bool disableSymlinks)
    {
        var node = RequireNode();
        using (var downloader = new HubDownloader(new HubSettings(Root, _server.Endpoint, disableSymlinks: disableSymlinks), HubDownloaderTests.FastRetries, new FakeEnvironment(_temp.Path)))
        {
            foreach (var path in new[] { "model.onnx", "config.json", "onnx/deep/model.onnx" })
            {
                await downloader.DownloadAsync("acme/detector", path);
            }
        }

        using var scan = JsonDocument.Parse(Run(node, "scan.mjs", Root));

        Assert.Empty(scan.RootElement.GetProperty("warnings").EnumerateArray());
        var repo = Assert.Single(scan.RootElement.GetProperty("repos").EnumerateArray());
        Assert.Equal("acme/detector", repo.GetProperty("id").GetProperty("name").GetString());
        Assert.Equal("model", repo.GetProperty("id").GetProperty("type").GetString());
        var revision = Assert.Single(repo.GetProperty("revisions").EnumerateArray());
        Assert.Equal(_head, revision.GetProperty("commitOid").GetString());
        Assert.Equal(new[] { "main" }, revision.GetProperty("refs").EnumerateArray().Select(r => r.GetString()));
        // scanCacheDir lists the snapshot's top-level files only; the nested one is there for the layout, not this list.
        var files = revision.GetProperty("files").EnumerateArray().ToDictionary(f => Path.GetFileName(f.GetProperty("path").GetString()!), f => f.GetProperty("size").GetInt64());
        Assert.Equal(Weights.Length, files["model.onnx"]);
        Assert.Equal(Config.Length, files["config.json"]);
    }

    [SkippableFact]
    public async Task What_downloadFileToCacheDir_writes_ModelCache_lists_and_verifies()
    {
        var node = RequireNode();

        Run(node, "download.mjs", _server.Endpoint.ToString().TrimEnd('/'), "acme/detector", "model.onnx", Root);
        Run(node, "download.mjs", _server.Endpoint.ToString().TrimEnd('/'), "acme/detector", "config.json", Root);

        Assert.False(Directory.Exists(Path.Combine(Root, "models--acme--detector", "refs")), "the JS client writes no refs/");
        var scan = HubCacheScanner.Scan(Root);
        Assert.Empty(scan.Warnings);
        var model = scan.Entries.Single(e => e.FilePath == "model.onnx");
        Assert.Equal(_first, model.Revision); // paths-info's lastCommit.id, not the branch head
        Assert.Empty(model.Refs);
        Assert.Equal(Weights.Length, model.Size);
        Assert.Equal(TestModels.Sha256Of(Weights), model.BlobId);
        var config = scan.Entries.Single(e => e.FilePath == "config.json");
        Assert.Equal(_head, config.Revision);
        Assert.Equal(HubTestFile.Small("config.json", Config).GitSha1, config.BlobId);
        foreach (var entry in scan.Entries)
        {
            Assert.Equal(HashStatus.Valid, (await HubCacheBackend.VerifyAsync(entry)).Status);
        }
    }

    /// <summary>node and the installed client, or a skip that says how to get them; on CI (CI=true) their absence fails.</summary>
    internal static string RequireNode()
    {
        var node = ExternalTool.Find("node");
        var problem = node is null ? "node is not on PATH (apt install nodejs)"
            : !Directory.Exists(Path.Combine(InteropFolder, "node_modules", "@huggingface", "hub")) ? "the hub's JS client is not installed (run: npm ci --prefix tests/interop/hub)"
            : null;
        Skip.If(problem is not null && Environment.GetEnvironmentVariable("CI") != "true", $"Cannot judge interop with @huggingface/hub: {problem}.");
        Assert.True(problem is null, $"The CI machine (CI=true) must run the interop tests, but {problem}.");
        return node!;
    }

    internal static string Run(string node, string script, params string[] arguments)
    {
        var info = new ProcessStartInfo(node) { WorkingDirectory = InteropFolder, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(InteropFolder, script));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // The client reads HF_* itself: keep the developer's own settings out of the judgement.
        foreach (var name in new[] { "HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE" })
        {
            info.Environment.Remove(name);
        }

        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"node {script} did not finish within 2 minutes.");
        Assert.True(process.ExitCode == 0, $"node {script} failed ({process.ExitCode}): {error.Result}{Environment.NewLine}{output}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
    }
}
