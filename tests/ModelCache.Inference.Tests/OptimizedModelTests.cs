using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading.Tasks;
using Microsoft.ML.OnnxRuntime;
using ModelCache.Catalog;
using ModelCache.Inference;
using ModelCache.Store;
using ModelCache.Testing;
using Newtonsoft.Json.Linq;

namespace ModelCache.Inference.Tests;

/// <summary>
/// Optimized copies written by Optimize-ModelCache -Precompile: built from a verified original, keyed, detecting
/// what the original detects, and ignored (never rebuilt) when their key or bytes are changed.
/// </summary>
public sealed class OptimizedModelTests : IDisposable
{
    private readonly TempDirectory _temp = new("modelcache-optimized");
    private readonly CacheStore _store;

    public OptimizedModelTests()
    {
        _store = new CacheStore(_temp.Combine("root"));
        _store.EnsureWritable();
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Precompiling_writes_a_keyed_copy_once_and_finds_it()
    {
        var model = Cache(DetectorFixture.Scrfd500);
        var cache = new OptimizedModelCache();

        var action = await cache.PrecompileAsync(_store, model);

        Assert.NotNull(action);
        Assert.Equal(CacheOptimizeActionKind.Precompiled, action!.Action);
        var copy = _store.GetOptimizedModelPath(model);
        Assert.Equal(copy, action.Path);
        Assert.Equal(Path.GetDirectoryName(_store.GetModelPath(model)), Path.GetDirectoryName(copy));
        var key = JObject.Parse(File.ReadAllText(OptimizedModelCache.KeyPath(copy)));
        Assert.Equal(model.Sha256, (string?)key["sourceSha256"]);
        Assert.Equal(OrtEnv.Instance().GetVersionString(), (string?)key["onnxRuntimeVersion"]);
        Assert.Equal("ORT_ENABLE_EXTENDED", (string?)key["optimizationLevel"]);
        Assert.Equal(Sha256(copy), (string?)key["sha256"]);
        Assert.NotEqual(Sha256(_store.GetModelPath(model)), Sha256(copy));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(copy)!, "*.tmp"));

