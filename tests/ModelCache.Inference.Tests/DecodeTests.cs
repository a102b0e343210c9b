using System;
using System.Collections.Generic;
using System.Linq;
using ModelCache.Errors;
using ModelCache.Inference;
using ModelCache.Inference.Layouts;

namespace ModelCache.Inference.Tests;

/// <summary>
/// Each family's decoder fed hand-made outputs with one active cell, against boxes worked out by
/// hand from the family's published formulas. A wrong stride, anchor order, variance or offset fails.
/// </summary>
public class DecodeTests
{
    [Fact]
    public void RetinaFace_priors_and_decode_match_hand_computation()
    {
        // 640×640: 80·80·2 + 40·40·2 + 20·20·2 = 16800 priors.
        Assert.Equal(16800, RetinaFaceLayout.PriorCount(640, 640));
        Assert.Equal(4200, RetinaFaceLayout.PriorCount(320, 320));
        var layout = Detect(In(1, 3, 640, 640), Out(1, 16800, 4), Out(1, 16800, 2), Out(1, 16800, 10));
        Assert.Equal("RetinaFace", layout.Family);

        // Stride-16 level starts after 12800 stride-8 priors; cell (row 3, col 5), second min size (128).
        var n = 12800 + (((3 * 40) + 5) * 2) + 1;
        var loc = new float[16800 * 4];
        var conf = new float[16800 * 2];
        var lm = new float[16800 * 10];
        for (var i = 0; i < 16800; i++)
        {
            conf[2 * i] = 1; // softmaxed background
        }

        conf[2 * n] = 0.1f;
        conf[(2 * n) + 1] = 0.9f;
        loc[4 * n] = 1f;     // cx += 1 · 0.1 · 128
        loc[(4 * n) + 1] = -1f;
        loc[(4 * n) + 2] = 0f; // w = 128 · e^0
        loc[(4 * n) + 3] = 5f; // h = 128 · e^(5·0.2) = 128e
        lm[10 * n] = 2f;     // first point x = cx_prior + 2 · 0.1 · 128
        var result = Decode(layout, 640, 640, 0.5f, loc, conf, lm);

        var c = Assert.Single(result);
        float pcx = (5 + 0.5f) * 16, pcy = (3 + 0.5f) * 16; // 88, 56
        float cx = pcx + 12.8f, cy = pcy - 12.8f, w = 128, h = 128 * (float)Math.E;
        AssertBox(c, cx - (w / 2), cy - (h / 2), cx + (w / 2), cy + (h / 2));
        Assert.Equal(0.9f, c.Score, 4);
        Assert.Equal(pcx + 25.6f, c.Landmarks![0], 3);
        Assert.Equal(pcy, c.Landmarks[1], 3);
    }

    [Fact]
    public void RetinaFace_raw_logits_are_softmaxed()
    {
        var layout = Detect(In(1, 3, 320, 320), Out(1, 4200, 4), Out(1, 4200, 2), Out(1, 4200, 10));
        var conf = new float[4200 * 2];
        for (var i = 0; i < 4200; i++)
        {
            conf[(2 * i) + 1] = -5f; // logits, background favoured
        }

        conf[2 * 7] = -2f;
        conf[(2 * 7) + 1] = 1f; // softmax → 1/(1+e^-3) = 0.9526
        var result = Decode(layout, 320, 320, 0.5f, new float[4200 * 4], conf, new float[4200 * 10]);
        Assert.Equal(0.9526f, Assert.Single(result).Score, 3);
    }

