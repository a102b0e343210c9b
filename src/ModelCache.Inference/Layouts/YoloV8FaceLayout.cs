using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;

namespace ModelCache.Inference.Layouts;

/// <summary>
/// YOLOv8-Face: three maps [1,C,H,W] for strides 8/16/32. Channels 0–63 are a 4×16-bin DFL box
/// (softmax, expectation → l,t,r,b around the cell centre, × stride), 64 the face logit and, when
/// C = 80, 65–79 five keypoints (x, y, visibility) at (v·2 + cell)·stride.
/// </summary>
internal sealed class YoloV8FaceLayout : FaceModelLayout
{
    private const int Bins = 16;
    private static readonly Preprocessing Rgb = new(TensorLayout.Nchw, bgr: false, new[] { 0f, 0f, 0f }, new[] { 255f, 255f, 255f }, ResizeMode.LetterboxCenter, 114);

    private readonly int[] _heads;
    private readonly bool _keypoints;

    private YoloV8FaceLayout(ModelSignature signature, int input, int[] heads, bool keypoints)
        : base(signature, input)
    {
        _heads = heads;
        _keypoints = keypoints;
    }

    public override string Family => "YOLOv8Face";

    public override Preprocessing Preprocessing => Rgb;

    public override float DefaultConfidence => 0.5f;

    public override float DefaultNms => 0.45f;

    public override bool HasLandmarks => _keypoints;

    public static FaceModelLayout? TryMatch(ModelSignature signature, int input, out string reason)
    {
        reason = string.Empty;
        var outputs = signature.Outputs;
        if (!IsNchw(signature, input) || outputs.Count != 3 || !outputs.All(o => o.IsFloat && o.Rank == 4 && o.Dimensions[1] is 65 or 80))
        {
            reason = "needs an NCHW input and three outputs [1,65|80,H,W]";
            return null;
        }

        if (outputs.Select(o => o.Dimensions[1]).Distinct().Count() != 1)
        {
            reason = "the three maps have different channel counts";
            return null;
        }

        var heads = Enumerable.Range(0, 3).OrderByDescending(i => outputs[i].Dimensions[2]).ToArray();
        return new YoloV8FaceLayout(signature, input, heads, outputs[0].Dimensions[1] == 80);
    }

    [MethodImpl(HotPath.Optimized)]
    public override void Decode(ModelOutputs outputs, int inputWidth, int inputHeight, float threshold, List<Candidate> into)
    {
        // Compare logits, not probabilities, so the sigmoid runs only for cells that pass.
        var logitThreshold = threshold <= 0 ? float.NegativeInfinity : threshold >= 1 ? float.PositiveInfinity : (float)Math.Log(threshold / (1 - threshold));
        var distances = new float[4];
        foreach (var head in _heads)
        {
            var shape = outputs.Shapes[head];
            int rows = shape[2], cols = shape[3], plane = rows * cols;
            var stride = (float)inputHeight / rows;
            var data = outputs.Data[head];
            for (var cell = 0; cell < plane; cell++)
            {
                var logit = data[(64 * plane) + cell];
                if (logit < logitThreshold)
                {
                    continue;
                }

                for (var side = 0; side < 4; side++)
                {
                    distances[side] = Expectation(data, (side * Bins * plane) + cell, plane);
                }

                float x = cell % cols, y = cell / cols;
                float cx = x + 0.5f, cy = y + 0.5f;
                float[]? points = null;
                if (_keypoints)
                {
                    points = new float[10];
                    for (var k = 0; k < 5; k++)
                    {
                        points[2 * k] = ((data[((65 + (3 * k)) * plane) + cell] * 2) + x) * stride;
                        points[(2 * k) + 1] = ((data[((66 + (3 * k)) * plane) + cell] * 2) + y) * stride;
                    }
                }

                into.Add(new Candidate((cx - distances[0]) * stride, (cy - distances[1]) * stride, (cx + distances[2]) * stride, (cy + distances[3]) * stride, Sigmoid(logit), points));
            }
        }
    }

    /// <summary>Softmax over 16 bins strided by <paramref name="plane"/>, then the expected bin index.</summary>
    private static float Expectation(float[] data, int start, int plane)
    {
        var max = float.NegativeInfinity;
        for (var i = 0; i < Bins; i++)
        {
            max = Math.Max(max, data[start + (i * plane)]);
        }

        float sum = 0, weighted = 0;
        for (var i = 0; i < Bins; i++)
        {
            var e = (float)Math.Exp(data[start + (i * plane)] - max);
            sum += e;
            weighted += e * i;
        }

        return weighted / sum;
    }
}
