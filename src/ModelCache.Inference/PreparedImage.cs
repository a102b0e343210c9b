using System;

namespace ModelCache.Inference;

/// <summary>
/// An image decoded and written into its detector's input tensor, waiting for inference. Holds a
/// pooled tensor buffer (returned on dispose) and, only when tiling, the decoded pixels.
/// </summary>
internal sealed class PreparedImage : IDisposable
{
    public PreparedImage(FaceDetector detector, string path, FaceDetectionOptions options, int width, int height, FaceDetector.TensorBuffers buffers, FaceDetector.RegionGeometry geometry, LoadedImage? image, TimeSpan decodeTime)
    {
        Detector = detector;
        Path = path;
        Options = options;
        Width = width;
        Height = height;
        Buffers = buffers;
        Geometry = geometry;
        Image = image;
        DecodeTime = decodeTime;
    }

    public FaceDetector Detector { get; }

    public string Path { get; }

    public FaceDetectionOptions Options { get; }

    /// <summary>Upright full-resolution width.</summary>
    public int Width { get; }

    /// <summary>Upright full-resolution height.</summary>
    public int Height { get; }

    public FaceDetector.TensorBuffers? Buffers { get; private set; }

    public FaceDetector.RegionGeometry Geometry { get; }

    /// <summary>The decoded pixels, kept only for tiling.</summary>
    public LoadedImage? Image { get; private set; }

    /// <summary>Decode, resize and tensor-writing time.</summary>
    public TimeSpan DecodeTime { get; }

    public void Dispose()
    {
        Image?.Dispose();
        Image = null;
        if (Buffers is { } buffers)
        {
            Buffers = null;
            Detector.Return(buffers);
        }
    }
}
