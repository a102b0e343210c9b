using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using ICSharpCode.SharpZipLib.Zip;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Core.Tests.HuggingFace;
using ModelCache.Errors;
using ModelCache.HuggingFace;
using ModelCache.Integrity;
using ModelCache.Testing;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests;

/// <summary>
/// Hub cache files through a bundle: a cache written by HubDownloader exports and imports into an empty root that
/// lists and verifies the same, and crafted bundles (names leaving the root, lying hashes, duplicates) are refused
/// naming the entry, with nothing written under the hub root.
/// </summary>
public sealed class HubBundleTests : IAsyncLifetime
{
    private static readonly byte[] Weights = HubDownloaderTests.Weights;
    private static readonly byte[] Config = HubDownloaderTests.Config;
    private static readonly string Commit = new('c', 40);
    private readonly TempDirectory _temp = new("modelcache-hubbundle");
    private HubServer _server = null!;

    private string Source => _temp.Combine("source-hub");

    private string Target => _temp.Combine("target-hub");

    public async Task InitializeAsync()
    {
        _server = await HubServer.StartAsync();
        var repo = _server.AddRepo("acme/detector");
        repo.Commit("main", HubTestFile.Lfs("model.onnx", Weights));
        repo.Commit("main", HubTestFile.Small("config.json", Config), HubTestFile.Lfs("onnx/deep/model.onnx", Weights));
        using var downloader = new HubDownloader(new HubSettings(Source, _server.Endpoint), HubDownloaderTests.FastRetries, new FakeEnvironment(_temp.Path));
        foreach (var path in new[] { "model.onnx", "config.json", "onnx/deep/model.onnx" })
        {
            await downloader.DownloadAsync("acme/detector", path);
        }
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [Theory]
    [InlineData("hub.zip", false)]
    [InlineData("hub-folder", true)]
    public async Task A_hub_cache_exports_and_imports_into_an_empty_root_that_lists_and_verifies_the_same(string name, bool disableSymlinks)
    {
        var source = HubCacheScanner.Scan(Source).Entries;
        var result = await Export(source, name);

        Assert.Equal(source.Select(e => e.Name), result.Models);
        Assert.Equal(Weights.Length + Config.Length, result.Bytes); // one blob shared by two paths travels once
        var imported = await Import(result.Path, disableSymlinks);
        // The second path of the shared blob finds it placed already: only its pointer is written.
        Assert.Equal(new[] { ModelImportStatus.Imported, ModelImportStatus.Imported, ModelImportStatus.Skipped }, imported.Select(r => r.Status).OrderBy(s => s));
        Assert.Equal(Weights.Length + Config.Length, imported.Sum(r => r.Bytes));

        var scan = HubCacheScanner.Scan(Target);
        Assert.Empty(scan.Warnings);
        Assert.Equal(Describe(source), Describe(scan.Entries));
        Assert.Equal(disableSymlinks ? 0 : 3, scan.Entries.Count(e => e.IsLink));
        foreach (var entry in scan.Entries)
        {
            Assert.Equal(HashStatus.Valid, (await HubCacheBackend.VerifyAsync(entry)).Status);
        }

        Assert.Empty(Directory.GetFiles(Path.Combine(Target, "models--acme--detector", "blobs"), "*.incomplete"));
        var again = await Import(result.Path, disableSymlinks);
        Assert.All(again, r => Assert.Equal(ModelImportStatus.Skipped, r.Status));
    }

    [Fact]
    public async Task A_removed_snapshot_pointer_and_ref_come_back_when_the_blob_is_skipped()
    {
        var result = await Export(HubCacheScanner.Scan(Source).Entries, "hub.zip");
        await Import(result.Path);
        var repo = Path.Combine(Target, "models--acme--detector");
        Directory.Delete(Path.Combine(repo, "snapshots"), recursive: true);
        File.Delete(Path.Combine(repo, "refs", "main"));

        var again = await Import(result.Path);

        Assert.All(again, r => Assert.Equal(ModelImportStatus.Skipped, r.Status));
        Assert.Equal(Describe(HubCacheScanner.Scan(Source).Entries), Describe(HubCacheScanner.Scan(Target).Entries));
    }

    [SkippableFact]
    public async Task What_the_import_writes_scanCacheDir_of_the_hubs_JavaScript_client_lists_without_warnings()
    {
        var node = HubInteropTests.RequireNode();
        var result = await Export(HubCacheScanner.Scan(Source).Entries, "hub.zip");
        await Import(result.Path);

        using var scan = JsonDocument.Parse(HubInteropTests.Run(node, "scan.mjs", Target));

        Assert.Empty(scan.RootElement.GetProperty("warnings").EnumerateArray());
        var repo = Assert.Single(scan.RootElement.GetProperty("repos").EnumerateArray());
        Assert.Equal("acme/detector", repo.GetProperty("id").GetProperty("name").GetString());
        var revisions = repo.GetProperty("revisions").EnumerateArray().ToList();
        Assert.Equal(HubCacheScanner.Scan(Source).Entries.Select(e => e.Revision).Distinct().OrderBy(c => c), revisions.Select(r => r.GetProperty("commitOid").GetString()).OrderBy(c => c));
        Assert.Contains(revisions, r => r.GetProperty("refs").EnumerateArray().Select(x => x.GetString()).SequenceEqual(new[] { "main" }));
    }

    [Fact]
    public async Task A_corrupt_blob_stops_the_export_and_leaves_nothing()
    {
        var entries = HubCacheScanner.Scan(Source).Entries;
        var config = entries.Single(e => e.FilePath == "config.json");
        File.WriteAllBytes(config.BlobPath, Encoding.UTF8.GetBytes("{\"hidden\": 9}"));

        var error = await Assert.ThrowsAsync<ModelCacheException>(() => Export(entries, "hub.zip"));

        Assert.Equal("HashMismatch", error.ErrorId);
        Assert.Contains(config.Name, error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_temp.Combine("out")));
    }

