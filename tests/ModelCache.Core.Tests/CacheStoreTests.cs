using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Integrity;
using ModelCache.Store;
using ModelCache.Testing;

namespace ModelCache.Core.Tests;

public class CacheStoreTests
{
    private static readonly byte[] Bytes = TestModels.RandomBytes(4096);
    private static readonly ModelDefinition Model = TestModels.Define(Bytes, new Uri("https://example.invalid/tiny.onnx"));

    [Fact]
    public async Task Commit_promotes_the_partial_and_records_metadata_beside_it()
    {
        using var temp = new TempDirectory();
        var store = new CacheStore(temp.Path);
        store.EnsureWritable();
        var entry = Commit(store, "https://example.invalid/tiny.onnx");

        Assert.False(File.Exists(store.GetPartialPath(Model)));
        Assert.Equal(Bytes, File.ReadAllBytes(entry.Path));
        Assert.Equal(Path.Combine(temp.Path, "models", "Test", "TINY", "tiny.onnx"), entry.Path);
        Assert.True(File.Exists(Path.Combine(store.GetModelDirectory(Model), CacheStore.MetadataFileName)));
        Assert.True(entry.PassedAndUnchanged());
        Assert.Equal(Bytes.Length, entry.Size);
        Assert.Equal(temp.Path, entry.CacheRoot);

        var listed = Assert.Single(await store.ListAsync(new ModelCatalog(new[] { Model })));
        Assert.Equal("Test/TINY", listed.Name);
        Assert.True(listed.PassedAndUnchanged());
        Assert.Equal(entry.SavedAt, listed.SavedAt);
    }

    [Fact]
    public async Task Lost_metadata_is_rebuilt_from_the_file_by_hashing_it()
    {
        using var temp = new TempDirectory();
        var store = new CacheStore(temp.Path);
        PlaceWithoutMetadata(store, Bytes);

        var entry = Assert.Single(await store.ListAsync(new ModelCatalog(new[] { Model })));

        Assert.True(entry.PassedAndUnchanged());
        Assert.Equal(Model.Sha256, entry.Sha256);
        Assert.True(File.Exists(Path.Combine(store.GetModelDirectory(Model), CacheStore.MetadataFileName)));
    }

    [Fact]
    public async Task A_rebuilt_entry_with_wrong_bytes_is_not_verified()
    {
        using var temp = new TempDirectory();
        var store = new CacheStore(temp.Path);
        PlaceWithoutMetadata(store, TestModels.RandomBytes(4096, seed: 2));

        var entry = Assert.Single(await store.ListAsync(new ModelCatalog(new[] { Model })));

        Assert.False(entry.PassedAndUnchanged());
    }

    [Fact]
    public async Task A_file_changed_after_verification_is_no_longer_reported_verified()
    {
        using var temp = new TempDirectory();
        var store = new CacheStore(temp.Path);
        Commit(store);

        File.AppendAllText(store.GetModelPath(Model), "tampered");

        Assert.False(Assert.Single(await store.ListAsync(new ModelCatalog(new[] { Model }))).PassedAndUnchanged());
    }

