using System;
using System.Collections.Generic;
using ModelCache.Errors;

namespace ModelCache.Inference.Layouts;

/// <summary>Finds the detector family whose tensor layout a model has.</summary>
internal static class FaceModelLayouts
{
    private delegate FaceModelLayout? Matcher(ModelSignature signature, int input, out string reason);

    private static readonly (string Name, Matcher Match)[] Matchers =
    {
        ("RetinaFace (loc [N,4], conf [N,2], landmarks [N,10]; priors 8/16/32)", RetinaFaceLayout.TryMatch),
        ("SCRFD (scores/boxes[/keypoints] for strides 8/16/32)", ScrfdLayout.TryMatch),
        ("YOLOv5-Face (three raw heads [1,3,H,W,16] or decoded [1,N,16])", YoloV5FaceLayout.TryMatch),
        ("YOLOv8-Face (three DFL maps [1,65|80,H,W])", YoloV8FaceLayout.TryMatch),
        ("BlazeFace (NHWC input; regressors [1,N,16] and scores [1,N,1] on SSD anchors)", BlazeFaceLayout.TryMatch),
        ("UltraFace (scores [N,2] and corner boxes [N,4] on its own priors)", UltraFaceLayout.TryMatch),
    };

    /// <summary>The layout of the model, or an UnsupportedModelLayout error listing what was tried.</summary>
    public static FaceModelLayout Detect(ModelSignature signature, string modelPath)
    {
        var input = signature.FindImageInput();
        var tried = new List<string>();
        if (input >= 0)
        {
            foreach (var (name, match) in Matchers)
            {
                var layout = match(signature, input, out var reason);
                if (layout is not null)
                {
                    return layout;
                }

                tried.Add($"{name}: {reason}");
            }
        }
        else
        {
            tried.Add("every family needs one float image input [1,3,H,W] or [1,H,W,3]; none was found");
        }

        throw new ModelCacheException("UnsupportedModelLayout", ModelCacheErrorKind.InvalidData,
            $"'{modelPath}' is not a face detector of a known layout ({signature}). Layouts tried:" +
            string.Concat(tried.ConvertAll(t => Environment.NewLine + " - " + t)),
            "Use a RetinaFace, SCRFD, YOLOv5-Face, YOLOv8-Face, BlazeFace or UltraFace ONNX export, for example one from Get-ModelCatalog.");
    }
}
