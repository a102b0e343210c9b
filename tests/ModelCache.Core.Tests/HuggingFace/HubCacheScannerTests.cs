using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using ModelCache.Configuration;
using ModelCache.HuggingFace;
using ModelCache.Integrity;
using ModelCache.Testing;
using ModelCache.Catalog;
using ModelCache.Locations;

namespace ModelCache.Core.Tests.HuggingFace;

/// <summary>Listing, verifying and locating hub caches built by hand, as the hub's clients (or a stranger) would leave them.</summary>
public sealed class HubCacheScannerTests : IDisposable
{
    internal const string CommitA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    internal const string CommitB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private readonly TempDirectory _temp = new("modelcache-hub");
    private readonly HubTreeBuilder _tree;

    public HubCacheScannerTests()
    {
        _tree = new HubTreeBuilder(_temp.Combine("hub"), "models--acme--detector");
    }

    private string Outside => _temp.Combine("outside");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void The_cache_is_found_where_huggingface_hub_looks()
    {
        var home = new FakeEnvironment("/home/u");
        Assert.Equal(Path.GetFullPath("/home/u/.cache/huggingface/hub"), HubCacheLocation.Resolve(home));
        Assert.Equal(Path.GetFullPath("/x/huggingface/hub"), HubCacheLocation.Resolve(new FakeEnvironment("/home/u").With(EnvironmentVariables.XdgCacheHome, "/x")));
        Assert.Equal(Path.GetFullPath("/h/hub"), HubCacheLocation.Resolve(new FakeEnvironment("/home/u").With("XDG_CACHE_HOME", "/x").With("HF_HOME", "/h")));
        Assert.Equal(Path.GetFullPath("/old"), HubCacheLocation.Resolve(new FakeEnvironment("/home/u").With("HF_HOME", "/h").With("HUGGINGFACE_HUB_CACHE", "/old")));
        Assert.Equal(Path.GetFullPath("/new"), HubCacheLocation.Resolve(new FakeEnvironment("/home/u").With("HUGGINGFACE_HUB_CACHE", "/old").With("HF_HUB_CACHE", "/new")));
        Assert.Equal(Path.GetFullPath("/home/u/hf"), HubCacheLocation.Resolve(new FakeEnvironment("/home/u").With("HF_HUB_CACHE", "~/hf")));
    }

    [Theory]
    [InlineData("models--acme--detector", "acme/detector", HubRepoType.Model)]
    [InlineData("datasets--acme--faces", "acme/faces", HubRepoType.Dataset)]
    [InlineData("spaces--acme--demo", "acme/demo", HubRepoType.Space)]
    [InlineData("models--gpt2", "gpt2", HubRepoType.Model)]
    public void Repo_folders_name_their_repo_and_type(string folder, string id, HubRepoType type)
    {
        Assert.True(HubRepoId.TryParseFolderName(folder, out var repo));
        Assert.Equal(id, repo!.Id);
        Assert.Equal(type, repo.Type);
        Assert.Equal(folder, repo.FolderName);
    }

    [Theory]
    [InlineData("models--")]
    [InlineData("kernels--acme--x")]
    [InlineData("models--acme--x--y")]
    [InlineData("models--..--x")]
    [InlineData("not-a-repo")]
    public void Other_folder_names_are_not_repos(string folder) => Assert.False(HubRepoId.TryParseFolderName(folder, out _));

    [SkippableFact]
    public void A_tree_without_refs_is_listed_by_commit_id_with_no_refs()
    {
        SkipOnWindows();
        _tree.LfsFile(CommitA, "model.onnx", Bytes(1));

        var scan = HubCacheScanner.Scan(_tree.Root);

        var entry = Assert.Single(scan.Entries);
        Assert.Empty(scan.Warnings);
        Assert.Equal("acme/detector", entry.Repo);
        Assert.Equal(CommitA, entry.Revision);
        Assert.Empty(entry.Refs);
        Assert.Equal("model.onnx", entry.FilePath);
        Assert.Equal(Bytes(1).Length, entry.Size);
        Assert.Equal(TestModels.Sha256Of(Bytes(1)), entry.BlobId);
        Assert.True(entry.IsLink);
        Assert.Equal($"acme/detector@{CommitA}:model.onnx", entry.Name);
    }

