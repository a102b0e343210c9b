using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests;

/// <summary>
/// Any folder handed to Import-ModelCache (uniface's, a plain folder of renamed files, a copied cache root) is input
/// from a stranger: files are matched by name and size or by hash, links are not followed, the walk is bounded,
/// metadata is never read, and every candidate is verified by the saver before it is placed.
/// </summary>
public sealed class FolderImportTests : IDisposable
{
    private static readonly byte[] BytesA = TestModels.RandomBytes(300_000, seed: 21);
    private static readonly byte[] BytesB = TestModels.RandomBytes(200_000, seed: 22);
    private static readonly ModelDefinition ModelA = TestModels.Define(BytesA, new Uri("https://example.invalid/a.onnx"), member: "A", fileName: "a.onnx");
    private static readonly ModelDefinition ModelB = TestModels.Define(BytesB, new Uri("https://example.invalid/b.onnx"), member: "B", fileName: "b.onnx");
    private static readonly ModelCatalog Catalog = new(new[] { ModelA, ModelB });
    private readonly TempDirectory _temp = new("modelcache-folder-import");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_uniface_folder_is_imported_by_file_name_then_skipped_when_imported_again()
    {
        var folder = Folder("uniface", ("a.onnx", BytesA), ("b.onnx", BytesB));

        var scan = await Scan(folder);
        Assert.Equal(new[] { ModelA, ModelB }, scan.Matches.Select(m => m.Model));
        Assert.All(scan.Matches, m => Assert.False(m.ByHash));
        Assert.Empty(scan.Unmatched);

        var first = await Import(scan);
        Assert.All(first.Values, r => Assert.Equal(TransferSource.Bundle, r.Entry!.Source));
        Assert.Equal(BytesA, File.ReadAllBytes(Store.GetModelPath(ModelA)));

        var second = await Import(await Scan(folder));
        Assert.All(second.Values, r => Assert.Equal(TransferSource.Cache, r.Entry!.Source));
    }

