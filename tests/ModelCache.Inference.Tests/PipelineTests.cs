using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using ModelCache.Errors;
using Xunit;
using static ModelCache.Inference.Tests.DetectorFixture;

namespace ModelCache.Inference.Tests;

/// <summary>
/// The streaming pipeline Invoke-FaceDetect uses: the same faces as <see cref="FaceDetector.Detect"/>
/// (decode and inference split across threads must not change a box), every item comes back once
/// (repeats included), failures are outcomes naming the file, and disposing stops it.
/// </summary>
[Collection(DetectorCollection.Name)]
public class PipelineTests
{
    private readonly DetectorFixture _fixture;

    public PipelineTests(DetectorFixture fixture) => _fixture = fixture;

    [Theory]
    [InlineData(RetinaFace, false, 2)]
    [InlineData(Scrfd500, false, 2)]
    [InlineData(YoloV8, false, 2)]
    [InlineData(BlazeFront, false, 2)]
    [InlineData(UltraSlim, false, 2)]
    [InlineData(Scrfd500, true, 2)]
    [InlineData(RetinaFace, false, 0)]
    [InlineData(UltraSlim, false, 0)]
    [InlineData(Scrfd500, true, 0)]
    public void Pipeline_finds_exactly_the_faces_Detect_finds(string model, bool tile, int decoders)
    {
        // decoders 0: the fused shape, each worker decoding and running its own images.
        var detector = _fixture.Detector(model);
        var options = new FaceDetectionOptions { Tile = tile };
        var images = new[] { "zidane.jpg", "linzaer_1.jpg", "gorilla.png", "sample.jpg", "zidane.jpg", "linzaer_13.jpg" }.Select(Image).ToArray();
        var outcomes = RunAll(detector, options, images, parallel: 2, decoders: decoders);

        Assert.Equal(Enumerable.Range(0, images.Length).Select(i => (long)i), outcomes.Select(o => o.Item.Index).OrderBy(i => i));
        foreach (var outcome in outcomes)
        {
            Assert.Null(outcome.Error);
            var expected = detector.Detect(outcome.Item.Path, options);
            var actual = outcome.Result!;
            Assert.Equal(expected.FaceCount, actual.FaceCount);
            Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));
            for (var i = 0; i < expected.FaceCount; i++)
            {
                Assert.Equal(expected.Faces[i].Confidence, actual.Faces[i].Confidence);
                Assert.Equal(expected.Faces[i].BoundingBox.X, actual.Faces[i].BoundingBox.X);
                Assert.Equal(expected.Faces[i].BoundingBox.Width, actual.Faces[i].BoundingBox.Width);
            }
        }
    }

    [Theory]
    [InlineData(Scrfd500)]
    [InlineData(UltraRfb)]
    public void Tiles_shared_among_threads_give_exactly_the_faces_of_one_thread(string model)
    {
        // One intra-op thread leaves every core to the tiles; the fixture's detector (ONNX Runtime's default threads) runs them on one.
        using var shared = new FaceDetector(Model(model), new FaceDetectorSettings { IntraOpThreads = 1 });
        var serial = _fixture.Detector(model);
        Assert.Equal(Environment.ProcessorCount, shared.TileWorkers);
        Assert.Equal(1, serial.TileWorkers);
        var options = new FaceDetectionOptions { Tile = true };
        foreach (var image in new[] { "linzaer_17.jpg", "src_meeting.jpg" }.Select(Image))
        {
            var expected = serial.Detect(image, options);
            var actual = shared.Detect(image, options);
            Assert.Equal(expected.FaceCount, actual.FaceCount);
            for (var i = 0; i < expected.FaceCount; i++)
            {
                Assert.Equal(expected.Faces[i].Confidence, actual.Faces[i].Confidence);
                Assert.Equal(expected.Faces[i].BoundingBox.X, actual.Faces[i].BoundingBox.X);
                Assert.Equal(expected.Faces[i].BoundingBox.Y, actual.Faces[i].BoundingBox.Y);
                Assert.Equal(expected.Faces[i].BoundingBox.Width, actual.Faces[i].BoundingBox.Width);
            }
        }
    }

    [Fact]
    public void Failures_are_outcomes_naming_the_file_and_the_rest_goes_on()
    {
        var bad = Path.Combine(Path.GetTempPath(), "modelcache-pipeline-" + Guid.NewGuid().ToString("N") + ".jpg");
        File.WriteAllText(bad, "not an image");
        try
        {
            var outcomes = RunAll(_fixture.Detector(UltraSlim), new FaceDetectionOptions(), new[] { Image("portrait.jpg"), bad, Image("zidane.jpg") }, parallel: 1, decoders: 1);
            var failed = Assert.Single(outcomes, o => o.Error is not null);
            Assert.Equal(bad, failed.Item.Path);
            var error = Assert.IsType<ModelCacheException>(failed.Error);
            Assert.Equal("ImageDecodeFailed", error.ErrorId);
            Assert.Equal(2, outcomes.Count(o => o.Result is not null));
        }
        finally
        {
            File.Delete(bad);
        }
    }

    [Fact]
    public void Dispose_stops_the_workers_promptly_with_work_still_queued()
    {
        var detector = _fixture.Detector(Scrfd25);
        var pipeline = new FaceDetectionPipeline(detector, new FaceDetectionOptions(), 1, 1);
        for (var i = 0; i < pipeline.MaxInFlight / 2; i++)
        {
            pipeline.Add(new FaceDetectionWorkItem(i, Image("linzaer_1.jpg")));
        }

        var clock = Stopwatch.StartNew();
        pipeline.Dispose();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "Dispose took " + clock.Elapsed);
    }

    [Fact]
    public void Take_is_cancellable()
    {
        using var pipeline = new FaceDetectionPipeline(_fixture.Detector(UltraSlim), new FaceDetectionOptions(), 1, 1);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        Assert.ThrowsAny<OperationCanceledException>(() => pipeline.Take(out _, cancel.Token));
    }

    private static List<FaceDetectionOutcome> RunAll(FaceDetector detector, FaceDetectionOptions options, string[] images, int parallel, int decoders)
    {
        var outcomes = new List<FaceDetectionOutcome>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var pipeline = new FaceDetectionPipeline(detector, options, parallel, decoders);
        for (var i = 0; i < images.Length; i++)
        {
            while (i - outcomes.Count >= pipeline.MaxInFlight && pipeline.Take(out var o, timeout.Token))
            {
                outcomes.Add(o!);
            }

            pipeline.Add(new FaceDetectionWorkItem(i, images[i], 0), timeout.Token);
        }

        pipeline.CompleteAdding();
        while (pipeline.Take(out var rest, timeout.Token))
        {
            outcomes.Add(rest!);
        }

        return outcomes;
    }
}
