using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Operations;
using ModelCache.Store;
using ModelCache.Sync;
using ModelCache.Testing;

namespace ModelCache.Core.Tests;

/// <summary>The one plan behind Test-ModelCache (-Detailed) and Sync-ModelCache.</summary>
public class SyncPlanTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly CacheStore _store;
    private readonly ModelDefinition[] _models;
    private readonly ModelCatalog _catalog;

    public SyncPlanTests()
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
    public async Task Each_model_gets_its_state_and_the_action_sync_would_take()
    {
        Save(_models[0]);
        Save(_models[1]);
        Save(_models[3]);
        var corrupt = _store.GetModelPath(_models[1]);
        File.WriteAllBytes(corrupt, TestModels.RandomBytes(1000, 99));

        var plan = await SyncPlanner.PlanAsync(_store, Manifest("Test/A", "Test/B", "Test/C"), _catalog, new SyncPlanOptions(), null, default);

        Assert.Equal(new[] { "Test/A", "Test/B", "Test/C", "Test/D" }, plan.Items.Select(i => i.Name));
        Assert.Equal(new[] { DriftState.Ok, DriftState.Corrupt, DriftState.Missing, DriftState.Extra }, plan.Items.Select(i => i.State));
        Assert.Equal(new[] { SyncAction.None, SyncAction.Repair, SyncAction.Save, SyncAction.None }, plan.Items.Select(i => i.Action));
        var b = plan.Items[1];
        Assert.Equal(corrupt, b.Path);
        Assert.Equal(_models[1].Sha256, b.Expected);
        Assert.Equal(TestModels.Sha256Of(File.ReadAllBytes(corrupt)), b.Actual);
        Assert.Equal(1000, b.ActualSize);
        Assert.Null(plan.Items[2].Actual);
        Assert.Null(plan.Items[2].ActualSize);
        Assert.False(plan.InDesiredState);
    }

    [Fact]
    public async Task Prune_removes_extras_and_IgnoreExtra_leaves_them_out()
    {
        Save(_models[0]);
        Save(_models[3]);

        var pruning = await SyncPlanner.PlanAsync(_store, Manifest("Test/A"), _catalog, new SyncPlanOptions { Prune = true }, null, default);
        var ignoring = await SyncPlanner.PlanAsync(_store, Manifest("Test/A"), _catalog, new SyncPlanOptions { IgnoreExtra = true }, null, default);

        Assert.Equal(SyncAction.Remove, pruning.Items.Single(i => i.State == DriftState.Extra).Action);
        Assert.False(pruning.InDesiredState);
        Assert.Equal(new[] { "Test/A" }, ignoring.Items.Select(i => i.Name));
        Assert.True(ignoring.InDesiredState);
    }

    [Fact]
    public async Task Sync_executes_only_the_confirmed_items()
    {
        Save(_models[0]);
        Save(_models[3]);
        var events = new RecordedEvents();
        var sync = new CacheSync(_store, new FakeEnvironment(_temp.Path), events);
        var plan = await sync.PlanAsync(Manifest("Test/A"), _catalog, new SyncPlanOptions { Prune = true }, default);

        var declined = await sync.ExecuteAsync(plan, Array.Empty<ModelDrift>(), new SyncExecution(), default);
        Assert.True(File.Exists(_store.GetModelPath(_models[3])));
        Assert.Equal(1, declined.Unchanged);
        Assert.Equal(0, declined.Removed);

        var confirmed = await sync.ExecuteAsync(plan, plan.Items.Where(i => i.Action == SyncAction.Remove).ToList(), new SyncExecution(), default);
        Assert.False(File.Exists(_store.GetModelPath(_models[3])));
        Assert.Equal(1, confirmed.Removed);
        Assert.Empty(events.Failures);
    }

    [Fact]
    public async Task Sync_sweeps_the_leftover_partial_of_a_model_already_in_its_desired_state()
    {
        // As Save-Model does for a valid cached model: a partial left by a download that another process finished is waste.
        Save(_models[0]);
        var partial = _store.PreparePartial(_models[0]);
        File.WriteAllBytes(partial, new byte[10]);
        var sync = new CacheSync(_store, new FakeEnvironment(_temp.Path), new RecordedEvents());
        var plan = await sync.PlanAsync(Manifest("Test/A"), _catalog, new SyncPlanOptions(), default);

        var summary = await sync.ExecuteAsync(plan, Array.Empty<ModelDrift>(), new SyncExecution(), default);

        Assert.Equal(1, summary.Unchanged);
        Assert.False(File.Exists(partial));
        Assert.True(File.Exists(_store.GetModelPath(_models[0])));
    }

    [Fact]
    public async Task Sync_applies_the_session_quota()
    {
        // Set-ModelCacheQuota -Scope Process: a quota no settings file holds, which the sync must still see.
        Save(_models[0]);
        var sync = new CacheSync(_store, new FakeEnvironment(_temp.Path), new RecordedEvents());
        var plan = await sync.PlanAsync(Manifest("Test/A"), _catalog, new SyncPlanOptions(), default);

        var summary = await sync.ExecuteAsync(plan, Array.Empty<ModelDrift>(), new SyncExecution { SessionMaxSize = 10 }, default);

        Assert.True(summary.QuotaExceeded);
    }

    private static SyncManifest Manifest(params string[] names) =>
        SyncManifest.Parse("{ \"formatVersion\": 1, \"models\": [" + string.Join(",", names.Select(n => "\"" + n + "\"")) + "] }", "m.json");

    private void Save(ModelDefinition model)
    {
        var index = Array.IndexOf(_models, model);
        File.WriteAllBytes(_store.PreparePartial(model), TestModels.RandomBytes(1000, index + 1));
        _store.Commit(model, _store.GetPartialPath(model), model.Sha256, null);
    }

    private sealed class RecordedEvents : IOperationEvents
    {
        public List<ModelCacheException> Failures { get; } = new();

        public void Verbose(string message)
        {
        }

        public void Warning(string message)
        {
        }

        public void Failed(ModelCacheException error, object? target) => Failures.Add(error);
    }
}
