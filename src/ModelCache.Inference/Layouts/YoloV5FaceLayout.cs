using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;

namespace ModelCache.Inference.Layouts;

/// <summary>
/// YOLOv5-Face. Either the raw export (three heads [1,3,H,W,16] for strides 8/16/32: sigmoid on
/// box, objectness and class, landmarks linear on the anchor grid) or the decoded export (one
/// [1,N,16]: cx, cy, w, h, obj, 10 landmark values, cls in input pixels). Score = obj × cls.
/// </summary>
internal sealed class YoloV5FaceLayout : FaceModelLayout
{
    /// <summary>Anchor (w, h) pairs per stride 8, 16, 32 (yolov5-face yolov5n-0.5.yaml).</summary>
    internal static readonly float[][] Anchors =
    {
        new[] { 4f, 5f, 8f, 10f, 13f, 16f },
        new[] { 23f, 29f, 43f, 55f, 73f, 105f },
        new[] { 146f, 217f, 231f, 300f, 335f, 433f },
    };

    private static readonly Preprocessing Rgb = new(TensorLayout.Nchw, bgr: false, new[] { 0f, 0f, 0f }, new[] { 255f, 255f, 255f }, ResizeMode.LetterboxCenter, 114);

    /// <summary>Raw heads ordered by stride 8, 16, 32; or a single decoded output.</summary>
    private readonly int[] _heads;
    private readonly bool _raw;

    private YoloV5FaceLayout(ModelSignature signature, int input, int[] heads, bool raw)
        : base(signature, input)
    {
        _heads = heads;
        _raw = raw;
    }

    public override string Family => "YOLOv5Face";

    public override Preprocessing Preprocessing => Rgb;

    public override float DefaultConfidence => 0.6f;

    public override float DefaultNms => 0.5f;

    public override bool HasLandmarks => true;

    public override string Describe() => base.Describe() + (_raw ? " raw heads" : " decoded output");

    public static FaceModelLayout? TryMatch(ModelSignature signature, int input, out string reason)
    {
        reason = string.Empty;
        var outputs = signature.Outputs;
        if (!IsNchw(signature, input))
        {
            reason = "input is not NCHW";
            return null;
        }

        if (outputs.Count == 1 && outputs[0].IsFloat && outputs[0].Rank == 3 && Last(outputs[0]) == 16)
        {
            return new YoloV5FaceLayout(signature, input, new[] { 0 }, raw: false);
        }

        if (outputs.Count == 3 && outputs.All(o => o.IsFloat && o.Rank == 5 && o.Dimensions[1] == 3 && Last(o) == 16))
        {
            var heads = Enumerable.Range(0, 3).OrderByDescending(i => outputs[i].Dimensions[2]).ToArray();
            return new YoloV5FaceLayout(signature, input, heads, raw: true);
        }

        reason = "needs one output [1,N,16] or three outputs [1,3,H,W,16]";
        return null;
    }

    [MethodImpl(HotPath.Optimized)]
    public override void Decode(ModelOutputs outputs, int inputWidth, int inputHeight, float threshold, List<Candidate> into)
    {
        if (!_raw)
        {
            DecodeFlat(outputs.Data[_heads[0]], outputs.Rows(_heads[0]), threshold, into);
            return;
        }

        for (var s = 0; s < 3; s++)
        {
            var shape = outputs.Shapes[_heads[s]];
            int rows = shape[2], cols = shape[3];
            var stride = (float)inputHeight / rows;
            var data = outputs.Data[_heads[s]];
            for (var a = 0; a < 3; a++)
            {
                float aw = Anchors[s][2 * a], ah = Anchors[s][(2 * a) + 1];
                for (var y = 0; y < rows; y++)
                {
                    for (var x = 0; x < cols; x++)
                    {
                        var o = (((a * rows) + y) * cols + x) * 16;
                        var objectness = data[o + 4];
                        if (objectness < -4.5f)
                        {
                            continue; // sigmoid < 0.011: cannot reach any sensible threshold
                        }

                        var score = Sigmoid(objectness) * Sigmoid(data[o + 15]);
                        if (score < threshold)
                        {
                            continue;
                        }

                        var cx = ((Sigmoid(data[o]) * 2) - 0.5f + x) * stride;
                        var cy = ((Sigmoid(data[o + 1]) * 2) - 0.5f + y) * stride;
                        var w = Square(Sigmoid(data[o + 2]) * 2) * aw;
                        var h = Square(Sigmoid(data[o + 3]) * 2) * ah;
                        var points = new float[10];
                        for (var k = 0; k < 5; k++)
                        {
                            points[2 * k] = (data[o + 5 + (2 * k)] * aw) + (x * stride);
                            points[(2 * k) + 1] = (data[o + 6 + (2 * k)] * ah) + (y * stride);
                        }

                        into.Add(new Candidate(cx - (w / 2), cy - (h / 2), cx + (w / 2), cy + (h / 2), score, points));
                    }
                }
            }
        }
    }

    [MethodImpl(HotPath.Optimized)]
    private static void DecodeFlat(float[] data, int count, float threshold, List<Candidate> into)
    {
        for (var n = 0; n < count; n++)
        {
            var o = 16 * n;
            var score = data[o + 4] * data[o + 15];
            if (score < threshold)
            {
                continue;
            }

            float cx = data[o], cy = data[o + 1], w = data[o + 2], h = data[o + 3];
            var points = new float[10];
            System.Array.Copy(data, o + 5, points, 0, 10);
            into.Add(new Candidate(cx - (w / 2), cy - (h / 2), cx + (w / 2), cy + (h / 2), score, points));
        }
    }

    private static float Square(float x) => x * x;
}