    [Fact]
    public void Scrfd_anchor_centres_have_no_half_cell_offset_and_two_anchors_per_cell()
    {
        var layout = Detect(In(1, 3, 640, 640),
            Out(12800, 1), Out(3200, 1), Out(800, 1), Out(12800, 4), Out(3200, 4), Out(800, 4), Out(12800, 10), Out(3200, 10), Out(800, 10));
        Assert.Equal("SCRFD", layout.Family);

        // Stride 16 (40×40 grid), cell x=7, y=2, second anchor → row (2·40 + 7)·2 + 1.
        var n = (((2 * 40) + 7) * 2) + 1;
        var outputs = Blank(new[] { 12800, 3200, 800 }, 1).Concat(Blank(new[] { 12800, 3200, 800 }, 4)).Concat(Blank(new[] { 12800, 3200, 800 }, 10)).ToArray();
        outputs[1][n] = 0.8f;
        var box = outputs[4];
        box[4 * n] = 1;     // left 1·16
        box[(4 * n) + 1] = 2; // top 2·16
        box[(4 * n) + 2] = 3;
        box[(4 * n) + 3] = 4;
        outputs[7][10 * n] = 0.5f; // kps x = 112 + 0.5·16
        var result = Decode(layout, 640, 640, 0.5f, outputs);
        var c = Assert.Single(result);
        float cx = 7 * 16, cy = 2 * 16; // 112, 32
        AssertBox(c, cx - 16, cy - 32, cx + 48, cy + 64);
        Assert.Equal(cx + 8, c.Landmarks![0], 3);
        Assert.Equal(cy, c.Landmarks[1], 3);
    }

    [Fact]
    public void YoloV5_raw_head_uses_grid_anchor_and_stride()
    {
        var layout = Detect(In(1, 3, 640, 640), Out(1, 3, 80, 80, 16), Out(1, 3, 40, 40, 16), Out(1, 3, 20, 20, 16));
        Assert.Equal("YOLOv5Face", layout.Family);
        var p3 = new float[3 * 80 * 80 * 16];
        var p4 = new float[3 * 40 * 40 * 16];
        var p5 = new float[3 * 20 * 20 * 16];
        Array.Fill(p3, -10f);
        Array.Fill(p4, -10f);
        Array.Fill(p5, -10f);

        // Stride 16, anchor 1 (43×55), cell x=10, y=4; all box logits 0 → sigmoid 0.5.
        var o = (((1 * 40) + 4) * 40 + 10) * 16;
        for (var k = 0; k < 16; k++)
        {
            p4[o + k] = 0;
        }

        p4[o + 4] = 3f;  // obj
        p4[o + 15] = 3f; // cls
        p4[o + 5] = 1f;  // landmark x = 1·43 + 10·16
        var result = Decode(layout, 640, 640, 0.5f, p3, p4, p5);
        var c = Assert.Single(result);
        float cx = (0.5f * 2 - 0.5f + 10) * 16, cy = (0.5f * 2 - 0.5f + 4) * 16; // 168, 72
        float w = 1 * 43, h = 1 * 55;                                              // (0.5·2)² · anchor
        AssertBox(c, cx - (w / 2), cy - (h / 2), cx + (w / 2), cy + (h / 2));
        var s = 1 / (1 + (float)Math.Exp(-3));
        Assert.Equal(s * s, c.Score, 4);
        Assert.Equal(43 + 160, c.Landmarks![0], 3);
        Assert.Equal(4 * 16, c.Landmarks[1], 3);
    }

    [Fact]
    public void YoloV5_decoded_output_is_read_as_centre_size_and_obj_times_cls()
    {
        var layout = Detect(In(1, 3, 640, 640), Out(1, 25200, 16));
        var data = new float[25200 * 16];
        var o = 16 * 123;
        data[o] = 100;
        data[o + 1] = 200;
        data[o + 2] = 40;
        data[o + 3] = 60;
        data[o + 4] = 0.9f;
        data[o + 15] = 0.8f;
        var c = Assert.Single(Decode(layout, 640, 640, 0.6f, data));
        AssertBox(c, 80, 170, 120, 230);
        Assert.Equal(0.72f, c.Score, 4);
    }

