using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Locations;
using ModelCache.Store;
using ModelCache.Layouts;
using ModelCache.Testing;

namespace ModelCache.Core.Tests;

/// <summary>A native store whose layout gives some models a folder of their own (tfimm's per-model locations).</summary>
public sealed class ModelLocationStoreTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly byte[] _bytes = TestModels.RandomBytes(5000, 3);
    private readonly byte[] _otherBytes = TestModels.RandomBytes(3000, 4);
    private readonly ModelDefinition _model;
    private readonly ModelDefinition _other;
    private readonly ModelCatalog _catalog;
    private readonly string _folder;
    private readonly CacheStore _store;

    public ModelLocationStoreTests()
    {
        _model = TestModels.Define(_bytes, new Uri("https://example.invalid/tiny.onnx"));
        _other = TestModels.Define(_otherBytes, new Uri("https://example.invalid/other.onnx"), member: "OTHER", fileName: "other.onnx");
        _catalog = new ModelCatalog(new[] { _model, _other });
        _folder = _temp.Combine("elsewhere", "models-of-mine");
        var locations = new ModelLocations(new[] { new CacheLocation(_folder, CacheLocationSource.UserSetting, "test", _model.Name) });
        _store = new CacheStore(new NativeLayout(_temp.Combine("root"), locations));
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_relocated_model_is_saved_listed_and_removed_in_its_folder_while_its_metadata_stays_in_the_root()
    {
        Save(_model, _bytes);
        Save(_other, _otherBytes);
        File.WriteAllText(Path.Combine(_folder, "notes.txt"), "the user's own file");

        Assert.True(File.Exists(Path.Combine(_folder, "tiny.onnx")));
        Assert.False(File.Exists(_temp.Combine("root", "models", "Test", "TINY", "tiny.onnx")));
        Assert.True(File.Exists(_temp.Combine("root", "models", "Test", "TINY", CacheStore.MetadataFileName)));
        Assert.False(File.Exists(Path.Combine(_folder, CacheStore.MetadataFileName)));

        var entries = await _store.ListAsync(_catalog);
        Assert.Equal(new[] { "Test/OTHER", "Test/TINY" }, entries.Select(e => e.Name).OrderBy(n => n));
        var entry = entries.Single(e => e.Name == _model.Name);
        Assert.Equal(Path.Combine(_folder, "tiny.onnx"), entry.Path);
        Assert.True(entry.PassedAndUnchanged());

        await _store.RemoveAsync(entry);

        Assert.False(File.Exists(Path.Combine(_folder, "tiny.onnx")));
        Assert.True(File.Exists(Path.Combine(_folder, "notes.txt")));
        Assert.True(Directory.Exists(_folder)); // The user's folder is never removed.
        Assert.False(Directory.Exists(_temp.Combine("root", "models", "Test", "TINY")));
        Assert.Single(await _store.ListAsync(_catalog));
    }

    [Fact]
    public async Task A_relocated_model_whose_metadata_was_lost_is_still_listed_and_nothing_else_in_its_folder_is()
    {
        Save(_model, _bytes);
        File.WriteAllBytes(Path.Combine(_folder, "stranger.onnx"), _otherBytes);
        Directory.Delete(_temp.Combine("root", "models"), recursive: true);

        var entries = await _store.ListAsync(_catalog);

        Assert.Equal(_model.Name, Assert.Single(entries).Name);
        Assert.Equal(EntryCheckResult.Passed, entries[0].LastCheck);
    }

    [Fact]
    public void Work_files_of_other_models_in_a_shared_folder_are_left_alone()
    {
        Save(_model, _bytes);
        var strangerPartial = Path.Combine(_folder, "other-tool.onnx.partial");
        File.WriteAllText(strangerPartial, "someone else's download");
        File.WriteAllText(Path.Combine(_folder, "tiny.onnx.partial"), "a stale partial of ours");

        _store.RemoveWorkFiles(_model);

        Assert.True(File.Exists(strangerPartial));
        Assert.False(File.Exists(Path.Combine(_folder, "tiny.onnx.partial")));
    }

    [Fact]
    public void A_link_inside_a_model_folder_is_not_written_through()
    {
        Directory.CreateDirectory(_temp.Combine("outside"));
        var linkedFolder = _temp.Combine("linked-parent");
        Directory.CreateDirectory(linkedFolder);
        var link = Path.Combine(linkedFolder, "sub");
        Directory.CreateSymbolicLink(link, _temp.Combine("outside"));
        var locations = new ModelLocations(new[] { new CacheLocation(linkedFolder, CacheLocationSource.UserSetting, "test", _model.Name) });
        var layout = new NativeLayout(_temp.Combine("root"), locations);

        Assert.True(layout.IsContained(Path.Combine(linkedFolder, "tiny.onnx")));
        Assert.False(layout.IsContained(Path.Combine(link, "tiny.onnx")));
        var error = Assert.Throws<ModelCacheException>(() => layout.EnsureContained(Path.Combine(link, "tiny.onnx")));
        Assert.Equal("CacheFolderIsLink", error.ErrorId);

        // A path outside both the root and every model folder is never contained.
        Assert.False(layout.IsContained(_temp.Combine("outside", "tiny.onnx")));
    }

    [Fact]
    public async Task A_tampered_entry_naming_the_relocated_file_of_another_model_is_not_removed()
    {
        Save(_model, _bytes);
        Save(_other, _otherBytes);
        var other = (await _store.ListAsync(_catalog)).Single(e => e.Name == _other.Name);
        var forged = new ModelCacheEntry(other.Family, other.Member, other.Task, "tiny.onnx", Path.Combine(_folder, "tiny.onnx"), other.CacheRoot, other.Size,
            other.Sha256, other.ExpectedSha256, other.SourceUrl, other.SavedAt, other.LastUsed, other.LastCheck, other.ChangedSinceCheck, other.VerifiedAt, true);

        var error = await Assert.ThrowsAsync<ModelCacheException>(() => _store.RemoveAsync(forged));

        Assert.Equal("CacheEntryOutsideRoot", error.ErrorId);
        Assert.True(File.Exists(Path.Combine(_folder, "tiny.onnx")));
    }

    private void Save(ModelDefinition model, byte[] bytes)
    {
        var partial = _store.PreparePartial(model);
        File.WriteAllBytes(partial, bytes);
        _store.Commit(model, partial, TestModels.Sha256Of(bytes), model.Url!.ToString());
    }
}
