namespace ModelCache.Inference.Layouts;

internal enum TensorLayout
{
    /// <summary>[1,3,H,W], planar.</summary>
    Nchw,

    /// <summary>[1,H,W,3], interleaved.</summary>
    Nhwc,
}

internal enum ResizeMode
{
    /// <summary>Keep the aspect ratio; the image sits at the top-left, padding right and bottom (RetinaFace, SCRFD).</summary>
    LetterboxTopLeft,

    /// <summary>Keep the aspect ratio; the image is centred with padding on both sides (YOLO, BlazeFace).</summary>
    LetterboxCenter,

    /// <summary>Stretch to the input size (UltraFace).</summary>
    Stretch,
}

/// <summary>How a family's input tensor is built: value = (channel − Mean) / Std, in the given channel order.</summary>
internal sealed class Preprocessing
{
    public Preprocessing(TensorLayout layout, bool bgr, float[] mean, float[] std, ResizeMode resize, byte padValue)
    {
        Layout = layout;
        Bgr = bgr;
        Mean = mean;
        Std = std;
        Resize = resize;
        PadValue = padValue;
    }

    public TensorLayout Layout { get; }

    /// <summary>Feed channels as B,G,R instead of R,G,B.</summary>
    public bool Bgr { get; }

    /// <summary>Per fed channel (in fed order).</summary>
    public float[] Mean { get; }

    /// <summary>Per fed channel (in fed order).</summary>
    public float[] Std { get; }

    public ResizeMode Resize { get; }

    /// <summary>Grey level of the letterbox padding, before normalisation.</summary>
    public byte PadValue { get; }

    /// <summary>Normalisation table filled by <see cref="TensorWriter"/> on first use (a benign race).</summary>
    internal float[]? Lookup { get; set; }

    public override string ToString() =>
        $"{Layout} {(Bgr ? "BGR" : "RGB")} (x-{Mean[0]})/{Std[0]} {Resize}";
}
