using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Store;
using ModelCache.Testing;
using static ModelCache.Core.Tests.HuggingFace.HubCacheScannerTests;

namespace ModelCache.Core.Tests.HuggingFace;

/// <summary>
/// The per-repo summary (<c>hf cache scan</c>) and the removal of detached revisions (<c>hf cache prune</c>), on hub trees
/// built by hand, hostile ones first: links out of the root, FIFOs, refs that cannot be trusted.
/// </summary>
public sealed class HubCachePruneTests : IDisposable
{
    private const string CommitC = "cccccccccccccccccccccccccccccccccccccccc";
    private const string CommitD = "dddddddddddddddddddddddddddddddddddddddd";
    private readonly TempDirectory _temp = new("modelcache-hub");
    private readonly HubTreeBuilder _tree;

    public HubCachePruneTests()
    {
        _tree = new HubTreeBuilder(_temp.Combine("hub"), "models--acme--detector");
    }

    private string Outside => _temp.Combine("outside");

    private HubCacheBackend Backend => new(_tree.Root);

    public void Dispose() => _temp.Dispose();

    // --- hostile trees -------------------------------------------------------------------------------------------

    [SkippableFact]
    public async Task A_detached_revision_holding_links_out_of_the_root_loses_the_links_never_their_targets()
    {
        SkipOnWindows();
        Directory.CreateDirectory(Outside);
        var secret = Path.Combine(Outside, "secret");
        File.WriteAllText(secret, "keep me");
        Directory.CreateDirectory(Path.Combine(Outside, "folder"));
        File.WriteAllText(Path.Combine(Outside, "folder", "inside"), "keep me too");
        _tree.LfsFile(CommitA, "model.onnx", Bytes(1));
        _tree.Ref("main", CommitA);
        _tree.LfsFile(CommitB, "old.onnx", Bytes(2));
        var snapshot = Path.Combine(_tree.RepoPath, "snapshots", CommitB);
        File.CreateSymbolicLink(Path.Combine(snapshot, "absolute"), secret);
        File.CreateSymbolicLink(Path.Combine(snapshot, "relative"), "../../../../outside/secret");
        Directory.CreateSymbolicLink(Path.Combine(snapshot, "dir-link"), Path.Combine(Outside, "folder"));

        var problems = new List<(ModelCacheException Error, object Input)>();
        var plan = Assert.Single(Backend.PlanDetached(null, problems, CancellationToken.None));
        Assert.Empty(problems);
        Assert.Equal(new[] { CommitB }, plan.Revisions);
        // The links are not blobs: only the detached revision's own blob is counted as freed.
        Assert.Equal(Bytes(2).Length, plan.Bytes);

        var result = await Backend.ExecuteAsync(plan);

        Assert.Equal(Bytes(2).Length, result.BytesFreed);
        Assert.False(Directory.Exists(snapshot));
        Assert.Equal("keep me", File.ReadAllText(secret));
        Assert.Equal("keep me too", File.ReadAllText(Path.Combine(Outside, "folder", "inside")));
        Assert.True(File.Exists(Path.Combine(_tree.RepoPath, "blobs", TestModels.Sha256Of(Bytes(1)))));
    }

