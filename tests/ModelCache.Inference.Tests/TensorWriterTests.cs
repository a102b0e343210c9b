using System;
using System.IO;
using System.Linq;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;
using ModelCache.Inference.Layouts;
using ModelCache.Testing;
using static ModelCache.Inference.Tests.DetectorFixture;

namespace ModelCache.Inference.Tests;

/// <summary>
/// The fused resize-and-normalise pass must feed the model what SkiaSharp's bilinear ScalePixels
/// followed by <see cref="TensorWriter.Write"/> fed it before: every value within one 8-bit level.
/// </summary>
public class TensorWriterTests
{
    private readonly ITestOutputHelper _output;

    public TensorWriterTests(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData("zidane.jpg", 640, 640, "top-left")]
    [InlineData("portrait.jpg", 640, 640, "centre")]
    [InlineData("linzaer_1.jpg", 320, 240, "stretch")]
    [InlineData("gorilla.png", 640, 640, "centre")]
    [InlineData("sample.jpg", 256, 256, "centre")]
    public void WriteScaled_matches_SkiaSharp_bilinear_within_one_level(string file, int inputWidth, int inputHeight, string mode)
    {
        var resize = mode switch { "top-left" => ResizeMode.LetterboxTopLeft, "centre" => ResizeMode.LetterboxCenter, _ => ResizeMode.Stretch };
        using var image = ImageLoader.Load(Image(file));
        var source = image.Bitmap;
        var p = new Preprocessing(TensorLayout.Nchw, bgr: false, new[] { 0f, 0f, 0f }, new[] { 1f, 1f, 1f }, resize, 114);
        var r = Math.Min((double)inputWidth / source.Width, (double)inputHeight / source.Height);
        int w = resize == ResizeMode.Stretch ? inputWidth : (int)(source.Width * r), h = resize == ResizeMode.Stretch ? inputHeight : (int)(source.Height * r);
        int left = resize == ResizeMode.LetterboxCenter ? (inputWidth - w) / 2 : 0, top = resize == ResizeMode.LetterboxCenter ? (inputHeight - h) / 2 : 0;

        var expected = new float[3 * inputWidth * inputHeight];
        using (var resized = new SKBitmap(new SKImageInfo(w, h, source.ColorType, SKAlphaType.Opaque)))
        {
            Assert.True(source.ScalePixels(resized, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None)));
            TensorWriter.Write(resized, left, top, inputWidth, inputHeight, p, expected);
        }

        var actual = new float[expected.Length];
        TensorWriter.WriteScaled(source, new SKRectI(0, 0, source.Width, source.Height), w, h, left, top, inputWidth, inputHeight, p, actual);

