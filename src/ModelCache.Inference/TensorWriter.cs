using System;
using SkiaSharp;
using ModelCache.Inference.Layouts;

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

    /// <summary>
    /// Bilinearly resizes <paramref name="region"/> of <paramref name="source"/> to
    /// <paramref name="resizedWidth"/>×<paramref name="resizedHeight"/> and writes it normalised at
    /// (<paramref name="left"/>, <paramref name="top"/>) in one pass: the same sampling as SkiaSharp's
    /// bilinear ScalePixels without mipmaps (pixel centres, edges clamped), each sample rounded to 8 bits
    /// before the lookup as the resized bitmap would hold it. For downscales up to 4×; beyond that
    /// the caller uses a mipmapped resize.
    /// </summary>
    public static void WriteScaled(SKBitmap source, SKRectI region, int resizedWidth, int resizedHeight, int left, int top, int inputWidth, int inputHeight, Preprocessing p, float[] buffer)
    {
        var lut = Lookup(p);
        var plane = inputWidth * inputHeight;
        if (!(left == 0 && top == 0 && resizedWidth >= inputWidth && resizedHeight >= inputHeight))
        {
            Fill(buffer, p, lut, plane);
        }

        var bgraSource = source.ColorType == SKColorType.Bgra8888;
        if (!bgraSource && source.ColorType != SKColorType.Rgba8888)
        {
            throw new ArgumentException("Expected Rgba8888 or Bgra8888 pixels, got " + source.ColorType, nameof(source));
        }

        int rIndex = bgraSource ? 2 : 0, bIndex = bgraSource ? 0 : 2;
        int c0 = p.Bgr ? bIndex : rIndex, c1 = 1, c2 = p.Bgr ? rIndex : bIndex;
        var width = Math.Min(resizedWidth, inputWidth - left);
        var height = Math.Min(resizedHeight, inputHeight - top);
        int regionWidth = region.Width, regionHeight = region.Height;

        // Per output column: byte offsets of the two source pixels and the weight of the right one.
        var x0 = new int[width];
        var x1 = new int[width];
        var fx = new float[width];
        var scaleX = (double)regionWidth / resizedWidth;
        for (var x = 0; x < width; x++)
        {
            var (i0, i1, f) = Taps(((x + 0.5) * scaleX) - 0.5, regionWidth);
            x0[x] = (region.Left + i0) * 4;
            x1[x] = (region.Left + i1) * 4;
            fx[x] = f;
        }

        var scaleY = (double)regionHeight / resizedHeight;
        var rowBytes = source.RowBytes;
        var pixels = source.GetPixelSpan();
        var nhwc = p.Layout == TensorLayout.Nhwc;
        for (var y = 0; y < height; y++)
        {
            var (j0, j1, fy) = Taps(((y + 0.5) * scaleY) - 0.5, regionHeight);
            var row0 = pixels.Slice((region.Top + j0) * rowBytes, rowBytes);
            var row1 = pixels.Slice((region.Top + j1) * rowBytes, rowBytes);
            var o = ((top + y) * inputWidth) + left;
            for (var x = 0; x < width; x++, o++)
            {
                int a = x0[x], b = x1[x];
                float wx = fx[x];
                var v0 = Sample(row0, row1, a, b, c0, wx, fy);
                var v1 = Sample(row0, row1, a, b, c1, wx, fy);
                var v2 = Sample(row0, row1, a, b, c2, wx, fy);
                if (nhwc)
                {
                    buffer[3 * o] = lut[v0];
                    buffer[(3 * o) + 1] = lut[256 + v1];
                    buffer[(3 * o) + 2] = lut[512 + v2];
                }
                else
                {
                    buffer[o] = lut[v0];
                    buffer[plane + o] = lut[256 + v1];
                    buffer[(2 * plane) + o] = lut[512 + v2];
                }
            }
        }
    }

    private static (int First, int Second, float Weight) Taps(double u, int size)
    {
        if (u <= 0)
        {
            return (0, 0, 0f);
        }

        var i = (int)u;
        if (i >= size - 1)
        {
            return (size - 1, size - 1, 0f);
        }

        return (i, i + 1, (float)(u - i));
    }

    private static int Sample(ReadOnlySpan<byte> row0, ReadOnlySpan<byte> row1, int a, int b, int c, float wx, float wy)
    {
        float top = row0[a + c] + ((row0[b + c] - row0[a + c]) * wx);
        float bottom = row1[a + c] + ((row1[b + c] - row1[a + c]) * wx);
        return (int)(top + ((bottom - top) * wy) + 0.5f);
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
