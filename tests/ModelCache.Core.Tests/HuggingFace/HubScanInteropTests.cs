using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
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
/// The hub's own JavaScript client judges the per-repo summary and the pruning of detached revisions: its
/// <c>scanCacheDir</c> (tests/interop/hub/scan.mjs) must agree exactly on each repo's size on disk and file count, its
/// revisions (commit and refs) and each revision's size, before and after a prune; times within a tolerance. Where the
/// client and huggingface_hub's <c>hf cache scan</c> differ, ModelCache follows <c>hf cache scan</c>, and the tree here
/// stays where both agree: the JS client lists only a snapshot's top-level files (hf walks every folder), it sums a
/// revision's size per file (hf counts a blob two paths of one revision share once), it reads refs/ one level deep
/// (hf reads refs/pr/1 too) and it fails a repo that has no refs/ folder.
/// </summary>
public sealed class HubScanInteropTests : IDisposable
{
    private const string CommitC = "cccccccccccccccccccccccccccccccccccccccc";
    private const string CommitD = "dddddddddddddddddddddddddddddddddddddddd";
    private const string CommitE = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";

    // stat times travel to JS as milliseconds; a second covers file systems that keep coarser times.
    private static readonly TimeSpan TimeTolerance = TimeSpan.FromSeconds(1);

    private readonly TempDirectory _temp = new("modelcache-hubscan");

    private string Root => _temp.Combine("hub");

    public void Dispose() => _temp.Dispose();

    [SkippableFact]
    public async Task scanCacheDir_agrees_with_the_repo_summary_before_and_after_removing_detached_revisions()
    {
        Skip.If(OperatingSystem.IsWindows(), "the tree is made of symbolic links");
        var node = HubInteropTests.RequireNode();
        BuildTree();

        var before = AssertAgree(node);
        Assert.Equal(2, before.Single(r => r.Repo == "acme/detector").DetachedCount);

        var backend = new HubCacheBackend(Root);
        var problems = new List<(ModelCacheException Error, object Input)>();
        var plans = backend.PlanDetached(null, problems, CancellationToken.None);
        Assert.Empty(problems);
        Assert.Equal(new[] { ("acme/detector", CommitB), ("acme/detector", CommitC), ("acme/set", CommitE) },
            plans.Select(p => (p.Repo, p.Revisions.Single())).OrderBy(p => p.Item1, StringComparer.Ordinal).ThenBy(p => p.Item2, StringComparer.Ordinal));
        var planned = plans.Sum(p => p.Bytes);
        long freed = 0;
        foreach (var plan in plans)
        {
            freed += (await backend.ExecuteAsync(plan)).BytesFreed;
        }

        var after = AssertAgree(node);
        // What -WhatIf said would be freed is what went, and what the summary lost.
        Assert.Equal(planned, freed);
        Assert.Equal(before.Sum(r => r.SizeOnDisk) - freed, after.Sum(r => r.SizeOnDisk));
        Assert.Equal(new[] { "acme/detector", "acme/keep" }, after.Select(r => r.Repo).OrderBy(r => r, StringComparer.Ordinal));
        Assert.All(after, r => Assert.Equal(0, r.DetachedCount));
    }

    /// <summary>
    /// acme/detector: main → A, v1 → D; B and C detached. B shares a blob with main, C one with B only, each has its own too.
    /// acme/set (a dataset): one detached revision, so pruning removes the repo. acme/keep: a copy, not a link.
    /// Blob times are set apart, so that the newest one is the one both must report.
    /// </summary>
    private void BuildTree()
    {
        var tree = new HubTreeBuilder(Root, "models--acme--detector");
        tree.LfsFile(CommitA, "model.onnx", Bytes(1));
        tree.SmallFile(CommitA, "config.json", Bytes(2));
        tree.LfsFile(CommitB, "model.onnx", Bytes(1));
        tree.LfsFile(CommitB, "shared-detached.onnx", Bytes(3));
        tree.LfsFile(CommitB, "b-only.onnx", Bytes(4));
        tree.LfsFile(CommitC, "shared-detached.onnx", Bytes(3));
        tree.LfsFile(CommitC, "c-only.onnx", Bytes(5));
        tree.LfsFile(CommitD, "config.json", Bytes(6));
        tree.Ref("main", CommitA);
        tree.Ref("v1", CommitD);
        Directory.CreateDirectory(Path.Combine(tree.RepoPath, "snapshots", CommitD, "ignored-by-js")); // an empty folder: no file for either

        var set = new HubTreeBuilder(Root, "datasets--acme--set");
        set.LfsFile(CommitE, "data.parquet", Bytes(7));
        Directory.CreateDirectory(Path.Combine(set.RepoPath, "refs")); // scanCacheDir fails a repo without refs/ (hf lists it)

        var keep = Path.Combine(Root, "models--acme--keep", "snapshots", CommitA);
        Directory.CreateDirectory(keep);
        File.WriteAllBytes(Path.Combine(keep, "copied.bin"), Bytes(8));
        Directory.CreateDirectory(Path.Combine(Root, "models--acme--keep", "refs"));
        File.WriteAllText(Path.Combine(Root, "models--acme--keep", "refs", "main"), CommitA);

        var time = new DateTime(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);
        foreach (var blob in Directory.GetDirectories(Root).SelectMany(r => Directory.Exists(Path.Combine(r, "blobs")) ? Directory.GetFiles(Path.Combine(r, "blobs")) : Array.Empty<string>())
            .Append(Path.Combine(keep, "copied.bin")).OrderBy(p => p, StringComparer.Ordinal))
        {
            time = time.AddMinutes(7);
            File.SetLastWriteTimeUtc(blob, time);
            File.SetLastAccessTimeUtc(blob, time.AddHours(1));
        }
    }