    [Fact]
    public async Task A_hub_bundle_opened_as_a_catalog_bundle_and_a_catalog_bundle_opened_as_a_hub_bundle_are_refused_by_layout()
    {
        var hub = await Export(HubCacheScanner.Scan(Source).Entries, "hub.zip");
        var asNative = Assert.Throws<ModelCacheException>(() => Bundle.Open(hub.Path, new ModelCatalog(Array.Empty<ModelDefinition>())));
        Assert.Equal("BundleLayoutMismatch", asNative.ErrorId);
        Assert.Contains("-Layout HuggingFace", asNative.RecommendedAction);

        var native = Craft(new JObject { ["name"] = "Acme/Tiny", ["fileName"] = "tiny.onnx", ["size"] = 3, ["sha256"] = new string('a', 64) }, ("tiny.onnx", "abc"u8.ToArray()));
        var asHub = Assert.Throws<ModelCacheException>(() => Bundle.OpenHub(native));
        Assert.Equal("BundleLayoutMismatch", asHub.ErrorId);
        Assert.Contains("Acme/Tiny", asHub.Message);
    }

    [Theory]
    [InlineData("path", "../x")]
    [InlineData("path", "/abs")]
    [InlineData("path", "a//b")]
    [InlineData("path", "a\\b")]
    [InlineData("path", "C:/x")]
    [InlineData("commit", "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC")]
    [InlineData("commit", "cccc")]
    [InlineData("repo", "acme/../x")]
    [InlineData("repo", "acme/a..b")]
    [InlineData("repoType", "../models")]
    [InlineData("blobId", "../../x")]
    [InlineData("refs", "main/..")]
    [InlineData("refs", "/etc/passwd")]
    public void A_hostile_name_in_the_manifest_refuses_the_bundle_naming_the_entry_before_anything_is_written(string member, string value)
    {
        var entry = HubEntry(Config, "config.json", isLfs: false);
        entry["hub"]![member] = member == "refs" ? new JArray(value) : value;
        var bundle = Craft(entry, (BlobIdOf(entry), Config));

        var error = Assert.Throws<ModelCacheException>(() => Bundle.OpenHub(bundle));

        Assert.Equal("BundleManifestInvalid", error.ErrorId);
        Assert.Contains("acme/detector@" + Commit + ":config.json", error.Message);
        Assert.False(Directory.Exists(Target));
    }

