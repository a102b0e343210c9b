using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;

namespace ModelCache.Inference.Layouts;

/// <summary>
/// SCRFD (InsightFace exports): per stride 8/16/32 a score [N,1], box distances [N,4] and, for
/// _kps models, keypoints [N,10], with N = (H/s)·(W/s)·anchors (2 here). Outputs are matched by
/// shape, not by name or order. Anchor centre (x·s, y·s); box = centre ∓ distance·s.
/// </summary>
internal sealed class ScrfdLayout : FaceModelLayout
{
    internal static readonly int[] Strides = { 8, 16, 32 };

    // InsightFace feeds RGB with (x − 127.5) / 128 (blobFromImage(..., 1/128, mean 127.5, swapRB)).
    private static readonly Preprocessing Rgb = new(TensorLayout.Nchw, bgr: false, new[] { 127.5f, 127.5f, 127.5f }, new[] { 128f, 128f, 128f }, ResizeMode.LetterboxTopLeft, 0);

    /// <summary>Per stride (8, 16, 32): output indexes of scores, boxes and keypoints (-1 when absent).</summary>
    private readonly (int Score, int Box, int Kps)[] _heads;

    private ScrfdLayout(ModelSignature signature, int input, (int, int, int)[] heads)
        : base(signature, input)
    {
        _heads = heads;
    }

    public override string Family => "SCRFD";

    public override Preprocessing Preprocessing => Rgb;

    public override float DefaultConfidence => 0.5f;

    public override float DefaultNms => 0.4f;

    public override bool HasLandmarks => _heads[0].Kps >= 0;

    public static FaceModelLayout? TryMatch(ModelSignature signature, int input, out string reason)
    {
        reason = string.Empty;
        var outputs = signature.Outputs;
        if (!IsNchw(signature, input) || outputs.Count is not (6 or 9) || !outputs.All(IsRowMajor))
        {
            reason = $"needs an NCHW input and 6 or 9 outputs [N,C]; the model has {outputs.Count} outputs";
            return null;
        }

        List<int> Of(int channels) => Enumerable.Range(0, outputs.Count).Where(i => Last(outputs[i]) == channels)
            .OrderByDescending(i => RowsOf(outputs[i])).ToList();
        var scores = Of(1);
        var boxes = Of(4);
        var kps = Of(10);
        if (scores.Count != 3 || boxes.Count != 3 || kps.Count is not (0 or 3))
        {
            reason = "needs 3 score [N,1], 3 box [N,4] and 0 or 3 keypoint [N,10] outputs";
            return null;
        }

        var heads = new (int, int, int)[3];
        for (var s = 0; s < 3; s++)
        {
            var rows = RowsOf(outputs[scores[s]]);
            if (RowsOf(outputs[boxes[s]]) != rows || (kps.Count == 3 && RowsOf(outputs[kps[s]]) != rows))
            {
                reason = "score, box and keypoint outputs of one stride have different row counts";
                return null;
            }

            heads[s] = (scores[s], boxes[s], kps.Count == 3 ? kps[s] : -1);
        }

        var layout = new ScrfdLayout(signature, input, heads);
        if (layout.IsFixedSize)
        {
            for (var s = 0; s < 3; s++)
            {
                var cells = layout.FixedHeight / Strides[s] * (layout.FixedWidth / Strides[s]);
                var rows = RowsOf(outputs[heads[s].Item1]);
                if (rows > 0 && rows % cells != 0)
                {
                    reason = $"{rows} rows do not fit stride {Strides[s]} of a {layout.FixedWidth}×{layout.FixedHeight} input";
                    return null;
                }
            }
        }

        return layout;
    }

    [MethodImpl(HotPath.Optimized)]
    public override void Decode(ModelOutputs outputs, int inputWidth, int inputHeight, float threshold, List<Candidate> into)
    {
        for (var s = 0; s < Strides.Length; s++)
        {
            var stride = Strides[s];
            var (scoreIndex, boxIndex, kpsIndex) = _heads[s];
            int rows = inputHeight / stride, cols = inputWidth / stride;
            var count = outputs.Rows(scoreIndex);
            var anchors = count / (rows * cols);
            if (anchors < 1 || anchors * rows * cols != count)
            {
                throw new InvalidOperationException($"SCRFD stride {stride}: {count} rows for a {cols}×{rows} grid.");
            }

            var scores = outputs.Data[scoreIndex];
            var boxes = outputs.Data[boxIndex];
            var kps = kpsIndex >= 0 ? outputs.Data[kpsIndex] : null;
            var logits = !InUnitRange(scores);
            for (var n = 0; n < count; n++)
            {
                var score = logits ? Sigmoid(scores[n]) : scores[n];
                if (score < threshold)
                {
                    continue;
                }

                var cell = n / anchors;
                float cx = cell % cols * stride, cy = cell / cols * stride;
                var b = 4 * n;
                float[]? points = null;
                if (kps is not null)
                {
                    points = new float[10];
                    for (var k = 0; k < 10; k += 2)
                    {
                        points[k] = cx + (kps[(10 * n) + k] * stride);
                        points[k + 1] = cy + (kps[(10 * n) + k + 1] * stride);
                    }
                }

                into.Add(new Candidate(cx - (boxes[b] * stride), cy - (boxes[b + 1] * stride), cx + (boxes[b + 2] * stride), cy + (boxes[b + 3] * stride), score, points));
            }
        }
    }

    private static bool InUnitRange(float[] values)
    {
        var step = Math.Max(1, values.Length / 512);
        for (var i = 0; i < values.Length; i += step)
        {
            if (values[i] < 0 || values[i] > 1)
            {
                return false;
            }
        }

        return true;
    }
}
