using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store;
using ModelCache.Testing;
using Newtonsoft.Json.Linq;
using ModelCache.IO;

namespace ModelCache.Core.Tests;

public class EvictionTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _temp = new();
    private readonly CacheStore _store;
    private readonly ModelDefinition[] _models;
    private readonly ModelCatalog _catalog;

    public EvictionTests()
    {
        _store = new CacheStore(Path.Combine(_temp.Path, "cache"));
        _store.EnsureWritable();
        _models = new[] { "A", "B", "C", "D" }
            .Select((member, i) => TestModels.Define(TestModels.RandomBytes(1000, i + 1), new Uri($"https://example.invalid/{member}.onnx"), member, member.ToLowerInvariant() + ".onnx"))
            .ToArray();
        _catalog = new ModelCatalog(_models);
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void The_planner_evicts_least_recently_used_first_and_stops_once_under_the_quota()
    {
        var entries = new[] { Entry("A", used: 3), Entry("B", used: 1), Entry("C", used: null, saved: 2), Entry("D", used: 4) };

        var plan = EvictionPlanner.Plan(entries, 2000, _ => false);

        Assert.Equal(new[] { "Test/B", "Test/C" }, plan.Evict.Select(e => e.Name));
        Assert.Equal(2000, plan.BytesAfter);
        Assert.True(plan.Fits);
    }

    [Fact]
    public void The_planner_never_chooses_pinned_or_protected_entries_and_says_when_they_alone_are_over()
    {
        var entries = new[] { Entry("A", used: 1, pinned: true), Entry("B", used: 2), Entry("C", used: 3) };

        var plan = EvictionPlanner.Plan(entries, 0, e => e.Member == "C");

        Assert.Equal(new[] { "Test/B" }, plan.Evict.Select(e => e.Name));
        Assert.False(plan.Fits);
        Assert.Equal(2000, plan.BytesAfter);
    }

    [Fact]
    public async Task Eviction_keeps_pinned_just_saved_and_last_synced_models_and_removes_the_rest_oldest_first()
    {
        SaveAll();
        SetUsed("A", 1);
        SetUsed("B", 2);
        SetUsed("C", 3);
        SetUsed("D", 4);
        await _store.SetPinnedAsync(await Find("A"), true, _models[0]);
        LastSyncRecord.Write(_store.Layout, "m.json", new[] { "Test/B" });
        var evicted = new List<string>();

        var result = await new CacheEvictor(_store).EnforceAsync(_catalog, 0, new[] { "Test/C" }, e => evicted.Add(e.Name), null, default);

        Assert.Equal(new[] { "Test/D" }, evicted);
        Assert.True(result.StillOver);
        Assert.Equal(new[] { "Test/A", "Test/B", "Test/C" }, (await _store.ListAsync(_catalog)).Select(e => e.Name).OrderBy(n => n));
    }

    [Fact]
    public async Task Eviction_stops_at_the_quota_in_LRU_order()
    {
        SaveAll();
        SetUsed("A", 4);
        SetUsed("B", 1);
        SetUsed("C", 3);
        SetUsed("D", 2);

        var result = await new CacheEvictor(_store).EnforceAsync(_catalog, 2500, Array.Empty<string>(), null, null, default);

        Assert.Equal(new[] { "Test/B", "Test/D" }, result.Evicted.Select(e => e.Name));
        Assert.False(result.StillOver);
        Assert.Equal(2000, result.BytesAfter);
    }

    [Fact]
    public async Task A_pin_survives_a_re_save_and_is_lost_with_its_metadata()
    {
        SaveAll();
        var pinned = await _store.SetPinnedAsync(await Find("A"), true, _models[0]);
        Assert.True(pinned.Pinned);

        Save(_models[0]);
        Assert.True((await Find("A")).Pinned);

        File.Delete(Path.Combine(_store.GetModelDirectory(_models[0]), CacheStore.MetadataFileName));
        Assert.False((await Find("A")).Pinned);
    }

    [Fact]
    public async Task A_pin_set_after_listing_still_keeps_the_entry()
    {
        SaveAll();
        var listed = await Find("A");
        await _store.SetPinnedAsync(listed, true, _models[0]);

        Assert.False(await _store.RemoveUnlessPinnedAsync(listed));
        Assert.True(File.Exists(listed.Path));
    }

    [Theory]
    [InlineData("not json {")]
    [InlineData("{\"models\": \"Test/A\"}")]
    [InlineData("{\"models\": [42]}")]
    [InlineData("huge")]
    public async Task A_tampered_last_sync_record_stops_eviction_instead_of_guessing(string content)
    {
        SaveAll();
        var path = LastSyncRecord.PathFor(_store.Layout);
        if (content == "huge")
        {
            File.WriteAllText(path, "{\"models\": [\"" + new string('x', (int)CacheFiles.MaxMetadataBytes) + "\"]}");
        }
        else
        {
            File.WriteAllText(path, content);
        }

        var ex = await Assert.ThrowsAsync<ModelCacheException>(() => new CacheEvictor(_store).EnforceAsync(_catalog, 0, Array.Empty<string>(), null, null, default));

        Assert.Equal("LastSyncRecordInvalid", ex.ErrorId);
        Assert.Equal(4, (await _store.ListAsync(_catalog)).Count);
    }

    [Fact]
    public async Task Names_in_the_last_sync_record_are_never_paths()
    {
        SaveAll();
        var precious = PlantOutside();
        File.WriteAllText(LastSyncRecord.PathFor(_store.Layout),
            new JObject { ["models"] = new JArray(precious, "../outside/precious.onnx", "../../outside", "Test/A") }.ToString());

        var result = await new CacheEvictor(_store).EnforceAsync(_catalog, 0, Array.Empty<string>(), null, null, default);

        Assert.Equal(new[] { "Test/B", "Test/C", "Test/D" }, result.Evicted.Select(e => e.Name).OrderBy(n => n));
        Assert.True(File.Exists(precious));
        Assert.Equal("Test/A", Assert.Single(await _store.ListAsync(_catalog)).Name);
    }

    [Fact]
    public async Task Tampered_metadata_cannot_point_eviction_outside_the_layout()
    {
        SaveAll();
        var precious = PlantOutside();
        var metadataPath = Path.Combine(_store.GetModelDirectory(_models[1]), CacheStore.MetadataFileName);
        var metadata = JObject.Parse(File.ReadAllText(metadataPath));
        metadata["fileName"] = "../../../outside/precious.onnx";
        metadata["lastUsed"] = DateTimeOffset.MinValue;
        metadata["pinned"] = "yes";
        File.WriteAllText(metadataPath, metadata.ToString());
        File.WriteAllText(Path.Combine(_store.GetModelDirectory(_models[2]), CacheStore.MetadataFileName), new string('{', (int)CacheFiles.MaxMetadataBytes + 1));

        var problems = new List<ModelCacheException>();
        var result = await new CacheEvictor(_store).EnforceAsync(_catalog, 0, Array.Empty<string>(), null, problems, default);

        Assert.Equal(4, result.Evicted.Count);
        Assert.True(File.Exists(precious));
        Assert.Contains(problems, p => p.ErrorId == "CacheMetadataInvalid");
        Assert.Empty(await _store.ListAsync(_catalog));
    }

    [Fact]
    public async Task A_pin_in_tampered_metadata_is_not_trusted_but_a_valid_one_is()
    {
        SaveAll();
        var metadataPath = Path.Combine(_store.GetModelDirectory(_models[0]), CacheStore.MetadataFileName);
        var metadata = JObject.Parse(File.ReadAllText(metadataPath));
        metadata["pinned"] = true;
        File.WriteAllText(metadataPath, metadata.ToString());

        var result = await new CacheEvictor(_store).EnforceAsync(_catalog, 0, Array.Empty<string>(), null, null, default);

        Assert.DoesNotContain(result.Evicted, e => e.Member == "A");
        Assert.Equal("Test/A", Assert.Single(await _store.ListAsync(_catalog)).Name);
    }

    [Fact]
    public void The_quota_refuses_a_model_bigger_than_it_alone()
    {
        var environment = new FakeEnvironment(Path.Combine(_temp.Path, "home"))
            .With(Configuration.EnvironmentVariables.MachineConfig, Path.Combine(_temp.Path, "machine", "config.json"));
        CacheQuota.Write(Locations.SettingsStore.ForAllUsers(environment), 5000);
        CacheQuota.Write(Locations.SettingsStore.ForUser(environment), 999);

        var quota = CacheQuota.Resolve(null, environment);

        Assert.Equal(999, quota.MaxSize);
        Assert.Equal("QuotaTooSmall", quota.CheckFits(_models[0])?.ErrorId);
        Assert.Null(CacheQuota.Resolve(1000, environment).CheckFits(_models[0]));
    }

    private ModelCacheEntry Entry(string member, int? used, int? saved = 0, bool pinned = false) =>
        new("Test", member, "face_detection", member + ".onnx", "/x/" + member, "/x", 1000, null, null, null,
            saved is null ? null : Start.AddDays(saved.Value), used is null ? null : Start.AddDays(used.Value), EntryCheckResult.NotChecked, null, null, true, pinned: pinned);

    /// <summary>A file beside the cache root that no removal may touch.</summary>
    private string PlantOutside()
    {
        var outside = Path.Combine(_temp.Path, "outside");
        Directory.CreateDirectory(outside);
        var precious = Path.Combine(outside, "precious.onnx");
        File.WriteAllText(precious, "keep me");
        return precious;
    }

    private void SaveAll()
    {
        foreach (var model in _models)
        {
            Save(model);
        }
    }

    private void Save(ModelDefinition model)
    {
        var index = Array.IndexOf(_models, model);
        File.WriteAllBytes(_store.PreparePartial(model), TestModels.RandomBytes(1000, index + 1));
        _store.Commit(model, _store.GetPartialPath(model), model.Sha256, null);
    }

    private void SetUsed(string member, int day)
    {
        var model = _models.Single(m => m.Member == member);
        var path = Path.Combine(_store.GetModelDirectory(model), CacheStore.MetadataFileName);
        var metadata = JObject.Parse(File.ReadAllText(path));
        metadata["lastUsed"] = Start.AddDays(day);
        File.WriteAllText(path, metadata.ToString());
    }

    private async Task<ModelCacheEntry> Find(string member) => (await _store.FindAsync(_models.Single(m => m.Member == member)))!;
}
