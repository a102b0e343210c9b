using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.Operations;
using ModelCache.Store;
using ModelCache.Testing;
using Xunit;
using static ModelCache.Inference.Tests.DetectorFixture;

namespace ModelCache.Inference.Tests;

/// <summary>Detector provision and detection runs: the operations Invoke-FaceDetect only binds, confirms and writes.</summary>
public class ProvisionTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly CacheStore _store;
    private readonly ModelDefinition _slim;
    private readonly ModelCatalog _catalog;
    private readonly FaceDetectorPool _pool = new();

    public ProvisionTests()
    {
        _store = new CacheStore(Path.Combine(_temp.Path, "cache"));
        _store.EnsureWritable();
        var bytes = File.ReadAllBytes(Model(UltraSlim));
        _slim = new ModelDefinition("Test", "SLIM", "face_detection", UltraSlim, new Uri("https://example.invalid/slim.onnx"), Sha256(bytes), bytes.Length);
        var notDetector = new ModelDefinition("Test", "EMBED", "face_recognition", "embed.onnx", new Uri("https://example.invalid/embed.onnx"), new string('0', 64), 10);
        _catalog = new ModelCatalog(new[] { _slim, notDetector });
    }

    public void Dispose()
    {
        _pool.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_cached_model_is_opened_verified_and_leased_from_the_pool()
    {
        var provision = new DetectorProvision(new DetectorResources(_pool, new VerifiedModelOpener(), new OptimizedModelCache(), null));
        Assert.True(provision.Plan(_catalog, _store, "Test/SLIM").NeedsSave);
        Cache(_slim, Model(UltraSlim));

        var plan = provision.Plan(_catalog, _store, "Test/SLIM");
        var events = new Events();
        using var lease = await provision.ProvideAsync(plan, Offline(), new FaceDetectorSettings(), null, events, default);

        Assert.False(plan.NeedsSave);
        Assert.Equal(_slim, plan.Model);
        Assert.Equal(1, _pool.Count);
        Assert.Contains(events.Verbose, line => line.StartsWith("Verified by", StringComparison.Ordinal));
        Assert.Contains(events.Verbose, line => line.StartsWith("Loaded the original model", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_model_offline_is_the_savers_error_and_a_model_of_another_task_is_refused()
    {
        var provision = new DetectorProvision(new DetectorResources(_pool, new VerifiedModelOpener(), new OptimizedModelCache(), null));
        var missing = await Assert.ThrowsAsync<ModelCacheException>(() => provision.ProvideAsync(provision.Plan(_catalog, _store, "Test/SLIM"), Offline(), new FaceDetectorSettings(), null, new Events(), default));
        Assert.Equal("ModelNotAvailableOffline", missing.ErrorId);

        var other = Assert.Throws<ModelCacheException>(() => provision.Plan(_catalog, _store, "Test/EMBED"));
        Assert.Equal("NotAFaceDetector", other.ErrorId);
        Assert.Equal(0, _pool.Count);
    }

    [Fact]
    public void A_run_hands_back_outcomes_in_input_order()
    {
        var images = new[] { "zidane.jpg", "portrait.jpg", "linzaer_1.jpg", "portrait.jpg", "gorilla.png" }.Select(Image).ToArray();
        var lease = _pool.Rent(Model(UltraSlim), "slim");
        var outcomes = new List<FaceDetectionOutcome>();
        using (var run = new FaceDetectionRun(lease, new FaceDetectionOptions(), new FaceDetectionRunSettings { ThrottleLimit = 2 }, default))
        {
            foreach (var image in images)
            {
                run.Add(image, null, null, outcomes.Add);
            }

            run.Complete(outcomes.Add);
            Assert.Equal(images.Length, run.Emitted);
            Assert.Equal(("5 of 5 images", 100, true), run.Progress(inputEnded: true, force: true));
        }

        Assert.Equal(Enumerable.Range(0, images.Length).Select(i => (long)i), outcomes.Select(o => o.Item.Index));
        Assert.Equal(new[] { 0, 0, 0, 1, 0 }, outcomes.Select(o => o.Item.Occurrence));
        Assert.All(outcomes, o => Assert.NotNull(o.Result));
    }

    private static SourcePolicy Offline() => SourcePolicy.Resolve(SystemEnvironment.Instance, Array.Empty<string>(), p => p, offline: true, mirrorOnly: null, network: null);

    private static string Sha256(byte[] bytes)
    {
        using var sha = SHA256.Create();
        return BitConverter.ToString(sha.ComputeHash(bytes)).Replace("-", string.Empty).ToLowerInvariant();
    }

    private void Cache(ModelDefinition model, string file)
    {
        File.Copy(file, _store.PreparePartial(model), overwrite: true);
        _store.Commit(model, _store.GetPartialPath(model), model.Sha256, null);
    }

    private sealed class Events : IOperationEvents
    {
        public List<string> Verbose { get; } = new();

        void IOperationEvents.Verbose(string message)
        {
            lock (Verbose)
            {
                Verbose.Add(message);
            }
        }

        public void Warning(string message)
        {
        }

        public void Failed(ModelCacheException error, object? target)
        {
        }
    }
}
