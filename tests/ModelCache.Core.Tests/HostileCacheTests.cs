using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.IO;

namespace ModelCache.Core.Tests;

/// <summary>
/// A cache root copied from a stranger: hostile metadata and links are planted in a temp cache, and
/// nothing outside the root may be read, written or deleted.
/// </summary>
public sealed class HostileCacheTests : IDisposable
{
    private static readonly byte[] Bytes = TestModels.RandomBytes(4096);
    private static readonly ModelDefinition Model = TestModels.Define(Bytes, new Uri("https://example.invalid/tiny.onnx"));
    private readonly TempDirectory _temp = new("modelcache-hostile");
    private readonly CacheStore _store;
    private readonly string _outside;

    public HostileCacheTests()
    {
        _store = new CacheStore(_temp.Combine("root"));
        _store.EnsureWritable();
        _outside = _temp.Combine("outside");
        Directory.CreateDirectory(_outside);
        File.WriteAllText(Path.Combine(_outside, "precious.onnx"), "not yours");
        File.WriteAllText(Path.Combine(_outside, "precious.onnx.partial"), "not yours either");
    }

    public void Dispose() => _temp.Dispose();

    private ModelCatalog Catalog => new(new[] { Model });

    private string MetadataPath => Path.Combine(_store.GetModelDirectory(Model), CacheStore.MetadataFileName);