    [Fact]
    public void YoloV8_dfl_expectation_around_cell_centre_times_stride()
    {
        var layout = Detect(In(1, 3, 640, 640), Out(1, 80, 80, 80), Out(1, 80, 40, 40), Out(1, 80, 20, 20));
        Assert.Equal("YOLOv8Face", layout.Family);
        var maps = new[] { new float[80 * 80 * 80], new float[80 * 40 * 40], new float[80 * 20 * 20] };
        foreach (var map in maps)
        {
            Array.Fill(map, -20f); // logits: nothing passes; DFL bins irrelevant
        }

        // Stride 32 (20×20), cell x=3, y=6: one-hot bins (big logit) at 2, 5, 1, 7.
        const int plane = 400;
        var cell = (6 * 20) + 3;
        var map20 = maps[2];
        int[] bins = { 2, 5, 1, 7 };
        for (var side = 0; side < 4; side++)
        {
            map20[(((side * 16) + bins[side]) * plane) + cell] = 30f;
        }

        map20[(64 * plane) + cell] = 2f;                   // face logit → sigmoid 0.881
        map20[(65 * plane) + cell] = 0.25f;                // kp0 x = (0.25·2 + 3)·32
        map20[(66 * plane) + cell] = 0f;                   // kp0 y = (0 + 6)·32
        var c = Assert.Single(Decode(layout, 640, 640, 0.5f, maps));
        float cx = 3.5f, cy = 6.5f;
        AssertBox(c, (cx - 2) * 32, (cy - 5) * 32, (cx + 1) * 32, (cy + 7) * 32, 0.05f);
        Assert.Equal(1 / (1 + (float)Math.Exp(-2)), c.Score, 4);
        Assert.Equal(3.5f * 32, c.Landmarks![0], 3);
        Assert.Equal(6 * 32, c.Landmarks[1], 3);
    }

    [Fact]
    public void BlazeFace_anchors_and_offsets_follow_mediapipe()
    {
        var layout = Detect(In(1, 128, 128, 3), Out(1, 512, 1), Out(1, 384, 1), Out(1, 512, 16), Out(1, 384, 16));
        Assert.Equal("BlazeFace", layout.Family);
        var anchors = BlazeFaceLayout.Anchors(512, 384);
        Assert.Equal(896 * 2, anchors.Length);
        Assert.Equal((0.5f / 16, 0.5f / 16), (anchors[0], anchors[1]));           // first anchor, 16×16 grid
        Assert.Equal((anchors[0], anchors[1]), (anchors[2], anchors[3]));         // two per cell
        Assert.Equal((0.5f / 8, 0.5f / 8), (anchors[1024], anchors[1025]));       // first of the 8×8 grid (six per cell)

        var scores1 = Enumerable.Repeat(-10f, 512).ToArray();
        var scores2 = Enumerable.Repeat(-10f, 384).ToArray();
        var boxes1 = new float[512 * 16];
        var boxes2 = new float[384 * 16];

        // Coarse grid, cell x=2, y=5, anchor 4 → row (5·8 + 2)·6 + 4; centre ((2.5/8)·128, (5.5/8)·128) = (40, 88).
        var n = (((5 * 8) + 2) * 6) + 4;
        scores2[n] = 1f;
        boxes2[16 * n] = 4;        // dx
        boxes2[(16 * n) + 1] = -2; // dy
        boxes2[(16 * n) + 2] = 30; // w
        boxes2[(16 * n) + 3] = 20; // h
        boxes2[(16 * n) + 4] = -6; // right eye (image left) x offset
        var c = Assert.Single(Decode(layout, 128, 128, 0.5f, scores1, scores2, boxes1, boxes2));
        AssertBox(c, 44 - 15, 86 - 10, 44 + 15, 86 + 10);
        Assert.Equal(34, c.Landmarks![0], 3);
        Assert.True(float.IsNaN(c.Landmarks[6]));
    }

    [Fact]
    public void UltraFace_prior_count_identifies_the_layout_and_boxes_are_normalised_corners()
    {
        Assert.Equal(4420, UltraFaceLayout.PriorCount(320, 240));
        var layout = Detect(In(1, 3, 240, 320), Out(1, 4420, 2), Out(1, 4420, 4));
        Assert.Equal("UltraFace", layout.Family);
        var scores = new float[4420 * 2];
        var boxes = new float[4420 * 4];
        scores[(2 * 9) + 1] = 0.95f;
        boxes[4 * 9] = 0.25f;
        boxes[(4 * 9) + 1] = 0.5f;
        boxes[(4 * 9) + 2] = 0.5f;
        boxes[(4 * 9) + 3] = 1f;
        var c = Assert.Single(Decode(layout, 320, 240, 0.7f, scores, boxes));
        AssertBox(c, 80, 120, 160, 240);
    }

