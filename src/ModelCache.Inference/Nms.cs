using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using ModelCache.Inference.Layouts;

namespace ModelCache.Inference;

/// <summary>Greedy non-maximum suppression and uniface's max-faces rule.</summary>
internal static class Nms
{
    /// <summary>Pre-NMS cap (uniface keeps the top 5000).</summary>
    public const int MaxCandidates = 5000;

    /// <summary>Keeps the best-scoring box of every group overlapping by more than <paramref name="iouThreshold"/>; result is sorted by score.</summary>
    [MethodImpl(HotPath.Optimized)]
    public static List<Candidate> Apply(List<Candidate> candidates, float iouThreshold)
    {
        candidates.Sort((a, b) => b.Score.CompareTo(a.Score));
        if (candidates.Count > MaxCandidates)
        {
            candidates.RemoveRange(MaxCandidates, candidates.Count - MaxCandidates);
        }

        var kept = new List<Candidate>();
        var suppressed = new bool[candidates.Count];
        for (var i = 0; i < candidates.Count; i++)
        {
            if (suppressed[i])
            {
                continue;
            }

            var a = candidates[i];
            kept.Add(a);
            for (var j = i + 1; j < candidates.Count; j++)
            {
                if (!suppressed[j] && IoU(a, candidates[j]) > iouThreshold)
                {
                    suppressed[j] = true;
                }
            }
        }

        return kept;
    }

    /// <summary>uniface's max_num: the N largest faces, then back in score order.</summary>
    public static List<Candidate> Largest(List<Candidate> faces, int maxFaces)
    {
        if (maxFaces <= 0 || faces.Count <= maxFaces)
        {
            return faces;
        }

        var bySize = new List<Candidate>(faces);
        bySize.Sort((a, b) => b.Area.CompareTo(a.Area));
        bySize.RemoveRange(maxFaces, bySize.Count - maxFaces);
        bySize.Sort((a, b) => b.Score.CompareTo(a.Score));
        return bySize;
    }

    public static float IoU(in Candidate a, in Candidate b)
    {
        var w = Math.Min(a.X2, b.X2) - Math.Max(a.X1, b.X1);
        var h = Math.Min(a.Y2, b.Y2) - Math.Max(a.Y1, b.Y1);
        if (w <= 0 || h <= 0)
        {
            return 0;
        }

        var intersection = w * h;
        return intersection / (a.Area + b.Area - intersection);
    }
}