    [Theory]
    [InlineData("../../../outside/precious.onnx")]
    [InlineData("ABSOLUTE")]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("entry.json")]
    public async Task A_file_name_in_entry_json_never_leads_a_clear_outside_the_root(string fileName)
    {
        var saved = Save();
        if (fileName == "ABSOLUTE")
        {
            fileName = Path.Combine(_outside, "precious.onnx");
        }

        RewriteMetadata(m => m["fileName"] = fileName);

        var entry = Assert.Single(await _store.ListAsync(Catalog));
        Assert.Equal(saved.Path, entry.Path);
        Assert.Equal(Model.FileName, entry.FileName);
        await _store.RemoveAsync(entry);

        AssertOutsideUntouched();
        Assert.False(File.Exists(saved.Path));
    }

    [Fact]
    public async Task An_orphan_whose_entry_json_names_a_file_outside_is_listed_by_its_own_file()
    {
        var directory = Path.Combine(Path.Combine(_store.Root, "models"), "Stranger", "ONE");
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(Path.Combine(directory, "own.onnx"), Bytes);
        File.WriteAllText(Path.Combine(directory, CacheStore.MetadataFileName),
            $$"""{ "family": "../../../outside", "member": "..", "fileName": "{{Path.Combine(_outside, "precious.onnx").Replace("\\", "\\\\")}}", "sha256": "00", "size": 1 }""");

        var entry = Assert.Single(await _store.ListAsync(new ModelCatalog(Array.Empty<ModelDefinition>())));
        Assert.Equal("Stranger/ONE", entry.Name);
        Assert.Equal(Path.Combine(directory, "own.onnx"), entry.Path);
        await _store.RemoveAsync(entry);

        AssertOutsideUntouched();
        Assert.False(Directory.Exists(Path.Combine(_temp.Path, "outside", "..", "locks")), "no lock folder outside the root");
        Assert.Empty(Directory.GetDirectories(_temp.Path).Select(Path.GetFileName).Except(new[] { "root", "outside" }));
    }

    [Fact]
    public async Task A_metadata_file_over_one_mebibyte_is_corrupt_and_not_loaded()
    {
        Save();
        using (var stream = File.Open(MetadataPath, FileMode.Append))
        {
            stream.Write(new byte[CacheFiles.MaxMetadataBytes], 0, (int)CacheFiles.MaxMetadataBytes);
        }

        var entry = Assert.Single(await _store.ListAsync(Catalog));

        Assert.True(entry.PassedAndUnchanged(), "rebuilt from the file itself by hashing it");
        Assert.True(new FileInfo(MetadataPath).Length < 4096, "the oversized metadata was replaced");
    }

    // Json.NET would keep the last of a repeated key (in any case), so a planted second "sha256" would stand for the file's hash.
    [Theory]
    [InlineData("sha256")]
    [InlineData("SHA256")]
    public async Task Metadata_that_writes_a_key_twice_is_not_trusted_and_is_rebuilt(string key)
    {
        Save();
        var text = File.ReadAllText(MetadataPath);
        Assert.Contains("\"sha256\"", text);
        var end = text.LastIndexOf('}');
        File.WriteAllText(MetadataPath, text.Substring(0, end) + ", \"" + key + "\": \"" + new string('0', 64) + "\" }");
        var problems = new List<ModelCacheException>();

        var entry = Assert.Single(await _store.ListAsync(Catalog, problems, default));

        Assert.Equal(Model.Sha256, entry.Sha256);
        Assert.True(entry.PassedAndUnchanged(), "rebuilt from the file itself by hashing it");
        Assert.Contains(problems, p => p.Message.Contains("twice", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Garbage_metadata_is_rebuilt_from_the_file()
    {
        Save();
        File.WriteAllBytes(MetadataPath, TestModels.RandomBytes(2000, seed: 3));

        var entry = Assert.Single(await _store.ListAsync(Catalog));

        Assert.True(entry.PassedAndUnchanged());
        Assert.Equal(Model.Sha256, entry.Sha256);
    }

    [SkippableFact]
    public async Task A_family_folder_that_links_elsewhere_is_neither_listed_nor_cleared_through()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
        var target = Path.Combine(_outside, "TINY");
        Directory.CreateDirectory(target);
        File.WriteAllBytes(Path.Combine(target, "tiny.onnx"), Bytes);
        Directory.CreateDirectory(Path.Combine(_store.Root, "models"));
        Directory.CreateSymbolicLink(Path.Combine(Path.Combine(_store.Root, "models"), "Test"), _outside);

        Assert.Empty(await _store.ListAsync(Catalog));
        Assert.Null(await _store.FindAsync(Model));
        await _store.RemoveAbandonedDownloadsAsync(ModelCatalog.Load(Array.Empty<string>()));

        Assert.False(File.Exists(Path.Combine(target, CacheStore.MetadataFileName)), "listing wrote nothing into the link's target");
        Assert.True(File.Exists(Path.Combine(target, "tiny.onnx")));
        AssertOutsideUntouched();
        var refused = Assert.Throws<ModelCacheException>(() => _store.PreparePartial(Model));
        Assert.Equal("CacheFolderIsLink", refused.ErrorId);
        Assert.Equal(ModelCacheErrorKind.SecurityError, refused.Kind);
    }

    [SkippableFact]
    public async Task A_cache_root_that_is_itself_a_link_is_the_users_choice_and_works()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
        var linkedRoot = _temp.Combine("linked-root");
        Directory.CreateSymbolicLink(linkedRoot, _store.Root);
        var store = new CacheStore(linkedRoot);
        var partial = store.PreparePartial(Model);
        File.WriteAllBytes(partial, Bytes);
        using (await store.LockAsync(Model.Family, Model.Member, TimeSpan.Zero, null, default))
        {
            store.Commit(Model, partial, Model.Sha256, null);
        }

        var entry = Assert.Single(await store.ListAsync(Catalog));
        Assert.True(entry.PassedAndUnchanged());
        await store.RemoveAsync(entry);
        Assert.Empty(await store.ListAsync(Catalog));
    }

    [SkippableFact]
    public async Task A_locks_folder_that_links_elsewhere_gets_no_lock_file_and_a_save_is_refused()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
        Directory.CreateDirectory(Path.Combine(_store.Root, "locks"));
        Directory.CreateSymbolicLink(Path.Combine(Path.Combine(_store.Root, "locks"), "Test"), _outside);

        var refused = await Assert.ThrowsAsync<ModelCacheException>(() => _store.LockAsync("Test", "TINY", TimeSpan.Zero, null, default));

        Assert.Equal("CacheFolderIsLink", refused.ErrorId);
        Assert.False(File.Exists(Path.Combine(_outside, "TINY.lock")));
    }

    [SkippableFact]
    public async Task A_save_through_a_linked_family_folder_is_refused_before_anything_is_read()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
        Directory.CreateDirectory(Path.Combine(_outside, "TINY"));
        File.WriteAllBytes(Path.Combine(_outside, "TINY", "tiny.onnx"), Bytes);
        Directory.CreateDirectory(Path.Combine(_store.Root, "models"));
        Directory.CreateSymbolicLink(Path.Combine(Path.Combine(_store.Root, "models"), "Test"), _outside);
        using var planner = new ModelCache.Transfer.SourcePlanner(Array.Empty<string>(), false, offline: true);

        var refused = await Assert.ThrowsAsync<ModelCacheException>(() => new ModelCache.Transfer.ModelSaver(_store, planner).SaveAsync(Model, false, null, null, default));

        Assert.Equal("CacheFolderIsLink", refused.ErrorId);
        Assert.False(File.Exists(Path.Combine(_outside, "TINY", CacheStore.MetadataFileName)));
        AssertOutsideUntouched();
    }

    [SkippableFact]
    public void A_partial_planted_as_a_link_is_removed_before_a_download_writes()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
        Directory.CreateDirectory(_store.GetModelDirectory(Model));
        File.CreateSymbolicLink(_store.GetPartialPath(Model), Path.Combine(_outside, "precious.onnx"));
        File.CreateSymbolicLink(_store.GetModelPath(Model) + CacheStore.PartialStateSuffix, Path.Combine(_outside, "precious.onnx.partial"));

        var partial = _store.PreparePartial(Model);
        File.WriteAllBytes(partial, Bytes);

        AssertOutsideUntouched();
        Assert.False(CacheFiles.IsLink(partial));
    }

    [SkippableFact]
    public async Task A_model_file_or_metadata_that_is_a_link_is_not_read_through()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need a privilege on Windows");
        Directory.CreateDirectory(_store.GetModelDirectory(Model));
        File.CreateSymbolicLink(_store.GetModelPath(Model), Path.Combine(_outside, "precious.onnx"));
        File.CreateSymbolicLink(MetadataPath, Path.Combine(_outside, "precious.onnx.partial"));

        Assert.Empty(await _store.ListAsync(Catalog));
        Assert.Null(await _store.FindAsync(Model));
        AssertOutsideUntouched();
    }

    [Fact]
    public async Task Removing_an_entry_whose_path_is_not_its_layout_path_is_refused()
    {
        var saved = Save();
        var forged = new ModelCacheEntry(saved.Family, saved.Member, saved.Task, saved.FileName, Path.Combine(_outside, "precious.onnx"), saved.CacheRoot,
            saved.Size, saved.Sha256, saved.ExpectedSha256, saved.SourceUrl, saved.SavedAt, saved.LastUsed, saved.LastCheck, saved.ChangedSinceCheck, saved.VerifiedAt, saved.InCatalog);

        var refused = await Assert.ThrowsAsync<ModelCacheException>(() => _store.RemoveAsync(forged));

        Assert.Equal("CacheEntryOutsideRoot", refused.ErrorId);
        AssertOutsideUntouched();
        Assert.True(File.Exists(saved.Path));
    }

    [Theory]
    [InlineData("entry.json")]
    [InlineData("model.onnx.partial")]
    [InlineData("model.onnx.partial.json")]
    [InlineData("model.onnx.tmp")]
    public void A_catalog_file_name_that_collides_with_the_stores_own_files_is_refused_with_file_and_line(string fileName)
    {
        var path = _temp.Combine("catalog.json");
        File.WriteAllText(path, $$"""
            {
              "models": [
                { "family": "Evil", "member": "ONE", "fileName": "{{fileName}}",
                  "url": "https://example.invalid/x.onnx", "sha256": "{{new string('a', 64)}}" }
              ]
            }
            """);

        var error = Assert.ThrowsAny<Exception>(() => CatalogReader.ReadFile(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("line 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("fileName", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_mirror_file_that_is_a_link_is_not_read_and_nothing_is_saved()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Creating links needs privileges there; the check itself is the same attribute test.
        }

        var mirror = _temp.Combine("mirror");
        Directory.CreateDirectory(mirror);
        File.WriteAllBytes(Path.Combine(_outside, "real.onnx"), Bytes);
        File.CreateSymbolicLink(Path.Combine(mirror, Model.FileName), Path.Combine(_outside, "real.onnx"));
        var saver = new ModelCache.Transfer.ModelSaver(_store, new ModelCache.Transfer.SourcePlanner(new[] { mirror }, mirrorOnly: true, offline: true));

        var refused = await Assert.ThrowsAnyAsync<ModelCacheException>(() => saver.SaveAsync(Model, false, null, null, default));

        Assert.Equal("CacheFolderIsLink", refused.ErrorId);
        Assert.Equal(ModelCacheErrorKind.SecurityError, refused.Kind);
        Assert.False(File.Exists(_store.GetModelPath(Model)));
    }

    private ModelCacheEntry Save()
    {
        var partial = _store.PreparePartial(Model);
        File.WriteAllBytes(partial, Bytes);
        return _store.Commit(Model, partial, Model.Sha256, Model.Url!.ToString());
    }

    private void RewriteMetadata(Action<Newtonsoft.Json.Linq.JObject> change)
    {
        var json = Newtonsoft.Json.Linq.JObject.Parse(File.ReadAllText(MetadataPath));
        change(json);
        File.WriteAllText(MetadataPath, json.ToString());
    }

    private void AssertOutsideUntouched()
    {
        Assert.Equal("not yours", File.ReadAllText(Path.Combine(_outside, "precious.onnx")));
        Assert.Equal("not yours either", File.ReadAllText(Path.Combine(_outside, "precious.onnx.partial")));
        Assert.False(File.Exists(Path.Combine(_outside, CacheStore.MetadataFileName)));
    }
}
