using System;
using System.IO;
using System.Linq;
using ModelCache.Errors;
using ModelCache.Inference;
using ModelCache.Testing;
using SkiaSharp;
using static ModelCache.Inference.Tests.DetectorFixture;

namespace ModelCache.Inference.Tests;

/// <summary>Grayscale, alpha, progressive and EXIF-rotated inputs, made here from the fixtures, and broken files.</summary>
[Collection(DetectorCollection.Name)]
public sealed class InputVarietyTests : IDisposable
{
    private readonly DetectorFixture _fixture;
    private readonly TempDirectory _temp = new("modelcache-images");

    public InputVarietyTests(DetectorFixture fixture) => _fixture = fixture;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Grayscale_png_gives_the_same_faces()
    {
        var path = _temp.Combine("sample-gray.png");
        using (var color = SKBitmap.Decode(Image("sample.jpg")))
        using (var gray = new SKBitmap(new SKImageInfo(color.Width, color.Height, SKColorType.Gray8, SKAlphaType.Opaque)))
        {
            Assert.True(color.CopyTo(gray, SKColorType.Gray8) || Draw(color, gray));
            Encode(gray, path, SKEncodedImageFormat.Png);
        }

        using (var codec = SKCodec.Create(path))
        {
            Assert.Equal(SKColorType.Gray8, codec.Info.ColorType); // really a grayscale PNG
        }

        AssertSameFaces(_fixture.Detect(Scrfd25, "sample.jpg"), _fixture.Detector(Scrfd25).Detect(path), 0.8f);
    }

    [Fact]
    public void Png_with_alpha_is_read_with_alpha_dropped()
    {
        // Alpha 0 on the left third, 128 elsewhere; colours stay unpremultiplied, so dropping alpha gives back the photo.
        var path = _temp.Combine("sample-alpha.png");
        using (var source = SKBitmap.Decode(Image("sample.jpg")))
        using (var rgba = new SKBitmap(new SKImageInfo(source.Width, source.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul)))
        {
            for (var y = 0; y < source.Height; y++)
            {
                for (var x = 0; x < source.Width; x++)
                {
                    var c = source.GetPixel(x, y);
                    rgba.SetPixel(x, y, c.WithAlpha(x < source.Width / 3 ? (byte)0 : (byte)128));
                }
            }

            Encode(rgba, path, SKEncodedImageFormat.Png);
        }

        using (var codec = SKCodec.Create(path))
        {
            Assert.NotEqual(SKAlphaType.Opaque, codec.Info.AlphaType);
        }

        AssertSameFaces(_fixture.Detect(Scrfd25, "sample.jpg"), _fixture.Detector(Scrfd25).Detect(path), 0.9f);
    }

    [Fact]
    public void Fixture_png_with_alpha_decodes()
    {
        var result = _fixture.Detect(Scrfd25, "gorilla.png");
        Assert.Equal((527, 350), (result.Width, result.Height));
    }

    [Fact]
    public void Progressive_jpeg_decodes_and_is_detected()
    {
        Assert.True(IsProgressive(Image("src_meeting.jpg")), "src_meeting.jpg is expected to be a progressive JPEG (SOF2).");
        var result = _fixture.Detect(RetinaFace, "src_meeting.jpg");
        Assert.Equal((1280, 853, 5), (result.Width, result.Height, result.FaceCount));
    }

    /// <summary>
    /// The stored pixels are turned by SkiaSharp's canvas (independently of the loader) so that the
    /// EXIF orientation written into the file brings them back upright; boxes must come out in the
    /// upright image's coordinates.
    /// </summary>
    [Theory]
    [InlineData(6)]
    [InlineData(8)]
    [InlineData(3)]
    public void Exif_rotated_jpeg_gives_boxes_in_upright_coordinates(int orientation)
    {
        var path = _temp.Combine($"sample-exif{orientation}.jpg");
        using (var upright = SKBitmap.Decode(Image("sample.jpg")))
        {
            var transposed = orientation is 6 or 8;
            using var stored = new SKBitmap(transposed ? upright.Height : upright.Width, transposed ? upright.Width : upright.Height);
            using (var canvas = new SKCanvas(stored))
            {
                switch (orientation)
                {
                    case 6: // display = stored turned 90° clockwise, so store it turned 90° counter-clockwise
                        canvas.Translate(0, upright.Width);
                        canvas.RotateDegrees(-90);
                        break;
                    case 8: // display = stored turned 90° counter-clockwise
                        canvas.Translate(upright.Height, 0);
                        canvas.RotateDegrees(90);
                        break;
                    default: // 3: 180°
                        canvas.Translate(upright.Width, upright.Height);
                        canvas.RotateDegrees(180);
                        break;
                }

                using var image = SKImage.FromBitmap(upright);
                canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Nearest));
            }