    [SkippableFact]
    public void Refs_are_listed_on_the_revision_they_point_at_and_nested_files_have_slash_paths()
    {
        SkipOnWindows();
        _tree.LfsFile(CommitA, "model.onnx", Bytes(1));
        _tree.LfsFile(CommitB, "onnx/fp16/model.onnx", Bytes(2));
        _tree.Ref("main", CommitB);
        _tree.Ref("v1.0", CommitB);
        _tree.Ref("refs/pr/1", CommitA);

        var scan = HubCacheScanner.Scan(_tree.Root);

        Assert.Empty(scan.Warnings);
        Assert.Equal(new[] { "refs/pr/1" }, scan.Entries.Single(e => e.Revision == CommitA).Refs);
        var nested = scan.Entries.Single(e => e.Revision == CommitB);
        Assert.Equal(new[] { "main", "v1.0" }, nested.Refs);
        Assert.Equal("onnx/fp16/model.onnx", nested.FilePath);
    }

    [SkippableFact]
    public async Task Verification_names_each_blob_by_its_id_and_catches_a_flipped_bit()
    {
        SkipOnWindows();
        _tree.LfsFile(CommitA, "model.onnx", Bytes(1));
        _tree.SmallFile(CommitA, "config.json", Encoding.UTF8.GetBytes("{}"));
        var entries = HubCacheScanner.Scan(_tree.Root).Entries;

        var results = await Task.WhenAll(entries.Select(e => HubCacheBackend.VerifyAsync(e)));
        Assert.All(results, r => Assert.Equal(HashStatus.Valid, r.Status));
        var lfs = entries.Single(e => e.FilePath == "model.onnx");
        Assert.Equal(lfs.Name, results.Single(r => r.Expected == lfs.BlobId).Name);
        Assert.Equal(lfs.BlobPath, results.Single(r => r.Expected == lfs.BlobId).Path);

        var flipped = Bytes(1);
        flipped[100] ^= 1;
        File.WriteAllBytes(lfs.BlobPath, flipped);
        var check = await HubCacheBackend.VerifyAsync(lfs);
        Assert.Equal(HashStatus.Mismatch, check.Status);
        Assert.Equal(TestModels.Sha256Of(flipped), check.Actual);
    }