    [Fact]
    public async Task Orphans_not_in_the_catalog_are_listed_and_removable()
    {
        using var temp = new TempDirectory();
        var store = new CacheStore(temp.Path);
        PlaceWithoutMetadata(store, Bytes);
        var emptyCatalog = new ModelCatalog(Array.Empty<ModelDefinition>());

        var orphan = Assert.Single(await store.ListAsync(emptyCatalog));
        Assert.False(orphan.InCatalog);
        Assert.Equal("Test/TINY", orphan.Name);

        await store.RemoveAsync(orphan);

        Assert.Empty(await store.ListAsync(emptyCatalog));
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "models", "Test")));
    }

    [Fact]
    public async Task Remove_deletes_file_metadata_and_partial()
    {
        using var temp = new TempDirectory();
        var store = new CacheStore(temp.Path);
        var entry = Commit(store);
        File.WriteAllBytes(store.GetPartialPath(Model), Bytes.Take(10).ToArray());

        await store.RemoveAsync(entry);

        Assert.False(Directory.Exists(store.GetModelDirectory(Model)));
    }

    [Fact]
    public async Task Abandoned_partial_downloads_are_removed_but_not_ones_in_progress_or_finished_models()
    {
        using var temp = new TempDirectory();
        var store = new CacheStore(temp.Path);
        var abandoned = TestModels.Define(Bytes, Model.Url!, member: "ABANDONED", fileName: "a.onnx");
        var inProgress = TestModels.Define(Bytes, Model.Url!, member: "BUSY", fileName: "b.onnx");
        File.WriteAllBytes(store.PreparePartial(abandoned), new byte[1000]);
        File.WriteAllText(store.GetModelPath(abandoned) + CacheStore.PartialStateSuffix, "{}");
        File.WriteAllBytes(store.PreparePartial(inProgress), new byte[500]);
        Commit(store);

        long freed;
        using (await store.LockAsync(inProgress.Family, inProgress.Member, TimeSpan.FromSeconds(5), null, default))
        {
            freed = await store.RemoveAbandonedDownloadsAsync(ModelCatalog.Load(Array.Empty<string>()));
        }

        Assert.Equal(1002, freed);
        Assert.False(Directory.Exists(store.GetModelDirectory(abandoned)));
        Assert.True(File.Exists(store.GetPartialPath(inProgress)));
        Assert.True(File.Exists(store.GetModelPath(Model)));
        Assert.Single(await store.ListAsync(new ModelCatalog(new[] { Model })));
    }

    [Fact]
    public void An_unwritable_root_gives_a_clear_error()
    {
        using var temp = new TempDirectory();
        var blocker = temp.Combine("file");
        File.WriteAllText(blocker, "not a directory");

        var error = Assert.Throws<ModelCache.Errors.ModelCacheException>(() => new CacheStore(Path.Combine(blocker, "cache")).EnsureWritable());

        Assert.Equal("CacheRootNotWritable", error.ErrorId);
        Assert.Contains(blocker, error.Message);
    }

    [Fact]
    public async Task Hash_verification_reports_each_status()
    {
        using var temp = new TempDirectory();
        var file = temp.Combine("f.bin");
        File.WriteAllBytes(file, Bytes);

        Assert.Equal(HashStatus.Valid, (await HashVerifier.VerifyAsync(null, file, Model.Sha256.ToUpperInvariant())).Status);
        Assert.Equal(HashStatus.Mismatch, (await HashVerifier.VerifyAsync(null, file, new string('0', 64))).Status);
        Assert.Equal(HashStatus.Unknown, (await HashVerifier.VerifyAsync(null, file, null)).Status);
        Assert.Equal(HashStatus.Missing, (await HashVerifier.VerifyAsync(null, temp.Combine("none"), Model.Sha256)).Status);
        Assert.Equal(Model.Sha256, (await HashVerifier.VerifyAsync(null, file, null)).Actual);
    }

    [Fact]
    public async Task Known_sha256_vectors_hash_correctly()
    {
        using var temp = new TempDirectory();
        var file = temp.Combine("abc");
        File.WriteAllText(file, "abc");
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", await Sha256Hasher.HashFileAsync(file));
    }

    /// <summary>Saves <see cref="Model"/> the way a download does: partial first, then commit.</summary>
    private static ModelCacheEntry Commit(CacheStore store, string? sourceUrl = null)
    {
        File.WriteAllBytes(store.PreparePartial(Model), Bytes);
        return store.Commit(Model, store.GetPartialPath(Model), Model.Sha256, sourceUrl);
    }

    /// <summary>A file under the final name with no entry.json, as after a lost metadata file or a hand copy.</summary>
    private static void PlaceWithoutMetadata(CacheStore store, byte[] bytes)
    {
        Directory.CreateDirectory(store.GetModelDirectory(Model));
        File.WriteAllBytes(store.GetModelPath(Model), bytes);
    }
}
