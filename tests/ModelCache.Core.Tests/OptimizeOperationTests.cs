using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Operations;
using ModelCache.Store;
using ModelCache.Testing;

namespace ModelCache.Core.Tests;

/// <summary>
/// Optimize-ModelCache and Save-Model's checks as operations: the name selector, the plan's notes and problems as
/// events, which detectors may be precompiled, and the quota's verdict before a save.
/// </summary>
public sealed class OptimizeOperationTests : IDisposable
{
    private static readonly byte[] Bytes = TestModels.RandomBytes(4096, seed: 11);
    private static readonly ModelDefinition Detector = TestModels.Define(Bytes, new Uri("https://example.invalid/d.onnx"), "DET", "d.onnx");
    private static readonly ModelDefinition Other = TestModels.Define(TestModels.RandomBytes(2048, seed: 12), new Uri("https://example.invalid/o.onnx"), "OTHER", "o.onnx");
    private static readonly ModelDefinition NotADetector =
        new("Test", "PLAIN", ModelTasks.Unknown, "p.onnx", new Uri("https://example.invalid/p.onnx"), TestModels.Sha256Of(Bytes), Bytes.Length);

    private readonly TempDirectory _temp = new("modelcache-optimize-op");
    private readonly CacheStore _store;

    public OptimizeOperationTests()
    {
        _store = new CacheStore(_temp.Combine("root"));
        _store.EnsureWritable();
    }

    public void Dispose() => _temp.Dispose();

    private static ModelCatalog Catalog => new(new[] { Detector, Other, NotADetector });

    [Fact]
    public void The_selector_takes_everything_without_names_wildcards_on_qualified_or_member_names_and_a_plain_name_as_its_model_or_an_orphan()
    {
        Assert.True(OptimizeOperation.Selector(Catalog, Array.Empty<string>())("Test", "DET"));

        var byWildcard = OptimizeOperation.Selector(Catalog, new[] { "D*" });
        Assert.True(byWildcard("Test", "DET"));
        Assert.False(byWildcard("Test", "OTHER"));

        var byName = OptimizeOperation.Selector(Catalog, new[] { "Test/OTHER", "stray.onnx" });
        Assert.True(byName("Test", "OTHER"));
        Assert.True(byName(string.Empty, "stray.onnx"));
        Assert.False(byName("Test", "DET"));
    }

    [Fact]
    public async Task The_plans_problems_and_notes_go_to_the_events_and_a_step_runs_once_confirmed()
    {
        File.WriteAllBytes(_store.PreparePartial(Detector), new byte[100]);
        var live = _store.PreparePartial(Other);
        File.WriteAllBytes(live, new byte[50]);
        var events = new RecordedEvents();
        var operation = new OptimizeOperation(_store, Catalog);

        using (await _store.LockAsync(Other.Family, Other.Member, TimeSpan.Zero, null, default))
        {
            var plan = await operation.PlanAsync(new CacheOptimizeOptions(), events, default);
            var step = Assert.Single(plan.Steps);
            Assert.Contains(events.Verbose, n => n.Contains(Other.Name, StringComparison.Ordinal) && n.Contains("downloading", StringComparison.Ordinal));
            Assert.Empty(events.Failures);

            var action = await operation.ExecuteAsync(step, events, default);
            Assert.Equal(CacheOptimizeActionKind.RemovedPartial, action!.Action);
            Assert.False(OptimizeOperation.Removes(action));
        }

        Assert.False(File.Exists(_store.GetPartialPath(Detector)));
        Assert.True(File.Exists(live));
    }

    [Fact]
    public void Precompile_candidates_are_the_cached_selected_face_detectors_no_step_removed()
    {
        Save(Detector);
        Save(NotADetector);
        var operation = new OptimizeOperation(_store, Catalog);

        var candidate = Assert.Single(operation.PrecompileCandidates(new CacheOptimizeOptions(), new HashSet<string>()));
        Assert.Equal(Detector.Name, candidate.Model.Name);
        Assert.Equal(_store.GetOptimizedModelPath(Detector), candidate.OptimizedPath);

        Assert.Empty(operation.PrecompileCandidates(new CacheOptimizeOptions(), new HashSet<string> { Detector.Name }));
        Assert.Empty(operation.PrecompileCandidates(new CacheOptimizeOptions { Select = (_, member) => member != "DET" }, new HashSet<string>()));
    }

    [Fact]
    public void A_save_is_admitted_with_its_path_or_refused_when_the_model_alone_exceeds_the_quota()
    {
        var fits = ModelSaves.Admit(_store, QuotaSettings.Effective(new FakeEnvironment(_temp.Path), null, Bytes.Length), Detector);
        Assert.Null(fits.Refusal);
        Assert.Equal(_store.GetModelPath(Detector), fits.Path);

        var tooBig = ModelSaves.Admit(_store, QuotaSettings.Effective(new FakeEnvironment(_temp.Path), null, Bytes.Length - 1), Detector);
        Assert.Equal("QuotaTooSmall", tooBig.Refusal!.ErrorId);
    }

    private void Save(ModelDefinition model)
    {
        var partial = _store.PreparePartial(model);
        File.WriteAllBytes(partial, Bytes);
        _store.Commit(model, partial, model.Sha256, model.Url!.ToString());
    }

    private sealed class RecordedEvents : IOperationEvents
    {
        public List<string> Verbose { get; } = new();

        public List<ModelCacheException> Failures { get; } = new();

        void IOperationEvents.Verbose(string message) => Verbose.Add(message);

        public void Warning(string message)
        {
        }

        public void Failed(ModelCacheException error, object? target) => Failures.Add(error);
    }
}
