using System.Collections.Generic;

namespace ModelCache.FaceLoopBench;

internal enum Fit
{
    /// <summary>Aspect kept, image at the top-left, padding right and bottom.</summary>
    TopLeft,

    /// <summary>Aspect kept, image centred.</summary>
    Center,

    /// <summary>Stretched to the input.</summary>
    Stretch,
}

/// <summary>
/// How a family is fed, as its upstream reference code does (and as the module does: same values, so both
/// sides run the same network at the same input): value = (channel − Mean) / Std in the fed channel order.
/// DefaultSide is the input side the module uses when the model's input is dynamic.
/// </summary>
internal sealed record Prep(bool Bgr, float[] Mean, float[] Std, Fit Fit, byte Pad, int DefaultSide);

/// <summary>A fixture model and the built-in catalog name Invoke-FaceDetect -Model resolves to it.</summary>
internal sealed record FixtureModel(string File, string Name, Prep Prep);

internal static class FixtureModels
{
    private static readonly Prep RetinaFace = new(Bgr: true, new[] { 104f, 117f, 123f }, Same(1f), Fit.TopLeft, 0, 640);
    private static readonly Prep Scrfd = new(Bgr: false, Same(127.5f), Same(128f), Fit.TopLeft, 0, 640);
    private static readonly Prep Yolo = new(Bgr: false, Same(0f), Same(255f), Fit.Center, 114, 640);
    private static readonly Prep BlazeFace = new(Bgr: false, Same(127.5f), Same(127.5f), Fit.Center, 0, 128);
    private static readonly Prep UltraFace = new(Bgr: false, Same(127f), Same(128f), Fit.Stretch, 0, 320);

    public static IReadOnlyList<FixtureModel> All { get; } = new[]
    {
        new FixtureModel("retinaface_mnet025_biubug6.onnx", "RetinaFace/MNET_025_BIUBUG6", RetinaFace),
        new FixtureModel("scrfd_500m_kps.onnx", "SCRFD/SCRFD_500M_KPS_CV", Scrfd),
        new FixtureModel("scrfd_2.5g_kps.onnx", "SCRFD/SCRFD_2_5G_KPS", Scrfd),
        new FixtureModel("yolov5n-0.5-face.onnx", "YOLOv5Face/YOLOV5N_0_5", Yolo),
        new FixtureModel("yolov8-lite-t-face.onnx", "YOLOv8Face/YOLOV8_LITE_T", Yolo),
        new FixtureModel("face_detection_front_128x128_barracuda.onnx", "BlazeFace/FRONT_128", BlazeFace),
        new FixtureModel("face_detection_back_256x256_barracuda.onnx", "BlazeFace/BACK_256", BlazeFace),
        new FixtureModel("version-RFB-320.onnx", "UltraFace/RFB_320", UltraFace),
        new FixtureModel("version-slim-320.onnx", "UltraFace/SLIM_320", UltraFace),
    };

    private static float[] Same(float value) => new[] { value, value, value };
}