    [SkippableFact]
    public void Snapshot_links_that_leave_the_repos_blobs_are_reported_not_followed()
    {
        SkipOnWindows();
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Outside, "secret"), "secret");
        var other = new HubTreeBuilder(_tree.Root, "models--acme--other");
        other.LfsFile(CommitA, "model.onnx", Bytes(3));
        _tree.LfsFile(CommitA, "model.onnx", Bytes(1));
        var snapshot = Path.Combine(_tree.RepoPath, "snapshots", CommitA);
        File.CreateSymbolicLink(Path.Combine(snapshot, "absolute"), Path.Combine(Outside, "secret"));
        File.CreateSymbolicLink(Path.Combine(snapshot, "relative"), "../../../../outside/secret");
        File.CreateSymbolicLink(Path.Combine(snapshot, "other-repo"), "../../../models--acme--other/blobs/" + TestModels.Sha256Of(Bytes(3)));
        File.CreateSymbolicLink(Path.Combine(snapshot, "not-a-blob-name"), "../../blobs/../refs/x");
        Directory.CreateSymbolicLink(Path.Combine(snapshot, "dir-link"), Outside);

        var scan = HubCacheScanner.Scan(_tree.Root);

        var listed = scan.Entries.Where(e => e.Repo == "acme/detector").Select(e => e.FilePath).ToList();
        Assert.Equal(new[] { "model.onnx" }, listed);
        foreach (var name in new[] { "absolute", "relative", "other-repo", "not-a-blob-name", "dir-link" })
        {
            Assert.Contains(scan.Warnings, w => w.Path == Path.Combine(snapshot, name) && w.IsLink);
        }
    }

    [SkippableFact]
    public void Linked_repo_and_snapshot_folders_bad_refs_and_foreign_folders_are_warnings()
    {
        SkipOnWindows();
        Directory.CreateDirectory(Outside);
        _tree.LfsFile(CommitA, "model.onnx", Bytes(1));
        _tree.Ref("main", CommitA);
        _tree.Ref("huge", CommitA + new string(' ', 4096));
        _tree.Ref("garbage", "not a commit");
        _tree.Ref("dangling", CommitB);
        Directory.CreateSymbolicLink(Path.Combine(_tree.Root, "models--acme--linked"), Outside);
        Directory.CreateSymbolicLink(Path.Combine(_tree.RepoPath, "snapshots", CommitB), Outside);
        Directory.CreateDirectory(Path.Combine(_tree.RepoPath, "snapshots", "not-a-commit"));
        Directory.CreateDirectory(Path.Combine(_tree.Root, "stray-folder"));
        File.CreateSymbolicLink(Path.Combine(_tree.RepoPath, "refs", "linked"), Path.Combine(Outside, "x"));

        var scan = HubCacheScanner.Scan(_tree.Root);

        var entry = Assert.Single(scan.Entries);
        Assert.Equal(new[] { "main" }, entry.Refs);
        string[] expected = ["models--acme--linked", CommitB, "not-a-commit", "stray-folder", "huge", "garbage", "linked"];
        foreach (var name in expected)
        {
            Assert.Contains(scan.Warnings, w => Path.GetFileName(w.Path) == name);
        }

        Assert.Contains(scan.Warnings, w => w.Message.Contains("dangling"));
        Assert.All(scan.Warnings.Where(w => Path.GetFileName(w.Path) is "models--acme--linked" || Path.GetFileName(w.Path) == CommitB), w => Assert.True(w.IsLink, w.Message));
        Assert.All(scan.Warnings.Where(w => Path.GetFileName(w.Path) is "not-a-commit" or "stray-folder" or "garbage"), w => Assert.False(w.IsLink, w.Message));
    }

    [Fact]
    public void A_missing_root_lists_nothing()
    {
        var scan = HubCacheScanner.Scan(_temp.Combine("absent"));
        Assert.Empty(scan.Entries);
        Assert.Empty(scan.Warnings);
    }

    internal static byte[] Bytes(int seed) => TestModels.RandomBytes(50_000 + seed, seed);

    private static void SkipOnWindows() => Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
}

/// <summary>Writes a hub repo folder by hand: blobs, relative snapshot links, refs.</summary>
internal sealed class HubTreeBuilder
{
    public HubTreeBuilder(string root, string folder)
    {
        Root = root;
        RepoPath = Path.Combine(root, folder);
    }

    public string Root { get; }

    public string RepoPath { get; }

    public string LfsFile(string commit, string path, byte[] content) => Link(commit, path, TestModels.Sha256Of(content), content);

    public string SmallFile(string commit, string path, byte[] content) => Link(commit, path, HubTestFile.Small(path, content).GitSha1, content);

    public void Ref(string name, string text)
    {
        var path = Path.Combine(RepoPath, "refs", name.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private string Link(string commit, string path, string blobId, byte[] content)
    {
        var blob = Path.Combine(RepoPath, "blobs", blobId);
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        File.WriteAllBytes(blob, content);
        var pointer = Path.Combine(RepoPath, "snapshots", commit, path.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(pointer)!);
        File.CreateSymbolicLink(pointer, string.Concat(Enumerable.Repeat("../", 2 + path.Count(c => c == '/'))) + "blobs/" + blobId);
        return blobId;
    }
}
