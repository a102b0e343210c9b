using System;
using System.Collections.Generic;
using System.IO;
using ModelCache.Inference;
using ModelCache.Testing;

namespace ModelCache.Inference.Tests;

/// <summary>The fixture models (../shared/fixtures), loaded once per test run through one pool.</summary>
public sealed class DetectorFixture : IDisposable
{
    public const string RetinaFace = "retinaface_mnet025_biubug6.onnx";
    public const string Scrfd25 = "scrfd_2.5g_kps.onnx";
    public const string Scrfd500 = "scrfd_500m_kps.onnx";
    public const string YoloV5 = "yolov5n-0.5-face.onnx";
    public const string YoloV8 = "yolov8-lite-t-face.onnx";
    public const string BlazeFront = "face_detection_front_128x128_barracuda.onnx";
    public const string BlazeBack = "face_detection_back_256x256_barracuda.onnx";
    public const string UltraRfb = "version-RFB-320.onnx";
    public const string UltraSlim = "version-slim-320.onnx";

    public static readonly string[] AllModels = { RetinaFace, Scrfd25, Scrfd500, YoloV5, YoloV8, BlazeFront, BlazeBack, UltraRfb, UltraSlim };

    private readonly Dictionary<string, FaceDetectionResult> _results = new(StringComparer.Ordinal);

    public FaceDetectorPool Pool { get; } = new();

    public static string Model(string file) => Path.Combine(TestPaths.FixtureModels, file);

    public static string Image(string file) => Path.Combine(TestPaths.FixtureImages, file);

    public FaceDetector Detector(string model) => Pool.Get(Model(model));

    /// <summary>Default-option detection of a fixture image, memoised so several tests can look at one run.</summary>
    public FaceDetectionResult Detect(string model, string image)
    {
        var key = model + "|" + image;
        lock (_results)
        {
            if (_results.TryGetValue(key, out var cached))
            {
                return cached;
            }
        }

        var result = Detector(model).Detect(Image(image));
        lock (_results)
        {
            _results[key] = result;
        }

        return result;
    }

    public void Dispose() => Pool.Dispose();
}

[CollectionDefinition(Name)]
public sealed class DetectorCollection : ICollectionFixture<DetectorFixture>
{
    public const string Name = "Face detectors";
}
