using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;

namespace ModelCache.Inference.Layouts;

/// <summary>
/// MediaPipe BlazeFace (front 128 and back 256, keijiro's Barracuda exports): NHWC input, RGB in
/// [-1,1]; regressors [1,N,16] and score logits [1,N,1] split in two groups (2 anchors per cell on
/// the finer grid, 6 on the coarser) over SSD anchors with fixed size 1 centred at (i+0.5)/grid.
/// Box and 6 keypoints are offsets scaled by the input size; we report eyes and nose.
/// </summary>
internal sealed class BlazeFaceLayout : FaceModelLayout
{
    private static readonly int[] AnchorsPerCell = { 2, 6 };
    private static readonly Preprocessing Rgb = new(TensorLayout.Nhwc, bgr: false, new[] { 127.5f, 127.5f, 127.5f }, new[] { 127.5f, 127.5f, 127.5f }, ResizeMode.LetterboxCenter, 0);

    /// <summary>(scores, regressors) per anchor group, finer grid first.</summary>
    private readonly (int Scores, int Boxes)[] _groups;
    private readonly ConcurrentDictionary<int, float[]> _anchors = new();

    private BlazeFaceLayout(ModelSignature signature, int input, (int, int)[] groups)
        : base(signature, input)
    {
        _groups = groups;
    }

    public override string Family => "BlazeFace";

    public override Preprocessing Preprocessing => Rgb;

    public override float DefaultConfidence => 0.5f;

    public override float DefaultNms => 0.3f;

    public override int DefaultInputSize => 128;

    public override bool HasLandmarks => true;

    public static FaceModelLayout? TryMatch(ModelSignature signature, int input, out string reason)
    {
        reason = string.Empty;
        var outputs = signature.Outputs;
        if (IsNchw(signature, input))
        {
            reason = "input is not NHWC";
            return null;
        }

        if (outputs.Count != 4 || !outputs.All(o => o.IsFloat && o.Rank == 3))
        {
            reason = $"needs 4 outputs [1,N,C], the model has {outputs.Count}";
            return null;
        }

        List<int> Of(int channels) => Enumerable.Range(0, 4).Where(i => Last(outputs[i]) == channels).OrderByDescending(i => RowsOf(outputs[i])).ToList();
        var scores = Of(1);
        var boxes = Of(16);
        if (scores.Count != 2 || boxes.Count != 2 || RowsOf(outputs[scores[0]]) != RowsOf(outputs[boxes[0]]) || RowsOf(outputs[scores[1]]) != RowsOf(outputs[boxes[1]]))
        {
            reason = "needs two score [1,N,1] and two regressor [1,N,16] outputs of matching sizes";
            return null;
        }

        for (var g = 0; g < 2; g++)
        {
            var rows = RowsOf(outputs[scores[g]]);
            var grid = (int)Math.Round(Math.Sqrt(rows / (double)AnchorsPerCell[g]));
            if (grid * grid * AnchorsPerCell[g] != rows)
            {
                reason = $"{rows} anchors are not a square grid with {AnchorsPerCell[g]} anchors per cell";
                return null;
            }
        }

        return new BlazeFaceLayout(signature, input, new[] { (scores[0], boxes[0]), (scores[1], boxes[1]) });
    }

    /// <summary>Anchor centres (x, y), normalised, for groups of the given row counts.</summary>
    internal static float[] Anchors(int finerRows, int coarserRows)
    {
        var anchors = new List<float>();
        var rows = new[] { finerRows, coarserRows };
        for (var g = 0; g < 2; g++)
        {
            var grid = (int)Math.Round(Math.Sqrt(rows[g] / (double)AnchorsPerCell[g]));
            for (var y = 0; y < grid; y++)
            {
                for (var x = 0; x < grid; x++)
                {
                    for (var a = 0; a < AnchorsPerCell[g]; a++)
                    {
                        anchors.Add((x + 0.5f) / grid);
                        anchors.Add((y + 0.5f) / grid);
                    }
                }
            }
        }

        return anchors.ToArray();
    }

    [MethodImpl(HotPath.Optimized)]
    public override void Decode(ModelOutputs outputs, int inputWidth, int inputHeight, float threshold, List<Candidate> into)
    {
        int finer = outputs.Rows(_groups[0].Scores), coarser = outputs.Rows(_groups[1].Scores);
        var anchors = _anchors.GetOrAdd(finer * 100000 + coarser, _ => Anchors(finer, coarser));
        var offset = 0;
        foreach (var (scoreIndex, boxIndex) in _groups)
        {
            var scores = outputs.Data[scoreIndex];
            var boxes = outputs.Data[boxIndex];
            var count = outputs.Rows(scoreIndex);
            for (var n = 0; n < count; n++)
            {
                var score = Sigmoid(Math.Max(-100f, Math.Min(100f, scores[n])));
                if (score < threshold)
                {
                    continue;
                }

                float ax = anchors[2 * (offset + n)] * inputWidth, ay = anchors[(2 * (offset + n)) + 1] * inputHeight;
                var r = 16 * n;

                // Offsets are in input pixels (x_scale = input size, anchor size 1).
                var cx = ax + boxes[r];
                var cy = ay + boxes[r + 1];
                float w = boxes[r + 2], h = boxes[r + 3];
                var points = new float[10];
                for (var k = 0; k < 3; k++)
                {
                    points[2 * k] = ax + boxes[r + 4 + (2 * k)];
                    points[(2 * k) + 1] = ay + boxes[r + 5 + (2 * k)];
                }

                // Keypoint 3 is the mouth centre; BlazeFace has no mouth corners.
                for (var k = 6; k < 10; k++)
                {
                    points[k] = float.NaN;
                }

                into.Add(new Candidate(cx - (w / 2), cy - (h / 2), cx + (w / 2), cy + (h / 2), score, points));
            }

            offset += count;
        }
    }
}
