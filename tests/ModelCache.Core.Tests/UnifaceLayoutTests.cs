using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Locations;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Layouts;
using ModelCache.Testing;

namespace ModelCache.Core.Tests;

/// <summary>uniface's flat cache folder as a layout: its file names, its default root, and ModelCache's state kept outside it.</summary>
public sealed class UnifaceLayoutTests : IDisposable
{
    private static readonly byte[] Bytes = TestModels.RandomBytes(4096, seed: 7);
    private static readonly ModelDefinition Model = TestModels.Define(Bytes, new Uri("https://example.invalid/tiny.onnx"));
    private readonly TempDirectory _temp = new("modelcache-uniface");
    private readonly string _root;
    private readonly string _state;
    private readonly CacheStore _store;

    public UnifaceLayoutTests()
    {
        _root = _temp.Combine("uniface");
        _state = _temp.Combine("state");
        _store = new CacheStore(new UnifaceLayout(_root, _state));
    }

    public void Dispose() => _temp.Dispose();

    private ModelCatalog Catalog => new(new[] { Model });

    [Fact]
    public void Every_uniface_model_is_stored_under_unifaces_own_cache_file_name()
    {
        var catalog = ModelCatalog.Load(Array.Empty<string>());
        var rows = File.ReadAllLines(Path.Combine(TestPaths.Reference, "uniface-catalog.tsv")).Skip(1).Select(line => line.Split('\t')).ToList();
        Assert.True(rows.Count > 40, "the reference lists uniface's catalog");
        var layout = new UnifaceLayout(_root, _state);
        foreach (var row in rows)
        {
            Assert.True(catalog.TryGet(row[1] + "/" + row[2], out var model), row[1] + "/" + row[2]);
            Assert.Equal(Path.Combine(_root, row[3]), layout.GetModelPath(model!));
        }
    }

    [Fact]
    public async Task A_save_leaves_only_the_model_file_in_the_folder_and_the_metadata_in_the_users_state()
    {
        var entry = Commit();

        Assert.Equal(new[] { Model.FileName }, Directory.GetFileSystemEntries(_root).Select(Path.GetFileName));
        Assert.Equal(CacheLayoutKind.Uniface, entry.Layout);
        Assert.True(File.Exists(Path.Combine(_state, "entries", "Test", "TINY.json")));
        var listed = Assert.Single(await _store.ListAsync(Catalog));
        Assert.True(listed.PassedAndUnchanged());
        Assert.Equal(Model.Name, listed.Name);
    }

    [Fact]
    public async Task Files_no_catalog_knows_are_orphans_named_by_file_and_never_hashed_or_swept()
    {
        Directory.CreateDirectory(_root);
        File.WriteAllText(Path.Combine(_root, "notes.onnx"), "uniface's own");
        File.WriteAllText(Path.Combine(_root, "notes.onnx.partial"), "someone else's download");

        var orphan = Assert.Single(await _store.ListAsync(Catalog));
        Assert.Equal("notes.onnx", orphan.Name);
        Assert.False(orphan.InCatalog);
        Assert.Null(orphan.Sha256);
        Assert.False(_store.MayRemoveUnnamed(orphan));

        await _store.RemoveAbandonedDownloadsAsync(Catalog);
        Assert.True(File.Exists(Path.Combine(_root, "notes.onnx.partial")), "a partial of a file no catalog knows is not ours to sweep");

        await _store.RemoveAsync(orphan);
        Assert.False(File.Exists(Path.Combine(_root, "notes.onnx")));
    }