    [Fact]
    public async Task A_renamed_file_is_matched_by_its_hash_and_placed_under_the_catalog_name()
    {
        var folder = Folder("plain", ("detector-copy.bin", BytesA), ("notes.txt", new byte[] { 1, 2, 3 }), ("same-size-junk.onnx", TestModels.RandomBytes(BytesB.Length, seed: 5)));

        var scan = await Scan(folder);

        var match = Assert.Single(scan.Matches);
        Assert.Equal(ModelA, match.Model);
        Assert.True(match.ByHash);
        Assert.Equal(2, scan.Unmatched.Count);
        Assert.Contains(scan.Unmatched, u => u.File.EndsWith("same-size-junk.onnx", StringComparison.Ordinal) && u.Why.Contains("SHA-256", StringComparison.Ordinal));
        await Import(scan);
        Assert.Equal(BytesA, File.ReadAllBytes(Store.GetModelPath(ModelA)));
        Assert.EndsWith("a.onnx", Store.GetModelPath(ModelA), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_link_to_a_file_or_folder_outside_is_not_followed_or_imported()
    {
        var outside = Folder("outside", ("a.onnx", BytesA), ("b.onnx", BytesB));
        var folder = Folder("with-links");
        File.CreateSymbolicLink(Path.Combine(folder, "a.onnx"), Path.Combine(outside, "a.onnx"));
        File.CreateSymbolicLink(Path.Combine(folder, "renamed.bin"), Path.Combine(outside, "b.onnx"));
        Directory.CreateSymbolicLink(Path.Combine(folder, "sub"), outside);

        var scan = await Scan(folder);

        Assert.Empty(scan.Matches);
        Assert.Equal(3, scan.Links.Count);
        Assert.False(File.Exists(Store.GetModelPath(ModelA)));
    }

    [Fact]
    public async Task A_file_named_like_a_model_with_other_bytes_fails_with_HashMismatch_and_nothing_is_placed()
    {
        var wrong = (byte[])BytesA.Clone();
        wrong[1000] ^= 0xFF;
        var scan = await Scan(Folder("liar", ("a.onnx", wrong)));

        var result = (await Import(scan))[ModelA.Name];

        Assert.Equal("HashMismatch", result.Error?.ErrorId);
        Assert.False(File.Exists(Store.GetModelPath(ModelA)));
        Assert.Empty(Directory.GetFiles(Store.Root, "*.partial", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_huge_count_of_junk_files_is_bounded()
    {
        var folder = Folder("junk");
        for (var i = 0; i < 400; i++)
        {
            File.WriteAllBytes(Path.Combine(folder, $"junk-{i:D4}.bin"), new byte[] { (byte)i });
        }

        var scan = await new FolderScanner(Catalog, maxEntries: 100).ScanAsync(folder, default);

        Assert.True(scan.LimitReached);
        Assert.Equal(100, scan.Unmatched.Count);
        Assert.Empty(scan.Matches);
        Assert.True(FolderScanner.MaxEntries <= 10_000, "the default bound stays small enough to walk in seconds");
    }

    [Fact]
    public async Task A_copied_cache_root_whose_metadata_lies_is_judged_by_its_bytes()
    {
        var root = Folder("copied-root");
        var corruptB = (byte[])BytesB.Clone();
        corruptB[7] ^= 1;
        Place(root, "models/Test/A/a.onnx", BytesA);
        Place(root, "models/Test/B/b.onnx", corruptB);
        // Each entry.json claims its file is valid and points elsewhere; neither is read.
        Place(root, "models/Test/A/entry.json", System.Text.Encoding.UTF8.GetBytes($"{{\"fileName\":\"../../../../outside.onnx\",\"sha256\":\"{ModelB.Sha256}\",\"size\":{BytesB.Length}}}"));
        Place(root, "models/Test/B/entry.json", System.Text.Encoding.UTF8.GetBytes($"{{\"fileName\":\"b.onnx\",\"sha256\":\"{ModelB.Sha256}\",\"lastCheck\":\"Passed\"}}"));
        Place(root, "models/Test/B/b.onnx.partial", BytesB);
        Place(root, "locks/Test/A.lock", Array.Empty<byte>());
        Place(root, "too/deep/for/the/walk/a.onnx", BytesA);

        var scan = await Scan(root);
        Assert.Equal(new[] { ModelA, ModelB }, scan.Matches.Select(m => m.Model));
        Assert.Empty(scan.Unmatched);

        var results = await Import(scan);

        Assert.Equal(TransferSource.Bundle, results[ModelA.Name].Entry?.Source);
        Assert.Equal("HashMismatch", results[ModelB.Name].Error?.ErrorId);
        Assert.False(File.Exists(Store.GetModelPath(ModelB)));
    }

    [Fact]
    public async Task A_missing_folder_is_an_error_with_its_own_id()
    {
        var error = await Assert.ThrowsAsync<ModelCacheException>(() => Scan(_temp.Combine("nowhere")));
        Assert.Equal("ImportSourceNotFound", error.ErrorId);
    }

    private CacheStore Store => new(_temp.Combine("cache"));

    private Task<FolderScan> Scan(string folder) => new FolderScanner(Catalog).ScanAsync(folder, default);

    private async Task<Dictionary<string, (ModelCacheEntry? Entry, ModelCacheException? Error)>> Import(FolderScan scan)
    {
        using var planner = new SourcePlanner(Array.Empty<string>(), mirrorOnly: true, offline: true);
        var saver = new ModelSaver(Store, planner);
        var source = new FolderFileSource(scan);
        var results = new Dictionary<string, (ModelCacheEntry?, ModelCacheException?)>();
        foreach (var match in scan.Matches)
        {
            try
            {
                results[match.Model.Name] = (await saver.SaveFromAsync(match.Model, new IModelSource[] { source }, false, null, null, default), null);
            }
            catch (ModelCacheException ex)
            {
                results[match.Model.Name] = (null, ex);
            }
        }

        return results;
    }

    private string Folder(string name, params (string Name, byte[] Bytes)[] files)
    {
        var folder = _temp.Combine(name);
        Directory.CreateDirectory(folder);
        foreach (var (file, bytes) in files)
        {
            File.WriteAllBytes(Path.Combine(folder, file), bytes);
        }

        return folder;
    }

    private static void Place(string root, string relative, byte[] bytes)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }
}
