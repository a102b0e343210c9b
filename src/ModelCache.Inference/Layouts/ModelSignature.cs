using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.ML.OnnxRuntime;

namespace ModelCache.Inference.Layouts;

/// <summary>One input or output of a model as its metadata declares it; -1 marks a dynamic dimension.</summary>
internal sealed class TensorSignature
{
    public TensorSignature(string name, string elementType, int[] dimensions)
    {
        Name = name;
        ElementType = elementType;
        Dimensions = dimensions;
    }

    public string Name { get; }

    public string ElementType { get; }

    public int[] Dimensions { get; }

    public int Rank => Dimensions.Length;

    public bool IsFloat => ElementType == "Single";

    public override string ToString() =>
        string.Format(CultureInfo.InvariantCulture, "{0} {1}[{2}]", Name, ElementType == "Single" ? "float" : ElementType,
            string.Join(",", Dimensions.Select(d => d < 0 ? "?" : d.ToString(CultureInfo.InvariantCulture))));
}

/// <summary>A model's inputs and outputs, read from its own metadata; family detection works on this alone.</summary>
internal sealed class ModelSignature
{
    public ModelSignature(IReadOnlyList<TensorSignature> inputs, IReadOnlyList<TensorSignature> outputs)
    {
        Inputs = inputs;
        Outputs = outputs;
    }

    public IReadOnlyList<TensorSignature> Inputs { get; }

    public IReadOnlyList<TensorSignature> Outputs { get; }

    public static ModelSignature FromSession(InferenceSession session) => new(
        session.InputMetadata.Select(p => new TensorSignature(p.Key, p.Value.ElementType.Name, p.Value.Dimensions)).ToList(),
        session.OutputMetadata.Select(p => new TensorSignature(p.Key, p.Value.ElementType.Name, p.Value.Dimensions)).ToList());

    /// <summary>
    /// The image input: the first float rank-4 input with batch 1 (or dynamic) and 3 channels first or
    /// last. Some exports (UltraFace) also list their weights as inputs; those are never fed.
    /// </summary>
    public int FindImageInput()
    {
        for (var i = 0; i < Inputs.Count; i++)
        {
            var d = Inputs[i].Dimensions;
            if (Inputs[i].IsFloat && d.Length == 4 && d[0] is 1 or -1 && (d[1] == 3 || d[3] == 3))
            {
                return i;
            }
        }

        return -1;
    }

    public override string ToString() =>
        "inputs: " + string.Join(", ", Inputs.Take(3).Select(t => t.ToString())) + (Inputs.Count > 3 ? $" (+{Inputs.Count - 3} weight inputs)" : string.Empty) +
        "; outputs: " + string.Join(", ", Outputs.Select(t => t.ToString()));
}

/// <summary>Model outputs copied out of ONNX Runtime, in the model's output order, with their actual shapes.</summary>
internal sealed class ModelOutputs
{
    public ModelOutputs(float[][] data, int[][] shapes)
    {
        Data = data;
        Shapes = shapes;
    }

    public float[][] Data { get; }

    public int[][] Shapes { get; }

    /// <summary>Rows of an output shaped [1,N,C] or [N,C].</summary>
    public int Rows(int index)
    {
        var s = Shapes[index];
        return s.Length >= 2 ? s[s.Length - 2] : throw new InvalidOperationException("Output " + index + " has rank " + s.Length);
    }
}

/// <summary>A box before NMS, in network-input pixels, with 0, 3 or 5 landmark points.</summary>
internal struct Candidate
{
    public float X1;
    public float Y1;
    public float X2;
    public float Y2;
    public float Score;

    /// <summary>x,y pairs; null when the model has no landmarks. Missing points hold NaN.</summary>
    public float[]? Landmarks;

    public Candidate(float x1, float y1, float x2, float y2, float score, float[]? landmarks)
    {
        X1 = x1;
        Y1 = y1;
        X2 = x2;
        Y2 = y2;
        Score = score;
        Landmarks = landmarks;
    }

    public readonly float Area => Math.Max(0, X2 - X1) * Math.Max(0, Y2 - Y1);
}
