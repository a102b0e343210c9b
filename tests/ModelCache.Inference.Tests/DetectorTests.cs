using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.Inference;
using ModelCache.Testing;
using SkiaSharp;
using static ModelCache.Inference.Tests.DetectorFixture;

namespace ModelCache.Inference.Tests;

/// <summary>Family detection from metadata, the session pool, input sizes and tiling.</summary>
[Collection(DetectorCollection.Name)]
public sealed class DetectorTests : IDisposable
{
    private readonly DetectorFixture _fixture;
    private readonly TempDirectory _temp = new("modelcache-detector");

    public DetectorTests(DetectorFixture fixture) => _fixture = fixture;

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(RetinaFace, "RetinaFace")]
    [InlineData(Scrfd25, "SCRFD")]
    [InlineData(Scrfd500, "SCRFD")]
    [InlineData(YoloV5, "YOLOv5Face")]
    [InlineData(YoloV8, "YOLOv8Face")]
    [InlineData(BlazeFront, "BlazeFace")]
    [InlineData(BlazeBack, "BlazeFace")]
    [InlineData(UltraRfb, "UltraFace")]
    [InlineData(UltraSlim, "UltraFace")]
    public void Family_is_recognised_from_metadata(string model, string family) =>
        Assert.Equal(family, _fixture.Detector(model).Family);

    [Fact]
    public void Family_comes_from_the_model_not_its_file_name()
    {
        // An SCRFD model saved under a RetinaFace-looking name is still SCRFD.
        var misleading = _temp.Combine("retinaface_mnet_v2.onnx");
        File.Copy(Model(Scrfd500), misleading);
        using var detector = new FaceDetector(misleading);
        Assert.Equal("SCRFD", detector.Family);
        Assert.Equal(1, detector.Detect(Image("portrait.jpg")).FaceCount);
    }

    [Fact]
    public void A_file_that_is_not_onnx_is_a_ModelLoadFailed_error()
    {
        var path = _temp.Combine("broken.onnx");
        File.WriteAllText(path, "not a model");
        var ex = Assert.Throws<ModelCacheException>(() => new FaceDetector(path));
        Assert.Equal("ModelLoadFailed", ex.ErrorId);
    }

    [Fact]
    public void Pool_keeps_one_detector_per_model_file()
    {
        using var pool = new FaceDetectorPool();
        var a = pool.Get(Model(UltraRfb));
        var b = pool.Get(Path.Combine(TestPaths.FixtureModels, ".", UltraRfb));
        Assert.Same(a, b);
        Assert.NotSame(a, pool.Get(Model(UltraSlim)));
        Assert.Equal(2, pool.Count);
        pool.Dispose();
        Assert.Equal("DetectorPoolDisposed", Assert.Throws<ModelCacheException>(() => pool.Get(Model(UltraRfb))).ErrorId);
    }

    [Fact]
    public void Pool_does_not_cache_a_failure()
    {
        using var pool = new FaceDetectorPool();
        var path = _temp.Combine("later.onnx");
        Assert.Throws<ModelCacheException>(() => pool.Get(path));
        File.Copy(Model(UltraRfb), path);
        Assert.Equal("UltraFace", pool.Get(path).Family);
    }

    [Fact]
    public void One_detector_is_safe_to_use_from_several_threads()
    {
        var detector = _fixture.Detector(Scrfd500);
        string[] images = { "sample.jpg", "linzaer_10.jpg", "zidane.jpg", "src_meeting.jpg" };
        var expected = images.Select(i => detector.Detect(Image(i)).Faces.Select(f => f.BoundingBox.ToString()).ToList()).ToList();
        var results = new System.Collections.Concurrent.ConcurrentBag<(int, string[])>();
        Parallel.For(0, 16, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var r = detector.Detect(Image(images[i % images.Length]));
            results.Add((i % images.Length, r.Faces.Select(f => f.BoundingBox.ToString()).ToArray()));
        });
        Assert.Equal(16, results.Count);
        Assert.All(results, r => Assert.Equal(expected[r.Item1], r.Item2));
    }

    [Fact]
    public void Fixed_size_model_rejects_another_input_size()
    {
        var ex = Assert.Throws<ModelCacheException>(() => _fixture.Detector(Scrfd500).Detect(Image("portrait.jpg"), new FaceDetectionOptions { InputSize = 1280 }));
        Assert.Equal("InputSizeNotSupported", ex.ErrorId);
        Assert.Contains("Tile", ex.RecommendedAction, StringComparison.Ordinal);
        Assert.Equal(1, _fixture.Detector(Scrfd500).Detect(Image("portrait.jpg"), new FaceDetectionOptions { InputSize = 640 }).FaceCount);
    }

    [Fact]
    public void Tiling_finds_small_faces_in_a_large_photo()
    {
        // A 4×4 mosaic of sample.jpg (8 faces each): 4096×3072, faces ~25 px once shrunk to 640.
        var path = _temp.Combine("mosaic.jpg");
        using (var tile = SKBitmap.Decode(Image("sample.jpg")))
        using (var mosaic = new SKBitmap(tile.Width * 4, tile.Height * 4))
        {
            using (var canvas = new SKCanvas(mosaic))
            using (var image = SKImage.FromBitmap(tile))
            {
                for (var y = 0; y < 4; y++)
                {
                    for (var x = 0; x < 4; x++)
                    {
                        canvas.DrawImage(image, x * tile.Width, y * tile.Height, new SKSamplingOptions(SKFilterMode.Nearest));
                    }
                }
            }

            using var data = mosaic.Encode(SKEncodedImageFormat.Jpeg, 90);
            File.WriteAllBytes(path, data.ToArray());
        }

        var detector = _fixture.Detector(UltraRfb);
        var plain = detector.Detect(path);
        var tiled = detector.Detect(path, new FaceDetectionOptions { Tile = true });
        Assert.Equal((4096, 3072), (tiled.Width, tiled.Height));
        Assert.True(plain.FaceCount < tiled.FaceCount, $"without tiling {plain.FaceCount} faces, with {tiled.FaceCount}");
        Assert.Equal(128, tiled.FaceCount);

        // Every face of the original, shifted into each of the 16 copies, is found once.
        var single = _fixture.Detect(UltraRfb, "sample.jpg");
        foreach (var face in single.Faces)
        {
            for (var y = 0; y < 4; y++)
            {
                for (var x = 0; x < 4; x++)
                {
                    var shifted = new FaceBox(face.BoundingBox.X + (x * 1024), face.BoundingBox.Y + (y * 768), face.BoundingBox.Width, face.BoundingBox.Height);
                    Assert.Equal(1, tiled.Faces.Count(f => f.BoundingBox.IoU(shifted) >= 0.5f));
                }
            }
        }
    }
}
