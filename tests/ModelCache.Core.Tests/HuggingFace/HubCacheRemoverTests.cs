using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Testing;
using ModelCache.Catalog;
using static ModelCache.Core.Tests.HuggingFace.HubCacheScannerTests;

namespace ModelCache.Core.Tests.HuggingFace;

public sealed class HubCacheRemoverTests : IDisposable
{
    private static readonly HubRepoId Repo = HubRepoId.Parse("acme/detector");
    private readonly TempDirectory _temp = new("modelcache-hub");
    private readonly HubTreeBuilder _tree;

    public HubCacheRemoverTests()
    {
        _tree = new HubTreeBuilder(_temp.Combine("hub"), Repo.FolderName);
        if (OperatingSystem.IsWindows())
        {
            return; // each test skips: the tree is made of symbolic links
        }

        // Two revisions sharing one blob; each has one blob of its own.
        _tree.LfsFile(CommitA, "shared.onnx", Bytes(1));
        _tree.LfsFile(CommitA, "old.onnx", Bytes(2));
        _tree.LfsFile(CommitB, "shared.onnx", Bytes(1));
        _tree.LfsFile(CommitB, "new/model.onnx", Bytes(3));
        _tree.Ref("v1", CommitA);
        _tree.Ref("main", CommitB);
    }

    private string Outside => _temp.Combine("outside");

    public void Dispose() => _temp.Dispose();

    [SkippableFact]
    public async Task Removing_a_revision_keeps_blobs_another_revision_links_to_and_drops_its_refs()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
        var plan = new HubCacheBackend(_tree.Root).Plan(Repo, new[] { "v1" });

        Assert.False(plan.WholeRepo);
        Assert.Equal(new[] { CommitA }, plan.Revisions);
        Assert.Equal(new[] { "v1" }, plan.Refs);
        Assert.Equal(2, plan.Files.Count);
        Assert.Equal(new[] { Path.Combine(_tree.RepoPath, "blobs", TestModels.Sha256Of(Bytes(2))) }, plan.Blobs);
        Assert.Equal(Bytes(2).Length, plan.Bytes);
        Assert.Contains("acme/detector@", plan.Describe());
        Assert.True(Directory.Exists(Path.Combine(_tree.RepoPath, "snapshots", CommitA)), "planning deletes nothing");

        var result = await new HubCacheBackend(_tree.Root).ExecuteAsync(plan);

        Assert.Equal(Bytes(2).Length, result.BytesFreed);
        Assert.False(Directory.Exists(Path.Combine(_tree.RepoPath, "snapshots", CommitA)));
        Assert.False(File.Exists(Path.Combine(_tree.RepoPath, "refs", "v1")));
        Assert.True(File.Exists(Path.Combine(_tree.RepoPath, "blobs", TestModels.Sha256Of(Bytes(1)))));
        var scan = HubCacheScanner.Scan(_tree.Root);
        Assert.Empty(scan.Warnings);
        Assert.Equal(new[] { "new/model.onnx", "shared.onnx" }, scan.Entries.Select(e => e.FilePath));
        Assert.All(scan.Entries, e => Assert.Equal(new[] { "main" }, e.Refs));
    }

    [SkippableFact]
    public async Task Removing_every_revision_or_none_named_removes_the_repo_folder()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
        var byCommit = new HubCacheBackend(_tree.Root).Plan(Repo, new[] { CommitA, "main" });
        var whole = new HubCacheBackend(_tree.Root).Plan(Repo);

        Assert.True(byCommit.WholeRepo);
        Assert.True(whole.WholeRepo);
        Assert.Equal(Bytes(1).Length + Bytes(2).Length + Bytes(3).Length + 2 * 40, whole.Bytes);
        Assert.Equal(3, whole.Blobs.Count);

        await new HubCacheBackend(_tree.Root).ExecuteAsync(whole);

        Assert.False(Directory.Exists(_tree.RepoPath));
        Assert.Empty(HubCacheScanner.Scan(_tree.Root).Entries);
    }

    [SkippableFact]
    public void Unknown_repos_and_revisions_are_not_found()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
        Assert.Equal("HubRepoNotCached", Assert.Throws<ModelCacheException>(() => new HubCacheBackend(_tree.Root).Plan(HubRepoId.Parse("acme/other"))).ErrorId);
        Assert.Equal("HubRevisionNotCached", Assert.Throws<ModelCacheException>(() => new HubCacheBackend(_tree.Root).Plan(Repo, new[] { "v2" })).ErrorId);
        Assert.Equal("HubRevisionNotCached", Assert.Throws<ModelCacheException>(() => new HubCacheBackend(_tree.Root).Plan(Repo, new[] { new string('c', 40) })).ErrorId);
        Assert.Equal("HubRevisionInvalid", Assert.Throws<ModelCacheException>(() => new HubCacheBackend(_tree.Root).Plan(Repo, new[] { "../../x" })).ErrorId);
    }

    [SkippableFact]
    public async Task Links_out_of_the_root_are_deleted_themselves_never_what_they_point_at()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
        Directory.CreateDirectory(Path.Combine(Outside, "dir"));
        File.WriteAllText(Path.Combine(Outside, "file"), "keep");
        File.WriteAllText(Path.Combine(Outside, "dir", "inner"), "keep");
        var snapshot = Path.Combine(_tree.RepoPath, "snapshots", CommitA);
        File.CreateSymbolicLink(Path.Combine(snapshot, "to-file"), Path.Combine(Outside, "file"));
        Directory.CreateSymbolicLink(Path.Combine(snapshot, "to-dir"), Path.Combine(Outside, "dir"));
        File.CreateSymbolicLink(Path.Combine(_tree.RepoPath, "blobs", "to-file"), Path.Combine(Outside, "file"));

        await new HubCacheBackend(_tree.Root).ExecuteAsync(new HubCacheBackend(_tree.Root).Plan(Repo, new[] { CommitA }));
        Assert.False(Directory.Exists(snapshot));

        await new HubCacheBackend(_tree.Root).ExecuteAsync(new HubCacheBackend(_tree.Root).Plan(Repo));
        Assert.False(Directory.Exists(_tree.RepoPath));

        Assert.Equal("keep", File.ReadAllText(Path.Combine(Outside, "file")));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(Outside, "dir", "inner")));
    }

    [SkippableFact]
    public async Task A_repo_folder_that_is_a_link_is_removed_as_a_link()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Outside, "file"), "keep");
        var linked = Path.Combine(_tree.Root, "models--acme--linked");
        Directory.CreateSymbolicLink(linked, Outside);

        var plan = new HubCacheBackend(_tree.Root).Plan(HubRepoId.Parse("acme/linked"));
        await new HubCacheBackend(_tree.Root).ExecuteAsync(plan);

        Assert.Equal(0, plan.Bytes);
        Assert.False(Directory.Exists(linked));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(Outside, "file")));
    }
}