        var found = await cache.FindAsync(_store, model, model.Sha256);
        Assert.Equal(copy, found.Path);
        Assert.Null(await cache.PrecompileAsync(_store, model));
    }

    [Theory]
    [InlineData(DetectorFixture.RetinaFace)]
    [InlineData(DetectorFixture.Scrfd500)]
    [InlineData(DetectorFixture.YoloV8)]
    [InlineData(DetectorFixture.UltraRfb)]
    [InlineData(DetectorFixture.BlazeBack)]
    public async Task The_optimized_copy_detects_what_the_original_detects(string file)
    {
        var model = Cache(file);
        await new OptimizedModelCache().PrecompileAsync(_store, model);
        using var original = new FaceDetector(_store.GetModelPath(model));
        using var optimized = new FaceDetector(_store.GetOptimizedModelPath(model), new FaceDetectorSettings { PreOptimized = true });

        foreach (var image in new[] { "zidane.jpg", "src_meeting.jpg", "linzaer_12.jpg", "gorilla.png" })
        {
            var expected = original.Detect(DetectorFixture.Image(image));
            var actual = optimized.Detect(DetectorFixture.Image(image));
            Assert.True(expected.Faces.Count == actual.Faces.Count, $"{file} on {image}: {expected.Faces.Count} faces from the original, {actual.Faces.Count} from the copy");
            foreach (var (e, a) in expected.Faces.OrderBy(f => f.BoundingBox.X).Zip(actual.Faces.OrderBy(f => f.BoundingBox.X)))
            {
                Assert.InRange(a.BoundingBox.X - e.BoundingBox.X, -1f, 1f);
                Assert.InRange(a.BoundingBox.Y - e.BoundingBox.Y, -1f, 1f);
                Assert.InRange(a.BoundingBox.Width - e.BoundingBox.Width, -1f, 1f);
                Assert.InRange(a.BoundingBox.Height - e.BoundingBox.Height, -1f, 1f);
                Assert.InRange(a.Confidence - e.Confidence, -0.01f, 0.01f);
            }
        }
    }

    [Theory]
    [InlineData("onnxRuntimeVersion", "1.0.0")]
    [InlineData("optimizationLevel", "ORT_ENABLE_ALL")]
    [InlineData("sourceSha256", "0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("architecture", "Wasm")]
    [InlineData("sha256", "0000000000000000000000000000000000000000000000000000000000000000")]
    public async Task A_copy_whose_key_was_changed_is_ignored_and_not_rebuilt(string field, string value)
    {
        var (model, cache, copy) = await PrecompiledAndFoundAsync();
        var keyPath = OptimizedModelCache.KeyPath(copy);
        var key = JObject.Parse(File.ReadAllText(keyPath));
        key[field] = value;
        File.WriteAllText(keyPath, key.ToString());
        var tampered = File.ReadAllText(keyPath);

        var found = await cache.FindAsync(_store, model, model.Sha256);

        Assert.Null(found.Path);
        Assert.Contains("ignored", found.Reason, StringComparison.Ordinal);
        Assert.Equal(tampered, File.ReadAllText(keyPath));
    }

    [Fact]
    public async Task A_copy_whose_bytes_were_changed_is_ignored_even_after_it_was_checked_in_this_process()
    {
        var (model, cache, copy) = await PrecompiledAndFoundAsync();
        var bytes = File.ReadAllBytes(copy);
        bytes[bytes.Length - 100] ^= 0x01;
        File.WriteAllBytes(copy, bytes);

        var found = await cache.FindAsync(_store, model, model.Sha256);

        Assert.Null(found.Path);
        Assert.Contains("SHA-256", found.Reason, StringComparison.Ordinal);
        Assert.Equal(bytes, File.ReadAllBytes(copy));
    }

    [Fact]
    public async Task A_corrupt_original_is_not_precompiled()
    {
        var model = Cache(DetectorFixture.UltraSlim);
        var bytes = File.ReadAllBytes(_store.GetModelPath(model));
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(_store.GetModelPath(model), bytes);

        var refused = await Assert.ThrowsAsync<ModelCache.Errors.ModelCacheException>(() => new OptimizedModelCache().PrecompileAsync(_store, model));

        Assert.Equal("HashMismatch", refused.ErrorId);
        Assert.False(File.Exists(_store.GetOptimizedModelPath(model)));
    }

    [Fact]
    public async Task The_pool_never_hands_out_an_optimized_session_for_the_original_or_the_other_way_round()
    {
        var model = Cache(DetectorFixture.UltraSlim);
        await new OptimizedModelCache().PrecompileAsync(_store, model);
        using var pool = new FaceDetectorPool();
        var copy = _store.GetOptimizedModelPath(model);

        using var optimized = pool.Rent(copy, model.Sha256, new FaceDetectorSettings { PreOptimized = true });
        using var plain = pool.Rent(copy, model.Sha256, new FaceDetectorSettings());
        using var original = pool.Rent(_store.GetModelPath(model), model.Sha256, new FaceDetectorSettings());

        Assert.NotSame(optimized.Detector, plain.Detector);
        Assert.NotSame(optimized.Detector, original.Detector);
        using var unoptimized = pool.Rent(copy, model.Sha256, new FaceDetectorSettings { PreOptimized = true, OptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL });
        Assert.NotSame(optimized.Detector, unoptimized.Detector);
        Assert.Equal(4, pool.Count);
    }

    [Fact]
    public async Task Removing_the_model_removes_its_optimized_copy()
    {
        var model = Cache(DetectorFixture.UltraSlim);
        await new OptimizedModelCache().PrecompileAsync(_store, model);
        var entry = Assert.Single(await _store.ListAsync(new ModelCatalog(new[] { model })));

        await _store.RemoveAsync(entry);

        Assert.False(File.Exists(_store.GetOptimizedModelPath(model)));
        Assert.False(Directory.Exists(_store.GetModelDirectory(model)));
    }

    /// <summary>A cached model with its optimized copy, found once by <c>cache</c> so that its hash is remembered there.</summary>
    private async Task<(ModelDefinition Model, OptimizedModelCache Cache, string Copy)> PrecompiledAndFoundAsync()
    {
        var model = Cache(DetectorFixture.UltraSlim);
        var cache = new OptimizedModelCache();
        await cache.PrecompileAsync(_store, model);
        Assert.NotNull((await cache.FindAsync(_store, model, model.Sha256)).Path);
        return (model, cache, _store.GetOptimizedModelPath(model));
    }

    /// <summary>Puts a fixture model into the temp cache, as Save-Model would, under a test catalog entry.</summary>
    private ModelDefinition Cache(string file)
    {
        var source = DetectorFixture.Model(file);
        var model = new ModelDefinition("Test", Path.GetFileNameWithoutExtension(file).Replace('.', '_'), "face_detection", file,
            new Uri("https://example.invalid/" + file), Sha256(source), new FileInfo(source).Length);
        var partial = _store.PreparePartial(model);
        File.Copy(source, partial);
        _store.Commit(model, partial, model.Sha256, null);
        return model;
    }

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant();
}
