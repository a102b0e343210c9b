using System;
using System.Collections.Generic;

namespace ModelCache.Inference;

/// <summary>Every face found in one image.</summary>
public sealed class FaceDetectionResult
{
    public FaceDetectionResult(string path, int width, int height, string model, IReadOnlyList<Face> faces, TimeSpan elapsed)
    {
        Path = path;
        Width = width;
        Height = height;
        Model = model;
        Faces = faces;
        Elapsed = elapsed;
    }

    public string Path { get; }

    /// <summary>Width of the image as displayed (after EXIF orientation), in pixels.</summary>
    public int Width { get; }

    /// <summary>Height of the image as displayed (after EXIF orientation), in pixels.</summary>
    public int Height { get; }

    /// <summary>The model that found the faces (catalog name, or the file name for a model given by path).</summary>
    public string Model { get; }

    /// <summary>The faces, highest confidence first.</summary>
    public IReadOnlyList<Face> Faces { get; }

    public int FaceCount => Faces.Count;

    /// <summary>Decode, preprocessing, inference and post-processing time for this image.</summary>
    public TimeSpan Elapsed { get; }
}
