namespace ModelCache.Inference;

/// <summary>
/// Per-call detection settings. A null threshold means the model family's uniface default
/// (see <see cref="FaceDetector.Defaults"/>).
/// </summary>
public sealed class FaceDetectionOptions
{
    /// <summary>Minimum score of a face; null for the family default.</summary>
    public float? ConfidenceThreshold { get; set; }

    /// <summary>IoU above which the weaker of two overlapping boxes is dropped; null for the family default.</summary>
    public float? NmsThreshold { get; set; }

    /// <summary>Keep only the N largest faces; 0 or null keeps all.</summary>
    public int? MaxFaces { get; set; }

    /// <summary>
    /// Square network input side for models with a dynamic input size (default 640). A model with a
    /// fixed input accepts only its own size; use <see cref="Tile"/> for large photos instead.
    /// </summary>
    public int? InputSize { get; set; }

    /// <summary>
    /// Also run the model on overlapping windows at full resolution (plus one pass on the whole
    /// image) and merge everything with one global NMS, so small faces in large photos are found.
    /// </summary>
    public bool Tile { get; set; }

    /// <summary>Fraction of a tile shared with its neighbour (0 to 0.5).</summary>
    public float TileOverlap { get; set; } = 0.25f;

    /// <summary>Name reported in <see cref="FaceDetectionResult.Model"/>; null uses the detector's name.</summary>
    public string? ModelName { get; set; }

    /// <summary>Images larger than this many pixels (read from the header) are refused, or decoded scaled down where the format allows; null is <see cref="ImageLimits.DefaultMaxPixels"/>.</summary>
    public long? MaxPixels { get; set; }
}