            using var data = stored.Encode(SKEncodedImageFormat.Jpeg, 95);
            File.WriteAllBytes(path, WithExifOrientation(data.ToArray(), orientation));
        }

        using (var codec = SKCodec.Create(path))
        {
            Assert.Equal(orientation switch { 6 => SKEncodedOrigin.RightTop, 8 => SKEncodedOrigin.LeftBottom, _ => SKEncodedOrigin.BottomRight }, codec.EncodedOrigin);
        }

        var rotated = _fixture.Detector(Scrfd25).Detect(path);
        Assert.Equal((1024, 768), (rotated.Width, rotated.Height));
        AssertSameFaces(_fixture.Detect(Scrfd25, "sample.jpg"), rotated, 0.8f);
        Assert.All(rotated.Faces, f => Assert.True(f.Landmarks!.LeftEye!.Y < f.Landmarks.Nose!.Y, "eyes above the nose: the image is upright"));
    }

    [Fact]
    public void Corrupt_file_is_an_ImageDecodeFailed_error_naming_it()
    {
        var path = _temp.Combine("corrupt.jpg");
        File.WriteAllBytes(path, Enumerable.Range(0, 4096).Select(i => (byte)(i * 31)).ToArray());
        var ex = Assert.Throws<ModelCacheException>(() => _fixture.Detector(Scrfd25).Detect(path));
        Assert.Equal("ImageDecodeFailed", ex.ErrorId);
        Assert.Equal(ModelCacheErrorKind.InvalidData, ex.Kind);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_jpeg_is_an_ImageDecodeFailed_error()
    {
        var path = _temp.Combine("truncated.jpg");
        var bytes = File.ReadAllBytes(Image("sample.jpg"));
        File.WriteAllBytes(path, bytes.Take(bytes.Length / 3).ToArray());
        var ex = Assert.Throws<ModelCacheException>(() => _fixture.Detector(Scrfd25).Detect(path));
        Assert.Equal("ImageDecodeFailed", ex.ErrorId);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_is_an_ImageNotFound_error()
    {
        var ex = Assert.Throws<ModelCacheException>(() => _fixture.Detector(Scrfd25).Detect(_temp.Combine("nope.jpg")));
        Assert.Equal("ImageNotFound", ex.ErrorId);
    }

    internal static void AssertSameFaces(FaceDetectionResult expected, FaceDetectionResult actual, float minIoU)
    {
        Assert.Equal(expected.FaceCount, actual.FaceCount);
        foreach (var face in expected.Faces)
        {
            var best = actual.Faces.Max(f => f.BoundingBox.IoU(face.BoundingBox));
            Assert.True(best >= minIoU, $"No face in {actual.Path} matches {face.BoundingBox} (best IoU {best:0.00}).");
        }
    }

    /// <summary>Inserts an APP1 Exif segment holding only Orientation right after the JPEG's SOI marker.</summary>
    internal static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        byte[] tiff =
        {
            (byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, // little-endian TIFF header, IFD0 at offset 8
            1, 0,                                     // one entry
            0x12, 0x01, 3, 0, 1, 0, 0, 0,             // tag 0x0112 Orientation, SHORT, count 1
            (byte)orientation, 0, 0, 0,               // value
            0, 0, 0, 0,                               // no next IFD
        };
        var payload = new byte[] { (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0 }.Concat(tiff).ToArray();
        var length = payload.Length + 2;
        var segment = new byte[] { 0xFF, 0xE1, (byte)(length >> 8), (byte)length }.Concat(payload);
        return jpeg.Take(2).Concat(segment).Concat(jpeg.Skip(2)).ToArray();
    }

    private static bool IsProgressive(string jpeg)
    {
        var b = File.ReadAllBytes(jpeg);
        for (var i = 2; i + 3 < b.Length;)
        {
            if (b[i] != 0xFF)
            {
                i++;
                continue;
            }

            if (b[i + 1] == 0xC2)
            {
                return true;
            }

            if (b[i + 1] is 0xC0 or 0xC1 or 0xDA)
            {
                return false;
            }

            i += 2 + ((b[i + 2] << 8) | b[i + 3]);
        }

        return false;
    }

    private static bool Draw(SKBitmap source, SKBitmap target)
    {
        using var canvas = new SKCanvas(target);
        using var image = SKImage.FromBitmap(source);
        canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Nearest));
        return true;
    }

    private static void Encode(SKBitmap bitmap, string path, SKEncodedImageFormat format)
    {
        using var data = bitmap.Encode(format, 100);
        File.WriteAllBytes(path, data.ToArray());
    }
}
