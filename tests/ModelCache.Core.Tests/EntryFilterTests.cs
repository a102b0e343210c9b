using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Store;
using ModelCache.Testing;

namespace ModelCache.Core.Tests;

public class EntryFilterTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2024, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void OlderThan_goes_by_SavedAt_and_an_unknown_age_is_never_old()
    {
        var filter = new EntryFilter { OlderThan = TimeSpan.FromDays(30) };

        Assert.True(filter.Matches(Entry(savedDaysAgo: 31, usedDaysAgo: 1), Now));
        Assert.False(filter.Matches(Entry(savedDaysAgo: 29, usedDaysAgo: null), Now));
        Assert.False(filter.Matches(Entry(savedDaysAgo: null, usedDaysAgo: null), Now));
    }

    [Fact]
    public void NotUsedSince_goes_by_LastUsed_else_SavedAt()
    {
        var filter = new EntryFilter { NotUsedSince = Now.AddDays(-30) };

        Assert.False(filter.Matches(Entry(savedDaysAgo: 100, usedDaysAgo: 1), Now));
        Assert.True(filter.Matches(Entry(savedDaysAgo: 1, usedDaysAgo: 40), Now));
        Assert.True(filter.Matches(Entry(savedDaysAgo: 40, usedDaysAgo: null), Now));
        Assert.False(filter.Matches(Entry(savedDaysAgo: 10, usedDaysAgo: null), Now));
    }

    [Fact]
    public void Task_family_and_orphan_filters_combine_with_AND()
    {
        var filter = new EntryFilter { Tasks = new[] { "face_det*" }, Families = new[] { "SCRFD", "Retina*" }, OrphansOnly = true };

        Assert.True(filter.Matches(Entry(family: "RetinaFace", inCatalog: false), Now));
        Assert.False(filter.Matches(Entry(family: "RetinaFace", inCatalog: true), Now));
        Assert.False(filter.Matches(Entry(family: "ArcFace", inCatalog: false), Now));
        Assert.False(filter.Matches(Entry(family: "SCRFD", task: "face_recognition", inCatalog: false), Now));
        Assert.True(new EntryFilter().IsEmpty);
    }

    [Fact]
    public async Task A_partial_whose_lock_is_held_is_kept_and_one_whose_lock_is_free_is_removed()
    {
        var store = NewStore();
        var bytes = TestModels.RandomBytes(100);
        var busy = TestModels.Define(bytes, new Uri("https://example.invalid/busy.onnx"), "BUSY", "busy.onnx");
        var idle = TestModels.Define(bytes, new Uri("https://example.invalid/idle.onnx"), "IDLE", "idle.onnx");
        var catalog = new ModelCatalog(new[] { busy, idle });
        File.WriteAllBytes(store.PreparePartial(busy), bytes);
        File.WriteAllBytes(store.PreparePartial(idle), bytes);
        File.WriteAllText(store.GetModelPath(idle) + CacheStore.PartialStateSuffix, "{}");

        var partials = store.ListPartials(catalog);
        Assert.Equal(new[] { "Test/BUSY", "Test/IDLE" }, partials.Select(p => p.Name).OrderBy(n => n));
        using (await store.LockAsync("Test", "BUSY", TimeSpan.Zero, null, default))
        {
            Assert.Null(await store.RemovePartialAsync(partials.Single(p => p.Member == "BUSY")));
            Assert.Equal(100 + 2, await store.RemovePartialAsync(partials.Single(p => p.Member == "IDLE")));
        }

        Assert.True(File.Exists(store.GetPartialPath(busy)));
        Assert.False(File.Exists(store.GetPartialPath(idle)));
        Assert.False(File.Exists(store.GetModelPath(idle) + CacheStore.PartialStateSuffix));
    }

    [Fact]
    public async Task A_partial_beside_a_finished_model_is_listed_and_filtered_by_its_model()
    {
        var store = NewStore();
        var bytes = TestModels.RandomBytes(100);
        var model = TestModels.Define(bytes, new Uri("https://example.invalid/tiny.onnx"));
        File.WriteAllBytes(store.PreparePartial(model), bytes);
        store.Commit(model, store.GetPartialPath(model), model.Sha256, null);
        File.WriteAllBytes(store.PreparePartial(model), bytes.Take(10).ToArray());
        var catalog = new ModelCatalog(new[] { model });

        var partial = Assert.Single(store.ListPartials(catalog));

        Assert.Equal(10, partial.Size);
        Assert.True(new EntryFilter { Tasks = new[] { "face_detection" } }.Matches(partial, DateTimeOffset.UtcNow));
        Assert.False(new EntryFilter { OrphansOnly = true }.Matches(partial, DateTimeOffset.UtcNow));
        Assert.Equal(10, await store.RemovePartialAsync(partial));
        Assert.True(File.Exists(store.GetModelPath(model)));
    }

    [Fact]
    public async Task A_forged_partial_cannot_point_removal_outside_the_layout()
    {
        var store = NewStore();
        var bytes = TestModels.RandomBytes(100);
        var model = TestModels.Define(bytes, new Uri("https://example.invalid/tiny.onnx"));
        File.WriteAllBytes(store.PreparePartial(model), bytes);
        var real = Assert.Single(store.ListPartials(new ModelCatalog(new[] { model })));
        var outside = Path.Combine(_temp.Path, "precious.onnx.partial");
        File.WriteAllBytes(outside, bytes);
        var forged = (PartialFile)typeof(PartialFile).GetConstructors(System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)[0]
            .Invoke(new object[] { "Test", "TINY", "../../../precious.onnx", outside, 100L, DateTimeOffset.UtcNow, "face_detection", true });

        await Assert.ThrowsAsync<Errors.ModelCacheException>(() => store.RemovePartialAsync(forged));
        Assert.True(File.Exists(outside));
        Assert.True(File.Exists(real.Path));
    }

    private CacheStore NewStore()
    {
        var store = new CacheStore(Path.Combine(_temp.Path, "cache"));
        store.EnsureWritable();
        return store;
    }

    private static ModelCacheEntry Entry(int? savedDaysAgo = 1, int? usedDaysAgo = 1, string family = "RetinaFace", string task = "face_detection", bool inCatalog = true) =>
        new(family, "M", task, "m.onnx", "/x/m.onnx", "/x", 1, null, null, null,
            savedDaysAgo is null ? null : Now.AddDays(-savedDaysAgo.Value), usedDaysAgo is null ? null : Now.AddDays(-usedDaysAgo.Value),
            EntryCheckResult.NotChecked, null, null, inCatalog);
}
