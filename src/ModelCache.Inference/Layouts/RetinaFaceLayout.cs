using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;

namespace ModelCache.Inference.Layouts;

/// <summary>
/// RetinaFace (biubug6 / uniface exports): loc [N,4], conf [N,2], landmarks [N,10] over priors
/// with steps 8/16/32, min sizes (16,32) (64,128) (256,512), variances 0.1/0.2. Priors are
/// generated for the actual input size; conf may be softmaxed or raw logits (checked per run).
/// </summary>
internal sealed class RetinaFaceLayout : FaceModelLayout
{
    internal static readonly int[] Steps = { 8, 16, 32 };
    internal static readonly int[][] MinSizes = { new[] { 16, 32 }, new[] { 64, 128 }, new[] { 256, 512 } };
    private const float CenterVariance = 0.1f;
    private const float SizeVariance = 0.2f;

    private static readonly Preprocessing Bgr = new(TensorLayout.Nchw, bgr: true, new[] { 104f, 117f, 123f }, new[] { 1f, 1f, 1f }, ResizeMode.LetterboxTopLeft, 0);

    private readonly int _loc;
    private readonly int _conf;
    private readonly int _landmarks;
    private readonly ConcurrentDictionary<(int, int), float[]> _priors = new();

    private RetinaFaceLayout(ModelSignature signature, int input, int loc, int conf, int landmarks)
        : base(signature, input)
    {
        _loc = loc;
        _conf = conf;
        _landmarks = landmarks;
    }

    public override string Family => "RetinaFace";

    public override Preprocessing Preprocessing => Bgr;

    public override float DefaultConfidence => 0.5f;

    public override float DefaultNms => 0.4f;

    public override bool HasLandmarks => true;

    public static FaceModelLayout? TryMatch(ModelSignature signature, int input, out string reason)
    {
        reason = string.Empty;
        if (!IsNchw(signature, input))
        {
            reason = "input is not NCHW";
            return null;
        }

        var outputs = signature.Outputs;
        if (outputs.Count != 3 || !outputs.All(IsRowMajor))
        {
            reason = $"needs 3 outputs [1,N,C], the model has {outputs.Count}";
            return null;
        }

        int Find(int channels) => outputs.ToList().FindIndex(o => Last(o) == channels);
        int loc = Find(4), conf = Find(2), landmarks = Find(10);
        if (loc < 0 || conf < 0 || landmarks < 0)
        {
            reason = "needs outputs with 4, 2 and 10 channels";
            return null;
        }

        var rows = new[] { RowsOf(outputs[loc]), RowsOf(outputs[conf]), RowsOf(outputs[landmarks]) };
        if (rows.Where(r => r > 0).Distinct().Count() > 1)
        {
            reason = "the three outputs have different row counts";
            return null;
        }

        var layout = new RetinaFaceLayout(signature, input, loc, conf, landmarks);
        if (layout.IsFixedSize && rows[0] > 0 && rows[0] != PriorCount(layout.FixedWidth, layout.FixedHeight))
        {
            reason = $"{rows[0]} rows do not match the {PriorCount(layout.FixedWidth, layout.FixedHeight)} priors of a {layout.FixedWidth}×{layout.FixedHeight} input";
            return null;
        }

        return layout;
    }

    public static int PriorCount(int width, int height) =>
        Steps.Select((s, k) => Ceil(height, s) * Ceil(width, s) * MinSizes[k].Length).Sum();

    /// <summary>Priors as normalised (cx, cy, w, h), in the order the network emits them.</summary>
    public static float[] Priors(int width, int height)
    {
        var priors = new float[PriorCount(width, height) * 4];
        var p = 0;
        for (var k = 0; k < Steps.Length; k++)
        {
            var step = Steps[k];
            int rows = Ceil(height, step), cols = Ceil(width, step);
            for (var i = 0; i < rows; i++)
            {
                for (var j = 0; j < cols; j++)
                {
                    foreach (var size in MinSizes[k])
                    {
                        priors[p++] = (j + 0.5f) * step / width;
                        priors[p++] = (i + 0.5f) * step / height;
                        priors[p++] = (float)size / width;
                        priors[p++] = (float)size / height;
                    }
                }
            }
        }

        return priors;
    }

    [MethodImpl(HotPath.Optimized)]
    public override void Decode(ModelOutputs outputs, int inputWidth, int inputHeight, float threshold, List<Candidate> into)
    {
        var priors = _priors.GetOrAdd((inputWidth, inputHeight), key => Priors(key.Item1, key.Item2));
        var count = priors.Length / 4;
        if (outputs.Rows(_loc) != count)
        {
            throw new InvalidOperationException($"RetinaFace output has {outputs.Rows(_loc)} rows; {count} priors expected for {inputWidth}×{inputHeight}.");
        }

        var loc = outputs.Data[_loc];
        var conf = outputs.Data[_conf];
        var lm = outputs.Data[_landmarks];
        var softmaxed = LooksSoftmaxed(conf, count);
        for (var n = 0; n < count; n++)
        {
            var score = softmaxed ? conf[(2 * n) + 1] : Softmax1(conf[2 * n], conf[(2 * n) + 1]);
            if (score < threshold)
            {
                continue;
            }

            float pcx = priors[4 * n] * inputWidth, pcy = priors[(4 * n) + 1] * inputHeight;
            float pw = priors[(4 * n) + 2] * inputWidth, ph = priors[(4 * n) + 3] * inputHeight;
            var cx = pcx + (loc[4 * n] * CenterVariance * pw);
            var cy = pcy + (loc[(4 * n) + 1] * CenterVariance * ph);
            var w = pw * (float)Math.Exp(loc[(4 * n) + 2] * SizeVariance);
            var h = ph * (float)Math.Exp(loc[(4 * n) + 3] * SizeVariance);
            var points = new float[10];
            for (var k = 0; k < 5; k++)
            {
                points[2 * k] = pcx + (lm[(10 * n) + (2 * k)] * CenterVariance * pw);
                points[(2 * k) + 1] = pcy + (lm[(10 * n) + (2 * k) + 1] * CenterVariance * ph);
            }

            into.Add(new Candidate(cx - (w / 2), cy - (h / 2), cx + (w / 2), cy + (h / 2), score, points));
        }
    }

    /// <summary>True when every sampled row is a probability pair (biubug6 export); false for raw logits.</summary>
    internal static bool LooksSoftmaxed(float[] conf, int rows)
    {
        var step = Math.Max(1, rows / 256);
        for (var n = 0; n < rows; n += step)
        {
            float a = conf[2 * n], b = conf[(2 * n) + 1];
            if (a < 0 || b < 0 || a > 1 || b > 1 || Math.Abs(a + b - 1) > 1e-3f)
            {
                return false;
            }
        }

        return true;
    }

    private static float Softmax1(float background, float face) => 1f / (1f + (float)Math.Exp(background - face));

    private static int Ceil(int value, int step) => (value + step - 1) / step;
}