    [SkippableFact]
    public void A_snapshot_folder_that_is_a_link_is_neither_counted_nor_pruned()
    {
        SkipOnWindows();
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Outside, "file"), "outside");
        _tree.LfsFile(CommitA, "model.onnx", Bytes(1));
        _tree.Ref("main", CommitA);
        Directory.CreateSymbolicLink(Path.Combine(_tree.RepoPath, "snapshots", CommitB), Outside);

        var problems = new List<(ModelCacheException Error, object Input)>();
        Assert.Empty(Backend.PlanDetached(null, problems, CancellationToken.None));
        var repo = Assert.Single(Backend.ListRepos(null, new List<(ModelCacheException, object)>(), CancellationToken.None));
        Assert.Equal(new[] { CommitA }, repo.Revisions.Select(r => r.Commit));
        Assert.Equal(Bytes(1).Length, repo.SizeOnDisk);
    }

    [SkippableTheory]
    [InlineData("fifo")]
    [InlineData("link")]
    [InlineData("garbage")]
    [InlineData("huge")]
    public void A_ref_that_cannot_be_read_stops_the_repos_pruning_with_HubRefsUnreadable(string lie)
    {
        SkipOnWindows();
        _tree.LfsFile(CommitA, "model.onnx", Bytes(1));
        _tree.Ref("main", CommitA);
        _tree.LfsFile(CommitB, "old.onnx", Bytes(2));
        var other = new HubTreeBuilder(_tree.Root, "models--acme--other");
        other.LfsFile(CommitC, "x.onnx", Bytes(3));
        other.LfsFile(CommitD, "y.onnx", Bytes(4));
        other.Ref("main", CommitD);
        var release = Path.Combine(_tree.RepoPath, "refs", "release");
        switch (lie)
        {
            case "fifo":
                SpecialFiles.MakeFifo(release);
                break;
            case "link":
                File.CreateSymbolicLink(release, Path.Combine(_tree.RepoPath, "refs", "main"));
                break;
            case "garbage":
                File.WriteAllText(release, "not a commit " + CommitB);
                break;
            default:
                File.WriteAllText(release, CommitB + new string(' ', 4096));
                break;
        }

        var problems = new List<(ModelCacheException Error, object Input)>();
        var plans = Backend.PlanDetached(null, problems, CancellationToken.None);

        // The ref might name CommitB: acme/detector keeps it; the other repo is pruned as usual.
        var plan = Assert.Single(plans);
        Assert.Equal("acme/other", plan.Repo);
        Assert.Equal(new[] { CommitC }, plan.Revisions);
        var (error, input) = Assert.Single(problems);
        Assert.Equal("HubRefsUnreadable", error.ErrorId);
        Assert.Equal("acme/detector", input);
        Assert.Equal(release, error.Data["Path"]);
        Assert.False(string.IsNullOrEmpty(error.RecommendedAction));
    }

    [SkippableFact]
    public async Task FIFOs_in_a_detached_snapshot_and_in_blobs_are_never_opened_and_are_removed_as_entries()
    {
        SkipOnWindows();
        _tree.LfsFile(CommitA, "model.onnx", Bytes(1));
        _tree.Ref("main", CommitA);
        _tree.LfsFile(CommitB, "old.onnx", Bytes(2));
        var fifoCopy = Path.Combine(_tree.RepoPath, "snapshots", CommitB, "pipe.bin");
        SpecialFiles.MakeFifo(fifoCopy);
        var fifoBlobId = new string('e', 64);
        SpecialFiles.MakeFifo(Path.Combine(_tree.RepoPath, "blobs", fifoBlobId));
        File.CreateSymbolicLink(Path.Combine(_tree.RepoPath, "snapshots", CommitB, "pipe-link.bin"), "../../blobs/" + fifoBlobId);

        // Bounded: a FIFO opened for reading would block until a writer came.
        var run = Task.Run(async () =>
        {
            var repo = Assert.Single(Backend.ListRepos(null, new List<(ModelCacheException, object)>(), CancellationToken.None));
            Assert.Equal(Bytes(1).Length + Bytes(2).Length, repo.SizeOnDisk);
            var plan = Assert.Single(Backend.PlanDetached(null, new List<(ModelCacheException, object)>(), CancellationToken.None));
            return await Backend.ExecuteAsync(plan);
        });
        Assert.True(await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30))) == run, "a FIFO was opened");

        Assert.Equal(Bytes(2).Length, (await run).BytesFreed);
        Assert.False(Directory.Exists(Path.Combine(_tree.RepoPath, "snapshots", CommitB)));
        Assert.False(File.Exists(Path.Combine(_tree.RepoPath, "blobs", fifoBlobId)));
    }

    [SkippableFact]
    public void A_repo_folder_that_is_a_link_is_not_listed_or_pruned()
    {
        SkipOnWindows();
        var elsewhere = new HubTreeBuilder(_temp.Combine("elsewhere"), "models--acme--linked");
        elsewhere.LfsFile(CommitA, "model.onnx", Bytes(1));
        Directory.CreateDirectory(_tree.Root);
        Directory.CreateSymbolicLink(Path.Combine(_tree.Root, "models--acme--linked"), elsewhere.RepoPath);

        var problems = new List<(ModelCacheException Error, object Input)>();
        Assert.Empty(Backend.ListRepos(null, problems, CancellationToken.None));
        Assert.Contains(problems, p => p.Error.ErrorId == "CacheFolderIsLink");
        Assert.Empty(Backend.PlanDetached(null, problems, CancellationToken.None));
        Assert.True(File.Exists(Path.Combine(elsewhere.RepoPath, "blobs", TestModels.Sha256Of(Bytes(1)))));
    }

    // --- the summary ---------------------------------------------------------------------------------------------

    [SkippableFact]
    public void The_summary_counts_shared_blobs_once_per_repo_and_once_per_revision()
    {
        SkipOnWindows();
        _tree.LfsFile(CommitA, "shared.onnx", Bytes(1));
        _tree.LfsFile(CommitA, "same-again.onnx", Bytes(1)); // two paths, one blob
        _tree.LfsFile(CommitA, "nested/old.onnx", Bytes(2));
        _tree.LfsFile(CommitB, "shared.onnx", Bytes(1));
        _tree.Ref("v1", CommitA);
        _tree.Ref("main", CommitB);
        _tree.Ref("pr/1", CommitB);
        Directory.CreateDirectory(Path.Combine(_tree.RepoPath, "snapshots", CommitC)); // empty: a revision of no file
        var dataset = new HubTreeBuilder(_tree.Root, "datasets--acme--set");
        dataset.SmallFile(CommitD, "data.csv", Bytes(5));

        var repos = Backend.ListRepos(null, new List<(ModelCacheException, object)>(), CancellationToken.None);

        Assert.Equal(new[] { "acme/set", "acme/detector" }, repos.Select(r => r.Repo));
        var set = repos[0];
        Assert.Equal(HubRepoType.Dataset, set.RepoType);
        Assert.Equal(Bytes(5).Length, set.SizeOnDisk);
        var repo = repos[1];
        Assert.Equal(HubRepoType.Model, repo.RepoType);
        Assert.Equal(Bytes(1).Length + Bytes(2).Length, repo.SizeOnDisk);
        Assert.Equal(2, repo.FileCount);
        Assert.Equal(new[] { CommitA, CommitB, CommitC }, repo.Revisions.Select(r => r.Commit));
        Assert.Equal(new[] { "v1" }, repo.Revisions[0].Refs);
        Assert.Equal(new[] { "main", "pr/1" }, repo.Revisions[1].Refs);
        Assert.True(repo.Revisions[2].IsDetached);
        Assert.Equal(1, repo.DetachedCount);
        Assert.Equal(3, repo.Revisions[0].FileCount);
        Assert.Equal(Bytes(1).Length + Bytes(2).Length, repo.Revisions[0].SizeOnDisk);
        Assert.Equal(Bytes(1).Length, repo.Revisions[1].SizeOnDisk);
        Assert.Equal(0, repo.Revisions[2].SizeOnDisk);
        Assert.Equal(new[] { "main", "pr/1", "v1" }, repo.Refs);

        var newest = new DateTime(2030, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(Path.Combine(_tree.RepoPath, "blobs", TestModels.Sha256Of(Bytes(2))), newest);
        File.SetLastAccessTimeUtc(Path.Combine(_tree.RepoPath, "blobs", TestModels.Sha256Of(Bytes(1))), newest.AddDays(1));
        repo = Backend.ListRepos(new[] { "acme/det*" }, new List<(ModelCacheException, object)>(), CancellationToken.None).Single();
        Assert.Equal(newest, repo.LastModified.UtcDateTime);
        Assert.Equal(newest.AddDays(1), repo.LastAccessed.UtcDateTime);
        Assert.Equal(newest, repo.Revisions[0].LastModified.UtcDateTime);
    }

    [Fact]
    public void Copies_count_as_files_of_their_own_and_names_select_repos()
    {
        var snapshot = Path.Combine(_tree.RepoPath, "snapshots", CommitA);
        Directory.CreateDirectory(snapshot);
        File.WriteAllBytes(Path.Combine(snapshot, "a.bin"), Bytes(1));
        File.WriteAllBytes(Path.Combine(snapshot, "b.bin"), Bytes(1));
        _tree.Ref("main", CommitA);

        var problems = new List<(ModelCacheException Error, object Input)>();
        var repo = Assert.Single(Backend.ListRepos(new[] { "acme/detector", "acme/absent", "not a repo", "zzz/*" }, problems, CancellationToken.None));

        Assert.Equal(2, repo.FileCount);
        Assert.Equal(2L * Bytes(1).Length, repo.SizeOnDisk);
        Assert.Equal(new[] { "HubRepoNotCached", "HubRepoNameInvalid" }, problems.Select(p => p.Error.ErrorId));
        Assert.DoesNotContain(Backend.ListRepos(null, new List<(ModelCacheException, object)>(), CancellationToken.None), r => r.Repo != "acme/detector");
    }

    [SkippableFact]
    public void A_link_whose_blob_is_missing_counts_for_nothing_in_the_repo_summary_or_the_health_summary()
    {
        SkipOnWindows();
        _tree.LfsFile(CommitA, "model.onnx", Bytes(1));
        var gone = _tree.LfsFile(CommitA, "gone.onnx", Bytes(2));
        _tree.Ref("main", CommitA);
        File.Delete(Path.Combine(_tree.RepoPath, "blobs", gone));

        var repo = Assert.Single(Backend.ListRepos(null, new List<(ModelCacheException, object)>(), CancellationToken.None));
        var summary = Backend.Summarize(new ModelCatalog(Array.Empty<ModelDefinition>()), new CacheHealthThresholds(), new List<ModelCacheException>(), CancellationToken.None);

        Assert.Equal((1, (long)Bytes(1).Length), (repo.FileCount, repo.SizeOnDisk));
        Assert.Equal(2, repo.Revisions[0].FileCount); // the revision still names both paths
        Assert.Equal((1, (long)Bytes(1).Length), (summary.FileCount, summary.TotalBytes));
    }

    [Fact]
    public void A_missing_root_has_no_repos_and_nothing_to_prune()
    {
        var backend = new HubCacheBackend(_temp.Combine("absent"));
        var problems = new List<(ModelCacheException Error, object Input)>();
        Assert.Empty(backend.ListRepos(null, problems, CancellationToken.None));
        Assert.Empty(backend.PlanDetached(null, problems, CancellationToken.None));
        Assert.Empty(problems);
    }

    // --- pruning -------------------------------------------------------------------------------------------------

    [SkippableFact]
    public async Task Pruning_removes_only_detached_revisions_and_frees_a_blob_only_when_no_snapshot_left_links_to_it()
    {
        SkipOnWindows();
        var (attachedOnly, sharedWithMain, sharedDetached, ownB, ownC) = (Bytes(1), Bytes(2), Bytes(3), Bytes(4), Bytes(6));
        _tree.LfsFile(CommitA, "main.onnx", attachedOnly);
        _tree.LfsFile(CommitA, "shared.onnx", sharedWithMain);
        _tree.Ref("main", CommitA);
        _tree.LfsFile(CommitB, "shared.onnx", sharedWithMain);
        _tree.LfsFile(CommitB, "both-detached.onnx", sharedDetached);
        _tree.LfsFile(CommitB, "own.onnx", ownB);
        _tree.LfsFile(CommitC, "both-detached.onnx", sharedDetached);
        _tree.LfsFile(CommitC, "own.onnx", ownC);
        var noExist = Path.Combine(_tree.RepoPath, ".no_exist", CommitB);
        Directory.CreateDirectory(noExist);
        File.WriteAllText(Path.Combine(noExist, "missing.json"), string.Empty);

        var plans = Backend.PlanDetached(null, new List<(ModelCacheException, object)>(), CancellationToken.None);

        Assert.Equal(new[] { CommitB, CommitC }, plans.Select(p => p.Revisions.Single()));
        Assert.All(plans, p => Assert.True(p.Detached));
        // Cumulative: the blob both detached revisions share is freed with the second.
        Assert.Equal(ownB.Length, plans[0].Bytes);
        Assert.Equal(sharedDetached.Length + ownC.Length, plans[1].Bytes);
        Assert.Contains("(detached)", plans[0].Describe());
        Assert.Empty(plans[0].Refs);

        var first = await Backend.ExecuteAsync(plans[0]);
        var second = await Backend.ExecuteAsync(plans[1]);

        Assert.Equal(ownB.Length, first.BytesFreed);
        Assert.Equal(sharedDetached.Length + ownC.Length, second.BytesFreed);
        Assert.False(second.RepoRemoved);
        Assert.False(Directory.Exists(noExist));
        var scan = HubCacheScanner.Scan(_tree.Root);
        Assert.Empty(scan.Warnings);
        Assert.Equal(new[] { CommitA }, scan.Entries.Select(e => e.Revision).Distinct());
        Assert.Equal(new[] { TestModels.Sha256Of(attachedOnly), TestModels.Sha256Of(sharedWithMain) }.OrderBy(x => x, StringComparer.Ordinal),
            Directory.GetFiles(Path.Combine(_tree.RepoPath, "blobs")).Select(Path.GetFileName).OrderBy(x => x, StringComparer.Ordinal));
        Assert.Empty(Backend.PlanDetached(null, new List<(ModelCacheException, object)>(), CancellationToken.None));
    }

    [SkippableFact]
    public async Task A_declined_detached_revision_keeps_the_blob_a_later_one_shares_with_it()
    {
        SkipOnWindows();
        _tree.LfsFile(CommitB, "both.onnx", Bytes(3));
        _tree.LfsFile(CommitC, "both.onnx", Bytes(3));
        _tree.LfsFile(CommitC, "own.onnx", Bytes(4));
        _tree.LfsFile(CommitA, "main.onnx", Bytes(1));
        _tree.Ref("main", CommitA);
        var plans = Backend.PlanDetached(new[] { "acme/detector" }, new List<(ModelCacheException, object)>(), CancellationToken.None);
        Assert.Equal(2, plans.Count);

        var result = await Backend.ExecuteAsync(plans[1]); // the first was declined

        Assert.Equal(1, result.BlobsKept);
        Assert.Equal(Bytes(4).Length, result.BytesFreed);
        Assert.True(File.Exists(Path.Combine(_tree.RepoPath, "blobs", TestModels.Sha256Of(Bytes(3)))));
        Assert.Empty(HubCacheScanner.Scan(_tree.Root).Warnings);
    }

    [SkippableFact]
    public async Task Pruning_every_revision_of_a_repo_with_no_refs_removes_the_repo_folder_as_hf_cache_prune_does()
    {
        SkipOnWindows();
        _tree.LfsFile(CommitA, "one.onnx", Bytes(1));
        _tree.LfsFile(CommitB, "two.onnx", Bytes(2));
        File.WriteAllBytes(Path.Combine(_tree.RepoPath, "blobs", new string('f', 64)), Bytes(7)); // a blob no snapshot links to

        var plans = Backend.PlanDetached(null, new List<(ModelCacheException, object)>(), CancellationToken.None);
        Assert.Equal(2, plans.Count);
        var first = await Backend.ExecuteAsync(plans[0]);
        Assert.False(first.RepoRemoved);
        var last = await Backend.ExecuteAsync(plans[1]);

        Assert.True(last.RepoRemoved);
        Assert.False(Directory.Exists(_tree.RepoPath));
        Assert.Equal(Bytes(2).Length + Bytes(7).Length, last.BytesFreed);
    }

    [SkippableFact]
    public async Task Clear_with_Detached_goes_through_the_removal_plan_one_item_per_revision()
    {
        SkipOnWindows();
        _tree.LfsFile(CommitA, "main.onnx", Bytes(1));
        _tree.Ref("main", CommitA);
        _tree.LfsFile(CommitB, "old.onnx", Bytes(2));
        var backend = Backend;

        var plan = await backend.PlanRemovalAsync(new ModelCatalog(Array.Empty<ModelDefinition>()), new RemovalRequest { Detached = true }, CancellationToken.None);

        var item = Assert.Single(plan.Items);
        Assert.Equal(HubCacheBackend.PruneAction, item.Action);
        Assert.Equal(Bytes(2).Length, item.Bytes);
        Assert.Equal("revisions", plan.Unit);
        var outcome = await backend.RemoveAsync(item, CancellationToken.None);
        var removed = Assert.IsType<HubRemovalResult>(outcome.Removed);
        Assert.Equal(new[] { CommitB }, removed.Revisions);
        Assert.Equal("acme/detector", removed.Repo);
    }

    private static void SkipOnWindows() => Skip.If(OperatingSystem.IsWindows(), "symbolic links and FIFOs need Unix here");
}
