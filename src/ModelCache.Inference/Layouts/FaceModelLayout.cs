using System;
using System.Collections.Generic;
using System.Globalization;

namespace ModelCache.Inference.Layouts;

/// <summary>
/// How one detector family's model is fed and decoded, bound to a particular model's inputs and
/// outputs. Instances are created only by <see cref="FaceModelLayouts.Detect"/> from the model's
/// own metadata, never from its file name. Decoding works in network-input pixels.
/// </summary>
internal abstract class FaceModelLayout
{
    protected FaceModelLayout(ModelSignature signature, int inputIndex)
    {
        Signature = signature;
        InputIndex = inputIndex;
        var dims = signature.Inputs[inputIndex].Dimensions;
        var nhwc = dims[3] == 3 && dims[1] != 3;
        FixedHeight = nhwc ? dims[1] : dims[2];
        FixedWidth = nhwc ? dims[2] : dims[3];
    }

    public ModelSignature Signature { get; }

    public int InputIndex { get; }

    public string InputName => Signature.Inputs[InputIndex].Name;

    /// <summary>Declared input width, or -1 when dynamic.</summary>
    public int FixedWidth { get; }

    /// <summary>Declared input height, or -1 when dynamic.</summary>
    public int FixedHeight { get; }

    public bool IsFixedSize => FixedWidth > 0 && FixedHeight > 0;

    /// <summary>Family name as uniface spells it (RetinaFace, SCRFD, YOLOv5Face, YOLOv8Face, BlazeFace, UltraFace).</summary>
    public abstract string Family { get; }

    public abstract Preprocessing Preprocessing { get; }

    /// <summary>uniface's default score threshold for the family (or the upstream default for families uniface lacks).</summary>
    public abstract float DefaultConfidence { get; }

    /// <summary>uniface's default NMS IoU for the family.</summary>
    public abstract float DefaultNms { get; }

    /// <summary>Input side used for dynamic models when none is asked for.</summary>
    public virtual int DefaultInputSize => 640;

    public abstract bool HasLandmarks { get; }

    /// <summary>Appends every candidate scoring at least <paramref name="threshold"/>.</summary>
    public abstract void Decode(ModelOutputs outputs, int inputWidth, int inputHeight, float threshold, List<Candidate> into);

    /// <summary>One line for -Verbose and error messages.</summary>
    public virtual string Describe() => string.Format(CultureInfo.InvariantCulture, "{0} ({1}×{2} {3})",
        Family, IsFixedSize ? FixedWidth.ToString(CultureInfo.InvariantCulture) : "?", IsFixedSize ? FixedHeight.ToString(CultureInfo.InvariantCulture) : "?", Preprocessing);

    protected static float Sigmoid(float x) => 1f / (1f + (float)Math.Exp(-x));

    /// <summary>Last dimension of an output (its channel count), or -1.</summary>
    protected static int Last(TensorSignature t) => t.Dimensions.Length == 0 ? -1 : t.Dimensions[t.Dimensions.Length - 1];

    /// <summary>Second-to-last dimension (rows) of a [1,N,C] or [N,C] output, or -1 when dynamic.</summary>
    protected static int RowsOf(TensorSignature t) => t.Dimensions.Length >= 2 ? t.Dimensions[t.Dimensions.Length - 2] : -1;

    protected static bool IsRowMajor(TensorSignature t) => t.IsFloat && (t.Rank == 3 && t.Dimensions[0] is 1 or -1 || t.Rank == 2);

    protected static bool IsNchw(ModelSignature signature, int input) => signature.Inputs[input].Dimensions[1] == 3;
}
