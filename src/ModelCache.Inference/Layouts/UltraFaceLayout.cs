using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;

namespace ModelCache.Inference.Layouts;

/// <summary>
/// Ultra-Light-Fast-Generic-Face-Detector (RFB / slim): scores [1,N,2] (softmaxed) and boxes
/// [1,N,4] already decoded to normalised corners, where N is the prior count of its strides
/// 8/16/32/64 with min boxes (10,16,24) (32,48) (64,96) (128,192,256). Stretched RGB input,
/// (x − 127) / 128. No landmarks.
/// </summary>
internal sealed class UltraFaceLayout : FaceModelLayout
{
    private static readonly int[] Strides = { 8, 16, 32, 64 };
    private static readonly int[] BoxesPerCell = { 3, 2, 2, 3 };
    private static readonly Preprocessing Rgb = new(TensorLayout.Nchw, bgr: false, new[] { 127f, 127f, 127f }, new[] { 128f, 128f, 128f }, ResizeMode.Stretch, 0);

    private readonly int _scores;
    private readonly int _boxes;

    private UltraFaceLayout(ModelSignature signature, int input, int scores, int boxes)
        : base(signature, input)
    {
        _scores = scores;
        _boxes = boxes;
    }

    public override string Family => "UltraFace";

    public override Preprocessing Preprocessing => Rgb;

    /// <summary>Linzaer's demo threshold (uniface has no UltraFace).</summary>
    public override float DefaultConfidence => 0.7f;

    public override float DefaultNms => 0.3f;

    public override int DefaultInputSize => 320;

    public override bool HasLandmarks => false;

    public static FaceModelLayout? TryMatch(ModelSignature signature, int input, out string reason)
    {
        reason = string.Empty;
        var outputs = signature.Outputs;
        if (!IsNchw(signature, input) || outputs.Count != 2 || !outputs.All(IsRowMajor))
        {
            reason = "needs an NCHW input and 2 outputs [1,N,C]";
            return null;
        }

        var scores = outputs.ToList().FindIndex(o => Last(o) == 2);
        var boxes = outputs.ToList().FindIndex(o => Last(o) == 4);
        if (scores < 0 || boxes < 0 || RowsOf(outputs[scores]) != RowsOf(outputs[boxes]))
        {
            reason = "needs scores [1,N,2] and boxes [1,N,4]";
            return null;
        }

        var layout = new UltraFaceLayout(signature, input, scores, boxes);
        var rows = RowsOf(outputs[scores]);
        if (layout.IsFixedSize && rows > 0 && rows != PriorCount(layout.FixedWidth, layout.FixedHeight))
        {
            reason = $"{rows} rows do not match the {PriorCount(layout.FixedWidth, layout.FixedHeight)} UltraFace priors of a {layout.FixedWidth}×{layout.FixedHeight} input";
            return null;
        }

        return layout;
    }

    public static int PriorCount(int width, int height) =>
        Strides.Select((s, i) => (int)(Math.Ceiling(width / (double)s) * Math.Ceiling(height / (double)s)) * BoxesPerCell[i]).Sum();

    [MethodImpl(HotPath.Optimized)]
    public override void Decode(ModelOutputs outputs, int inputWidth, int inputHeight, float threshold, List<Candidate> into)
    {
        var scores = outputs.Data[_scores];
        var boxes = outputs.Data[_boxes];
        var count = outputs.Rows(_scores);
        for (var n = 0; n < count; n++)
        {
            var score = scores[(2 * n) + 1];
            if (score < threshold)
            {
                continue;
            }

            into.Add(new Candidate(boxes[4 * n] * inputWidth, boxes[(4 * n) + 1] * inputHeight, boxes[(4 * n) + 2] * inputWidth, boxes[(4 * n) + 3] * inputHeight, score, null));
        }
    }
}