    [Fact]
    public void Unknown_layout_lists_the_layouts_tried_and_the_models_tensors()
    {
        var signature = new ModelSignature(
            new[] { new TensorSignature("pixel_values", "Single", new[] { 1, 3, 224, 224 }) },
            new[] { new TensorSignature("logits", "Single", new[] { 1, 1000 }) });
        var ex = Assert.Throws<ModelCacheException>(() => FaceModelLayouts.Detect(signature, "/models/classifier.onnx"));
        Assert.Equal("UnsupportedModelLayout", ex.ErrorId);
        Assert.Equal(ModelCacheErrorKind.InvalidData, ex.Kind);
        foreach (var family in new[] { "RetinaFace", "SCRFD", "YOLOv5-Face", "YOLOv8-Face", "BlazeFace", "UltraFace" })
        {
            Assert.Contains(family, ex.Message, StringComparison.Ordinal);
        }

        Assert.Contains("pixel_values float[1,3,224,224]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("logits float[1,1000]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/models/classifier.onnx", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Mismatched_prior_count_is_not_taken_for_RetinaFace()
    {
        var signature = new ModelSignature(new[] { In(1, 3, 640, 640) }, new[] { Out(1, 1000, 4), Out(1, 1000, 2), Out(1, 1000, 10) });
        var ex = Assert.Throws<ModelCacheException>(() => FaceModelLayouts.Detect(signature, "x.onnx"));
        Assert.Contains("16800 priors", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nms_keeps_the_best_of_overlapping_boxes()
    {
        var boxes = new List<Candidate>
        {
            new(0, 0, 100, 100, 0.8f, null),
            new(5, 5, 105, 105, 0.9f, null),   // IoU with the first ≈ 0.82
            new(200, 200, 260, 260, 0.6f, null),
            new(0, 0, 100, 30, 0.7f, null),    // inside the first, IoU 0.3
        };
        var kept = Nms.Apply(boxes, 0.4f);
        Assert.Equal(new[] { 0.9f, 0.7f, 0.6f }, kept.Select(c => c.Score));
    }

    [Fact]
    public void Tiles_cover_the_image_with_overlap_and_are_capped()
    {
        var tiles = FaceDetector.Tiles(3000, 2000, 640, 640, 0.25f).ToList();
        Assert.InRange(tiles.Count, 2, 16);
        Assert.Equal(0, tiles.Min(t => t.Left));
        Assert.Equal(3000, tiles.Max(t => t.Right));
        Assert.Equal(2000, tiles.Max(t => t.Bottom));
        Assert.Empty(FaceDetector.Tiles(600, 400, 640, 640, 0.25f));
    }

    private static TensorSignature In(params int[] dims) => new("input", "Single", dims);

    private static int _outputs;

    private static TensorSignature Out(params int[] dims) => new("out" + _outputs++, "Single", dims);

    private static FaceModelLayout Detect(TensorSignature input, params TensorSignature[] outputs) =>
        FaceModelLayouts.Detect(new ModelSignature(new[] { input }, outputs), "synthetic.onnx");

    private static IEnumerable<float[]> Blank(int[] rows, int channels) => rows.Select(r => new float[r * channels]);

    private static List<Candidate> Decode(FaceModelLayout layout, int width, int height, float threshold, params float[][] data)
    {
        var shapes = layout.Signature.Outputs.Select(o => o.Dimensions).ToArray();
        var list = new List<Candidate>();
        layout.Decode(new ModelOutputs(data, shapes), width, height, threshold, list);
        return list;
    }

    private static void AssertBox(Candidate c, float x1, float y1, float x2, float y2, float tolerance = 0.01f)
    {
        Assert.True(Math.Abs(c.X1 - x1) <= tolerance && Math.Abs(c.Y1 - y1) <= tolerance && Math.Abs(c.X2 - x2) <= tolerance && Math.Abs(c.Y2 - y2) <= tolerance,
            $"Box ({c.X1}, {c.Y1}, {c.X2}, {c.Y2}) != expected ({x1}, {y1}, {x2}, {y2}).");
    }
}