    [Fact]
    public async Task An_abandoned_partial_of_a_catalog_model_is_swept_but_a_live_one_is_not()
    {
        var partial = _store.PreparePartial(Model);
        File.WriteAllBytes(partial, Bytes.AsSpan(0, 100).ToArray());

        using (await _store.LockAsync(Model.Family, Model.Member, TimeSpan.Zero, null, default))
        {
            Assert.Equal(0, await _store.RemoveAbandonedDownloadsAsync(Catalog));
        }

        Assert.Equal(100, await _store.RemoveAbandonedDownloadsAsync(Catalog));
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public async Task Removing_one_model_leaves_another_models_download_in_the_same_folder_alone()
    {
        var other = TestModels.Define(Bytes, new Uri("https://example.invalid/other.onnx"), member: "OTHER", fileName: "other.onnx");
        var otherPartial = _store.PreparePartial(other);
        File.WriteAllText(otherPartial, "in progress");

        var entry = Commit();
        Assert.True(File.Exists(otherPartial));
        await _store.RemoveAsync(entry);
        Assert.True(File.Exists(otherPartial));
    }

    [Fact]
    public async Task A_forged_entry_pointing_outside_the_folder_is_refused()
    {
        var saved = Commit();
        var outside = _temp.Combine("precious.onnx");
        File.WriteAllText(outside, "not yours");
        var forged = new ModelCacheEntry(string.Empty, "precious.onnx", "unknown", "precious.onnx", outside, _root, 9, null, null, null, null, null,
            EntryCheckResult.NotChecked, null, null, false, CacheLayoutKind.Uniface);

        var refused = await Assert.ThrowsAsync<ModelCacheException>(() => _store.RemoveAsync(forged));
        Assert.Equal("CacheEntryOutsideRoot", refused.ErrorId);
        Assert.True(File.Exists(outside));
        Assert.True(File.Exists(saved.Path));
    }

    [Fact]
    public void The_native_layout_refuses_a_uniface_folder_and_the_uniface_layout_a_native_cache()
    {
        Commit();
        var native = new NativeLayout(_root).CheckWritable();
        Assert.Equal("CacheRootIsForeignLayout", native?.ErrorId);

        var nativeRoot = _temp.Combine("native");
        new CacheStore(nativeRoot).EnsureWritable();
        Assert.Equal("CacheRootIsForeignLayout", new UnifaceLayout(nativeRoot, _state).CheckWritable()?.ErrorId);

        var hubRoot = _temp.Combine("hub");
        Directory.CreateDirectory(Path.Combine(hubRoot, "models--org--name"));
        Assert.Equal("CacheRootIsForeignLayout", new NativeLayout(hubRoot).CheckWritable()?.ErrorId);
        Assert.Equal("CacheRootIsForeignLayout", new UnifaceLayout(hubRoot, _state).CheckWritable()?.ErrorId);
    }

    [Fact]
    public void The_default_root_is_UNIFACE_CACHE_DIR_else_the_home_folder_and_state_goes_to_the_users_folder()
    {
        var home = _temp.Combine("home");
        var settings = new SettingsStore(Path.Combine(home, ".config", "modelcache", "settings.json"));
        var bare = new CacheLayoutResolver(new FakeEnvironment(home), settings, null);
        Assert.Equal(Path.Combine(home, ".uniface", "models"), bare.ResolveRoot(CacheLayoutKind.Uniface, null).Path);

        var set = new CacheLayoutResolver(new FakeEnvironment(home).With(EnvironmentVariables.UnifaceCacheDir, _root), settings, null);
        var location = set.ResolveRoot(CacheLayoutKind.Uniface, null);
        Assert.Equal(_root, location.Path);
        Assert.Equal(CacheLocationSource.EnvironmentVariable, location.Source);
        Assert.Equal(_temp.Combine("explicit"), set.ResolveRoot(CacheLayoutKind.Uniface, _temp.Combine("explicit")).Path);

        var state = set.StateDirectoryFor(CacheLayoutKind.Uniface, _root);
        Assert.StartsWith(Path.Combine(home, ".config", "modelcache", "layouts", "uniface-"), state, StringComparison.Ordinal);
        Assert.NotEqual(state, set.StateDirectoryFor(CacheLayoutKind.Uniface, _temp.Combine("elsewhere")));
    }

    private ModelCacheEntry Commit()
    {
        _store.EnsureWritable();
        var partial = _store.PreparePartial(Model);
        File.WriteAllBytes(partial, Bytes);
        using (_store.LockAsync(Model.Family, Model.Member, TimeSpan.FromSeconds(5), null, default).GetAwaiter().GetResult())
        {
            return _store.Commit(Model, partial, Model.Sha256, Model.Url!.ToString());
        }
    }
}
