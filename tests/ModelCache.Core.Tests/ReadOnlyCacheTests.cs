using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests;

/// <summary>
/// A cache nobody may write to (a machine-wide cache, a copy on a read-only share): a real read-only
/// tmpfs, which even root cannot write, is listed, verified and used without a write.
/// </summary>
public sealed class ReadOnlyCacheTests : IDisposable
{
    private static readonly byte[] Bytes = TestModels.RandomBytes(8192);
    private static readonly ModelDefinition Model = TestModels.Define(Bytes, new Uri("https://example.invalid/tiny.onnx"));
    private static readonly ModelDefinition Missing = TestModels.Define(TestModels.RandomBytes(100, seed: 5), new Uri("https://example.invalid/other.onnx"), member: "OTHER", fileName: "other.onnx");
    private readonly TempDirectory _temp = new("modelcache-readonly");

    public void Dispose() => _temp.Dispose();

    [SkippableFact]
    public async Task A_read_only_cache_is_listed_verified_and_used_and_nothing_is_written()
    {
        var root = _temp.Combine("ro");
        Directory.CreateDirectory(root);
        var (mount, cannotRun) = await TmpfsMount.TryMountAsync(root, "1m");
        Skip.If(cannotRun is not null && Environment.GetEnvironmentVariable("CI") != "true", $"Cannot make a read-only cache here: {cannotRun}.");
        Assert.True(cannotRun is null, $"The CI machine (CI=true) must be able to run this test as root on Linux, but {cannotRun}.");
        using (mount)
        {
            var store = new CacheStore(root);
            var partial = store.PreparePartial(Model);
            File.WriteAllBytes(partial, Bytes);
            store.Commit(Model, partial, Model.Sha256, null);
            File.Delete(Path.Combine(store.GetModelDirectory(Model), CacheStore.MetadataFileName)); // lost metadata: listing would rebuild it
            await mount!.RemountReadOnlyAsync();
            var before = Snapshot(root);

            Assert.Equal("CacheRootNotWritable", store.CheckWritable()!.ErrorId);
            var listed = Assert.Single(await store.ListAsync(new ModelCatalog(new[] { Model, Missing })));
            Assert.Equal(Model.Name, listed.Name);

            var check = await HashVerifier.VerifyAsync(Model.Name, store.GetModelPath(Model), Model.Sha256);
            Assert.Equal(HashStatus.Valid, check.Status);
            Assert.Null(await store.TryRecordCheckAsync(Model, check));

            using var planner = new SourcePlanner(Array.Empty<string>(), false, offline: true);
            var saver = new ModelSaver(store, planner);
            var used = await saver.SaveAsync(Model, false, null, null, CancellationToken.None);
            Assert.True(used.PassedAndUnchanged());
            Assert.Equal(TransferSource.Cache, used.Transfer!.Source);
            Assert.Equal(store.GetModelPath(Model), used.Path);

            var absent = await Assert.ThrowsAnyAsync<ModelCacheException>(() => saver.SaveAsync(Missing, false, null, null, CancellationToken.None));
            Assert.Equal("CacheRootNotWritable", absent.ErrorId);
            var forced = await Assert.ThrowsAnyAsync<ModelCacheException>(() => saver.SaveAsync(Model, true, null, null, CancellationToken.None));
            Assert.Equal("CacheRootNotWritable", forced.ErrorId);

            Assert.Equal(before, Snapshot(root));
        }
    }

    private static string Snapshot(string root) =>
        string.Join("\n", Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories).OrderBy(p => p, StringComparer.Ordinal)
            .Select(p => p + (File.Exists(p) ? " " + new FileInfo(p).Length + " " + File.GetLastWriteTimeUtc(p).Ticks : "/")));
}