    /// <summary>Both read the root; every number must match, each time within <see cref="TimeTolerance"/>. Returns ModelCache's repos.</summary>
    private IReadOnlyList<HubCacheRepo> AssertAgree(string node)
    {
        using var js = JsonDocument.Parse(HubInteropTests.Run(node, "scan.mjs", Root));
        Assert.Empty(js.RootElement.GetProperty("warnings").EnumerateArray());
        var problems = new List<(ModelCacheException Error, object Input)>();
        var ours = new HubCacheBackend(Root).ListRepos(null, problems, CancellationToken.None);
        Assert.Empty(problems);

        var theirs = js.RootElement.GetProperty("repos").EnumerateArray().ToDictionary(r => r.GetProperty("id").GetProperty("name").GetString()!);
        Assert.Equal(theirs.Keys.OrderBy(k => k, StringComparer.Ordinal), ours.Select(r => r.Repo).OrderBy(k => k, StringComparer.Ordinal));
        foreach (var repo in ours)
        {
            var other = theirs[repo.Repo];
            var what = repo.Repo;
            Assert.True(repo.RepoType.ToString().ToLowerInvariant() == other.GetProperty("id").GetProperty("type").GetString(), what + ": type");
            Assert.True(repo.SizeOnDisk == other.GetProperty("size").GetInt64(), $"{what}: size on disk {repo.SizeOnDisk} vs {other.GetProperty("size").GetInt64()}");
            Assert.True(repo.FileCount == other.GetProperty("filesCount").GetInt32(), $"{what}: files {repo.FileCount} vs {other.GetProperty("filesCount").GetInt32()}");
            AssertClose(repo.LastAccessed, other.GetProperty("lastAccessedAt"), what + ": last accessed");
            AssertClose(repo.LastModified, other.GetProperty("lastModifiedAt"), what + ": last modified");

            var revisions = other.GetProperty("revisions").EnumerateArray().ToDictionary(r => r.GetProperty("commitOid").GetString()!);
            Assert.Equal(revisions.Keys.OrderBy(k => k, StringComparer.Ordinal), repo.Revisions.Select(r => r.Commit));
            foreach (var revision in repo.Revisions)
            {
                var theirRevision = revisions[revision.Commit];
                Assert.Equal(theirRevision.GetProperty("refs").EnumerateArray().Select(r => r.GetString()).OrderBy(r => r, StringComparer.Ordinal), revision.Refs);
                Assert.True(revision.SizeOnDisk == theirRevision.GetProperty("size").GetInt64(), $"{what}@{revision.Commit}: size {revision.SizeOnDisk} vs {theirRevision.GetProperty("size").GetInt64()}");
                Assert.Equal(theirRevision.GetProperty("files").GetArrayLength(), revision.FileCount);
                AssertClose(revision.LastModified, theirRevision.GetProperty("lastModifiedAt"), $"{what}@{revision.Commit}: last modified");
            }
        }

        // The health summary (Get-ModelCache -Summary) counts the same bytes and blobs (no interrupted download here).
        var summary = new HubCacheBackend(Root).Summarize(new ModelCatalog(Array.Empty<ModelDefinition>()), new CacheHealthThresholds(), new List<ModelCacheException>(), CancellationToken.None);
        Assert.Equal(js.RootElement.GetProperty("size").GetInt64(), summary.TotalBytes);
        Assert.Equal(theirs.Values.Sum(r => r.GetProperty("filesCount").GetInt32()), summary.FileCount);
        return ours;
    }

    private static void AssertClose(DateTimeOffset ours, JsonElement milliseconds, string what)
    {
        var theirs = DateTimeOffset.FromUnixTimeMilliseconds((long)milliseconds.GetDouble());
        Assert.True((ours - theirs).Duration() <= TimeTolerance, $"{what}: {ours:O} vs {theirs:O}");
    }
}
