using System;
using System.Linq;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;
using ModelCache.Inference.Layouts;
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
}