        var diffs = expected.Zip(actual, (e, a) => Math.Abs(e - a)).ToArray();
        _output.WriteLine($"{file}: max difference {diffs.Max()} levels, {diffs.Count(d => d > 0) * 100.0 / diffs.Length:0.00}% of values differ");
        Assert.True(diffs.Max() <= 1f, $"max difference {diffs.Max()} levels");
    }

    /// <summary>
    /// The vectorised pass must give exactly the values of the per-pixel formula it replaced (kept below as the
    /// reference), so no detection moves: every fixture photo, both layouts, both channel orders, letterbox
    /// offsets, up- and downscales and tiles that start inside the image.
    /// </summary>
    [Fact]
    public void WriteScaled_gives_exactly_the_per_pixel_formula_on_every_fixture_photo()
    {
        var checkedValues = 0L;
        foreach (var file in Directory.GetFiles(TestPaths.FixtureImages).OrderBy(f => f, StringComparer.Ordinal))
        {
            using var image = ImageLoader.Load(file);
            var source = image.Bitmap;
            var cases = new (TensorLayout Layout, bool Bgr, int InputWidth, int InputHeight, SKRectI Region)[]
            {
                (TensorLayout.Nchw, true, 640, 640, new SKRectI(0, 0, source.Width, source.Height)),
                (TensorLayout.Nchw, false, 320, 240, new SKRectI(0, 0, source.Width, source.Height)),
                (TensorLayout.Nhwc, false, 128, 128, new SKRectI(0, 0, source.Width, source.Height)),
                (TensorLayout.Nhwc, true, 1280, 1280, new SKRectI(0, 0, source.Width, source.Height)),
                (TensorLayout.Nchw, false, 640, 640, new SKRectI(source.Width / 3, source.Height / 4, source.Width - 1, source.Height - 3)),
                (TensorLayout.Nchw, true, 256, 256, new SKRectI(1, 2, Math.Max(3, source.Width / 2), Math.Max(4, source.Height / 2))),
            };
            foreach (var (layout, bgr, inputWidth, inputHeight, region) in cases)
            {
                var p = new Preprocessing(layout, bgr, new[] { 104f, 117f, 123f }, new[] { 58.4f, 57.1f, 57.4f }, ResizeMode.LetterboxCenter, 114);
                var r = Math.Min((double)inputWidth / region.Width, (double)inputHeight / region.Height);
                int w = Math.Max(1, Math.Min(inputWidth, (int)Math.Round(region.Width * r))), h = Math.Max(1, Math.Min(inputHeight, (int)Math.Round(region.Height * r)));
                int left = (inputWidth - w) / 2, top = (inputHeight - h) / 2;
                var expected = new float[3 * inputWidth * inputHeight];
                var actual = new float[expected.Length];
                ReferenceWriteScaled(source, region, w, h, left, top, inputWidth, inputHeight, p, expected);
                TensorWriter.WriteScaled(source, region, w, h, left, top, inputWidth, inputHeight, p, actual);
                for (var i = 0; i < expected.Length; i++)
                {
                    if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                    {
                        Assert.Fail($"{Path.GetFileName(file)} {layout} bgr={bgr} {inputWidth}x{inputHeight} region {region}: value {i} is {actual[i]}, expected {expected[i]}");
                    }
                }

                checkedValues += expected.Length;
            }
        }

        _output.WriteLine($"{checkedValues} values identical");
        Assert.True(checkedValues > 0);
    }

    /// <summary>The per-pixel formula WriteScaled computed before it was vectorised (issue 22), the specification of its values.</summary>
    private static void ReferenceWriteScaled(SKBitmap source, SKRectI region, int resizedWidth, int resizedHeight, int left, int top, int inputWidth, int inputHeight, Preprocessing p, float[] buffer)
    {
        var lut = new float[768];
        for (var c = 0; c < 3; c++)
        {
            for (var v = 0; v < 256; v++)
            {
                lut[(256 * c) + v] = (v - p.Mean[c]) / p.Std[c];
            }
        }

        var plane = inputWidth * inputHeight;
        var bgraSource = source.ColorType == SKColorType.Bgra8888;
        int rIndex = bgraSource ? 2 : 0, bIndex = bgraSource ? 0 : 2;
        int c0 = p.Bgr ? bIndex : rIndex, c1 = 1, c2 = p.Bgr ? rIndex : bIndex;
        var width = Math.Min(resizedWidth, inputWidth - left);
        var height = Math.Min(resizedHeight, inputHeight - top);
        int regionWidth = region.Width, regionHeight = region.Height;
        (int, int, float) Taps(double u, int size) => u <= 0 ? (0, 0, 0f) : (int)u >= size - 1 ? (size - 1, size - 1, 0f) : ((int)u, (int)u + 1, (float)(u - (int)u));
        var pixels = source.GetPixelSpan().ToArray();
        int Sample(int row0, int row1, int a, int b, int c, float wx, float wy)
        {
            float t = pixels[row0 + a + c] + ((pixels[row0 + b + c] - pixels[row0 + a + c]) * wx);
            float bottom = pixels[row1 + a + c] + ((pixels[row1 + b + c] - pixels[row1 + a + c]) * wx);
            return (int)(t + ((bottom - t) * wy) + 0.5f);
        }

        double scaleX = (double)regionWidth / resizedWidth, scaleY = (double)regionHeight / resizedHeight;
        if (!(left == 0 && top == 0 && resizedWidth >= inputWidth && resizedHeight >= inputHeight))
        {
            for (var i = 0; i < plane; i++)
            {
                for (var c = 0; c < 3; c++)
                {
                    buffer[p.Layout == TensorLayout.Nhwc ? (3 * i) + c : (c * plane) + i] = lut[(256 * c) + p.PadValue];
                }
            }
        }

        for (var y = 0; y < height; y++)
        {
            var (j0, j1, fy) = Taps(((y + 0.5) * scaleY) - 0.5, regionHeight);
            int row0 = (region.Top + j0) * source.RowBytes, row1 = (region.Top + j1) * source.RowBytes;
            var o = ((top + y) * inputWidth) + left;
            for (var x = 0; x < width; x++, o++)
            {
                var (i0, i1, wx) = Taps(((x + 0.5) * scaleX) - 0.5, regionWidth);
                int a = (region.Left + i0) * 4, b = (region.Left + i1) * 4;
                int v0 = Sample(row0, row1, a, b, c0, wx, fy), v1 = Sample(row0, row1, a, b, c1, wx, fy), v2 = Sample(row0, row1, a, b, c2, wx, fy);
                if (p.Layout == TensorLayout.Nhwc)
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
}
