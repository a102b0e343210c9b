using System;
using System.Globalization;

namespace ModelCache.Inference;

/// <summary>One detected face, in the original, orientation-corrected pixels of its image.</summary>
public sealed class Face
{
    public Face(string path, FaceBox boundingBox, float confidence, FaceLandmarks? landmarks)
    {
        Path = path;
        BoundingBox = boundingBox;
        Confidence = confidence;
        Landmarks = landmarks;
    }

    /// <summary>The image the face was found in.</summary>
    public string Path { get; }

    public FaceBox BoundingBox { get; }

    /// <summary>The model's score for this face, 0 to 1.</summary>
    public float Confidence { get; }

    /// <summary>Five facial points, or null when the model gives none (UltraFace).</summary>
    public FaceLandmarks? Landmarks { get; }

    public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0} {1:0.000}", BoundingBox, Confidence);
}

/// <summary>An axis-aligned box: top-left corner and size, in pixels.</summary>
public sealed class FaceBox
{
    public FaceBox(float x, float y, float width, float height)
    {
        X = x;
        Y = y;
        Width = width;
        Height = height;
    }

    public float X { get; }

    public float Y { get; }

    public float Width { get; }

    public float Height { get; }

    public float Right => X + Width;

    public float Bottom => Y + Height;

    public bool Contains(FacePoint point) => point.X >= X && point.X <= Right && point.Y >= Y && point.Y <= Bottom;

    /// <summary>Intersection over union with <paramref name="other"/>, 0 to 1.</summary>
    public float IoU(FaceBox other)
    {
        var w = Math.Min(Right, other.Right) - Math.Max(X, other.X);
        var h = Math.Min(Bottom, other.Bottom) - Math.Max(Y, other.Y);
        if (w <= 0 || h <= 0)
        {
            return 0;
        }

        var intersection = w * h;
        return intersection / ((Width * Height) + (other.Width * other.Height) - intersection);
    }

    public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{{X={0:0.#}, Y={1:0.#}, Width={2:0.#}, Height={3:0.#}}}", X, Y, Width, Height);
}

/// <summary>A point in image pixels.</summary>
public sealed class FacePoint
{
    public FacePoint(float x, float y)
    {
        X = x;
        Y = y;
    }

    public float X { get; }

    public float Y { get; }

    public override string ToString() => string.Format(CultureInfo.InvariantCulture, "({0:0.#}, {1:0.#})", X, Y);
}

/// <summary>
/// The five points uniface reports, named as seen in the image: LeftEye is the eye on the image's
/// left. A model that does not give a point leaves it null (BlazeFace has no mouth corners).
/// </summary>
public sealed class FaceLandmarks
{
    public FaceLandmarks(FacePoint? leftEye, FacePoint? rightEye, FacePoint? nose, FacePoint? leftMouth, FacePoint? rightMouth)
    {
        LeftEye = leftEye;
        RightEye = rightEye;
        Nose = nose;
        LeftMouth = leftMouth;
        RightMouth = rightMouth;
    }

    public FacePoint? LeftEye { get; }

    public FacePoint? RightEye { get; }

    public FacePoint? Nose { get; }

    public FacePoint? LeftMouth { get; }

    public FacePoint? RightMouth { get; }

    /// <summary>The points that are present, in the order LeftEye, RightEye, Nose, LeftMouth, RightMouth.</summary>
    public FacePoint[] ToArray()
    {
        var points = new[] { LeftEye, RightEye, Nose, LeftMouth, RightMouth };
        return Array.FindAll(points, p => p is not null)!;
    }

    public override string ToString() => string.Join(" ", Array.ConvertAll(ToArray(), p => p.ToString()));
}