    [Fact]
    public void The_same_repo_commit_and_path_twice_refuses_the_bundle()
    {
        var entry = HubEntry(Config, "config.json", isLfs: false);
        var bundle = Craft(new[] { entry, (JObject)entry.DeepClone() }, (BlobIdOf(entry), Config));

        var error = Assert.Throws<ModelCacheException>(() => Bundle.OpenHub(bundle));

        Assert.Equal("BundleManifestInvalid", error.ErrorId);
        Assert.Contains("twice", error.Message);
    }

    [Fact]
    public void A_file_stored_under_another_name_than_its_blob_id_refuses_the_bundle()
    {
        var entry = HubEntry(Config, "config.json", isLfs: false);
        entry["fileName"] = "config.json";
        var error = Assert.Throws<ModelCacheException>(() => Bundle.OpenHub(Craft(entry, ("config.json", Config))));
        Assert.Equal("BundleManifestInvalid", error.ErrorId);
    }

    [Fact]
    public async Task A_blob_id_that_does_not_match_the_bytes_writes_nothing_under_the_hub_root()
    {
        // The manifest agrees with itself (blob id = SHA-256), but the bytes are others of the same size.
        var entry = HubEntry(Weights, "model.onnx", isLfs: true);
        var other = TestModels.RandomBytes(Weights.Length, seed: 77);
        await AssertImportRefused(Craft(entry, (BlobIdOf(entry), other)), "HashMismatch");
    }

    [Fact]
    public async Task A_sha256_that_does_not_match_the_bytes_writes_nothing_under_the_hub_root()
    {
        // The git blob SHA-1 is right, the manifest's SHA-256 is not.
        var entry = HubEntry(Config, "config.json", isLfs: false);
        entry["sha256"] = new string('e', 64);
        await AssertImportRefused(Craft(entry, (BlobIdOf(entry), Config)), "HashMismatch");
    }

    [Fact]
    public async Task A_zip_entry_longer_than_its_manifest_size_writes_nothing_under_the_hub_root()
    {
        var entry = HubEntry(Config, "config.json", isLfs: false);
        var bundle = _temp.Combine("long");
        Directory.CreateDirectory(bundle);
        File.WriteAllText(Path.Combine(bundle, BundleManifest.FileName), Manifest(entry));
        File.WriteAllBytes(Path.Combine(bundle, BlobIdOf(entry)), Config.Concat(new byte[] { 1 }).ToArray());
        await AssertImportRefused(bundle, "BundleEntryTooLong");
    }

    [Fact]
    public async Task A_link_planted_in_the_hub_root_is_not_written_through()
    {
        var result = await Export(HubCacheScanner.Scan(Source).Entries, "hub.zip");
        var outside = _temp.Combine("outside");
        Directory.CreateDirectory(outside);
        Directory.CreateDirectory(Path.Combine(Target, "models--acme--detector"));
        Directory.CreateSymbolicLink(Path.Combine(Target, "models--acme--detector", "blobs"), outside);
        using var bundle = Bundle.OpenHub(result.Path);
        var importer = new HubBundleImporter(bundle, Target, disableSymlinks: false);

        var error = await Assert.ThrowsAsync<ModelCacheException>(() => importer.ImportAsync(bundle.HubFiles[0], null, null, default));

        Assert.Equal("CacheFolderIsLink", error.ErrorId);
        Assert.Empty(Directory.GetFileSystemEntries(outside));
    }

