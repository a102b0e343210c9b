using System;
using SkiaSharp;

namespace ModelCache.Inference;

/// <summary>
/// Writes pixels straight into an input tensor buffer: one lookup per channel byte, no per-pixel
/// allocation. Resizing is SkiaSharp's; this only places and normalises.
/// </summary>
internal static class TensorWriter
{
    /// <summary>
    /// Fills <paramref name="buffer"/> (a [1,3,H,W] or [1,H,W,3] tensor of <paramref name="inputWidth"/>×
    /// <paramref name="inputHeight"/>) with the padding value, then writes <paramref name="pixels"/>
    /// (Rgba8888 or Bgra8888, already at its final size) with its top-left at (<paramref name="left"/>, <paramref name="top"/>).
    /// </summary>
    public static void Write(SKBitmap pixels, int left, int top, int inputWidth, int inputHeight, Preprocessing p, float[] buffer)
    {
        var lut = Lookup(p);
        var plane = inputWidth * inputHeight;
        var covers = left == 0 && top == 0 && pixels.Width >= inputWidth && pixels.Height >= inputHeight;
        if (!covers)
        {
            Fill(buffer, p, lut, plane);
        }

        // Byte offset of each fed channel inside a source pixel.
        var bgraSource = pixels.ColorType == SKColorType.Bgra8888;
        if (!bgraSource && pixels.ColorType != SKColorType.Rgba8888)
        {
            throw new ArgumentException("Expected Rgba8888 or Bgra8888 pixels, got " + pixels.ColorType, nameof(pixels));
        }

        int rIndex = bgraSource ? 2 : 0, bIndex = bgraSource ? 0 : 2;
        int c0 = p.Bgr ? bIndex : rIndex, c1 = 1, c2 = p.Bgr ? rIndex : bIndex;
        var width = Math.Min(pixels.Width, inputWidth - left);
        var height = Math.Min(pixels.Height, inputHeight - top);
        var rowBytes = pixels.RowBytes;
        var source = pixels.GetPixelSpan();
        if (p.Layout == TensorLayout.Nchw)
        {
            for (var y = 0; y < height; y++)
            {
                var row = source.Slice(y * rowBytes, width * 4);
                var o = ((top + y) * inputWidth) + left;
                for (int x = 0, s = 0; x < width; x++, s += 4, o++)
                {
                    buffer[o] = lut[row[s + c0]];
                    buffer[plane + o] = lut[256 + row[s + c1]];
                    buffer[(2 * plane) + o] = lut[512 + row[s + c2]];
                }
            }
        }
        else
        {
            for (var y = 0; y < height; y++)
            {
                var row = source.Slice(y * rowBytes, width * 4);
                var o = (((top + y) * inputWidth) + left) * 3;
                for (int x = 0, s = 0; x < width; x++, s += 4, o += 3)
                {
                    buffer[o] = lut[row[s + c0]];
                    buffer[o + 1] = lut[256 + row[s + c1]];
                    buffer[o + 2] = lut[512 + row[s + c2]];
                }
            }
        }
    }

    private static void Fill(float[] buffer, Preprocessing p, float[] lut, int plane)
    {
        var span = buffer.AsSpan(0, plane * 3);
        if (p.Layout == TensorLayout.Nchw)
        {
            for (var c = 0; c < 3; c++)
            {
                span.Slice(c * plane, plane).Fill(lut[(256 * c) + p.PadValue]);
            }
        }
        else
        {
            float v0 = lut[p.PadValue], v1 = lut[256 + p.PadValue], v2 = lut[512 + p.PadValue];
            for (var i = 0; i < span.Length; i += 3)
            {
                span[i] = v0;
                span[i + 1] = v1;
                span[i + 2] = v2;
            }
        }
    }

    /// <summary>(v − mean) / std for every byte value of each fed channel, 3×256 entries, cached per preprocessing.</summary>
    private static float[] Lookup(Preprocessing p)
    {
        if (p.Lookup is { } cached)
        {
            return cached;
        }

        var lut = new float[768];
        for (var c = 0; c < 3; c++)
        {
            for (var v = 0; v < 256; v++)
            {
                lut[(256 * c) + v] = (v - p.Mean[c]) / p.Std[c];
            }
        }

        p.Lookup = lut;
        return lut;
    }
}