    private async Task AssertImportRefused(string path, string errorId)
    {
        using var bundle = Bundle.OpenHub(path);
        var file = Assert.Single(bundle.HubFiles);
        var importer = new HubBundleImporter(bundle, Target, disableSymlinks: false);

        var error = await Assert.ThrowsAsync<ModelCacheException>(() => importer.ImportAsync(file, null, null, default));

        Assert.Equal(errorId, error.ErrorId);
        Assert.Contains(errorId == "HashMismatch" ? file.Name : file.Entry.FileName, error.Message);
        // Only the hub's own lock file may stay (huggingface_hub keeps them too); no blob, snapshot, ref or repo folder.
        Assert.All(Directory.GetFiles(Target, "*", SearchOption.AllDirectories), f => Assert.EndsWith(".lock", f));
        Assert.Equal(new[] { ".locks" }, Directory.GetDirectories(Target).Select(Path.GetFileName));
        Assert.Empty(HubCacheScanner.Scan(Target).Warnings);
    }

    private async Task<BundleExportResult> Export(IReadOnlyList<HubCacheEntry> entries, string name)
    {
        Directory.CreateDirectory(_temp.Combine("out"));
        return await HubBundleExporter.ExportAsync(entries, _temp.Combine("out", name), "test", null, (e, ex) => throw ex, default);
    }

    private async Task<List<ModelImportResult>> Import(string path, bool disableSymlinks = false)
    {
        using var bundle = Bundle.OpenHub(path);
        var importer = new HubBundleImporter(bundle, Target, disableSymlinks);
        var results = new List<ModelImportResult>();
        foreach (var file in bundle.HubFiles)
        {
            results.Add(await importer.ImportAsync(file, null, null, default));
        }

        return results;
    }

    private static IEnumerable<string> Describe(IEnumerable<HubCacheEntry> entries) =>
        entries.Select(e => $"{e.Name}|{e.Size}|{e.RepoType}|{string.Join(",", e.Refs)}").OrderBy(s => s, StringComparer.Ordinal);

    private static JObject HubEntry(byte[] bytes, string path, bool isLfs)
    {
        var file = isLfs ? HubTestFile.Lfs(path, bytes) : HubTestFile.Small(path, bytes);
        return new JObject
        {
            ["name"] = $"acme/detector@{Commit}:{path}",
            ["fileName"] = file.BlobId,
            ["size"] = bytes.Length,
            ["sha256"] = file.Sha256,
            ["hub"] = new JObject
            {
                ["repo"] = "acme/detector",
                ["repoType"] = "model",
                ["commit"] = Commit,
                ["path"] = path,
                ["blobId"] = file.BlobId,
                ["refs"] = new JArray("main"),
            },
        };
    }

    private static string BlobIdOf(JObject entry) => (string)entry["fileName"]!;

    private static string Manifest(params JObject[] entries) =>
        new JObject { ["formatVersion"] = 1, ["tool"] = "crafted", ["createdAt"] = "2026-01-01T00:00:00Z", ["models"] = new JArray(entries.Cast<object>().ToArray()) }.ToString();

    private string Craft(JObject entry, params (string Name, byte[] Bytes)[] files) => Craft(new[] { entry }, files);

    /// <summary>A real ZIP: the crafted manifest and the given entries, stored.</summary>
    private string Craft(JObject[] entries, params (string Name, byte[] Bytes)[] files)
    {
        var path = _temp.Combine($"crafted-{Guid.NewGuid():N}.zip");
        using var output = new ZipOutputStream(File.Create(path));
        output.SetLevel(0);
        foreach (var (name, bytes) in files.Append((BundleManifest.FileName, Encoding.UTF8.GetBytes(Manifest(entries)))))
        {
            output.PutNextEntry(new ZipEntry(name) { CompressionMethod = CompressionMethod.Stored, Size = bytes.Length });
            output.Write(bytes, 0, bytes.Length);
            output.CloseEntry();
        }

        return path;
    }
}
