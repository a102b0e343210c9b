using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using ModelCache.Errors;
using ModelCache.Inference;
using ModelCache.Testing;
using SkiaSharp;

namespace ModelCache.Inference.Tests;

/// <summary>
/// The system's libjpeg-turbo decodes colour JPEGs where it is installed. It must give SkiaSharp's pixels exactly,
/// so no detection moves, and every file it does not decode cleanly must behave as it did with SkiaSharp alone.
/// </summary>
public sealed class JpegDecoderTests : IDisposable
{
    private readonly TempDirectory _temp = new("modelcache-jpeg");

    public void Dispose() => _temp.Dispose();

    private static string[] Photos => Directory.GetFiles(TestPaths.FixtureImages, "*.jpg").OrderBy(f => f, StringComparer.Ordinal).ToArray();

    [SkippableFact]
    public void Every_fixture_photo_decodes_to_the_pixels_SkiaSharp_gives_at_every_DCT_scale()
    {
        RequireLibJpegTurbo();
        var compared = 0L;
        foreach (var file in Photos)
        {
            var bytes = File.ReadAllBytes(file);
            using var codec = SKCodec.Create(new MemoryStream(bytes));
            for (var eighths = 1; eighths <= 8; eighths++)
            {
                var size = codec.GetScaledDimensions(eighths / 8f);
                using var skia = Decode(codec, size);
                using var turbo = new SKBitmap(new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
                Assert.True(TurboJpeg.TryDecode(bytes, bytes.Length, codec.Info.Width, codec.Info.Height, turbo), $"{Path.GetFileName(file)} at {eighths}/8");
                AssertSamePixels(skia, turbo, $"{Path.GetFileName(file)} at {eighths}/8");
                compared += (long)size.Width * size.Height;
            }
        }

        Assert.True(compared > 30_000_000, $"only {compared} pixels compared");
    }

    [SkippableFact]
    public void The_loader_takes_a_photo_from_libjpeg_turbo_and_a_png_from_SkiaSharp()
    {
        RequireLibJpegTurbo();
        using (var photo = ImageLoader.Load(DetectorFixture.Image("sample.jpg"), (w, h) => 0.25f))
        {
            Assert.Equal(ImageDecoder.LibJpegTurbo, photo.Decoder);
        }

        using var png = ImageLoader.Load(DetectorFixture.Image("gorilla.png"));
        Assert.Equal(ImageDecoder.SkiaSharp, png.Decoder);
    }

    [SkippableFact]
    public void A_size_that_is_not_a_DCT_scale_of_the_image_is_declined()
    {
        // TurboJPEG would decode at the largest scale that fits and leave the rest of the bitmap unwritten.
        RequireLibJpegTurbo();
        var bytes = File.ReadAllBytes(DetectorFixture.Image("sample.jpg"));
        using var codec = SKCodec.Create(new MemoryStream(bytes));
        var full = codec.Info;
        using var odd = new SKBitmap(new SKImageInfo(full.Width - 5, full.Height - 5, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Assert.False(TurboJpeg.TryDecode(bytes, bytes.Length, full.Width, full.Height, odd));

        // A header that disagrees with the size the caller read is declined too.
        using var fits = new SKBitmap(new SKImageInfo(full.Width, full.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Assert.False(TurboJpeg.TryDecode(bytes, bytes.Length, full.Width * 2, full.Height * 2, fits));
    }

    [SkippableFact]
    public void A_truncated_photo_is_declined_and_the_loader_reports_it_truncated_as_before()
    {
        RequireLibJpegTurbo();
        var bytes = File.ReadAllBytes(DetectorFixture.Image("sample.jpg"));
        var cut = bytes.Take(bytes.Length / 3).ToArray();
        using var codec = SKCodec.Create(new MemoryStream(cut));
        using var target = new SKBitmap(new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Assert.False(TurboJpeg.TryDecode(cut, cut.Length, codec.Info.Width, codec.Info.Height, target));

        var path = _temp.Combine("truncated.jpg");
        File.WriteAllBytes(path, cut);
        var ex = Assert.Throws<ModelCacheException>(() => ImageLoader.Load(path));
        Assert.Equal("ImageDecodeFailed", ex.ErrorId);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void A_photo_with_damaged_entropy_data_decodes_exactly_as_SkiaSharp_decodes_it()
    {
        // libjpeg warns on corrupt data and TurboJPEG stops on the warning; SkiaSharp then decodes what it can, as before.
        RequireLibJpegTurbo();
        var bytes = File.ReadAllBytes(DetectorFixture.Image("sample.jpg"));
        var random = new Random(22);
        for (var i = 0; i < 40; i++)
        {
            bytes[(bytes.Length / 2) + random.Next(bytes.Length / 4)] ^= 0x5A;
        }

        var path = _temp.Combine("damaged.jpg");
        File.WriteAllBytes(path, bytes);
        using var codec = SKCodec.Create(new MemoryStream(bytes));
        using var skia = new SKBitmap(new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var skiaResult = codec.GetPixels(skia.Info, skia.GetPixels());
        if (skiaResult == SKCodecResult.Success)
        {
            using var loaded = ImageLoader.Load(path);
            Assert.Equal(ImageDecoder.SkiaSharp, loaded.Decoder);
            AssertSamePixels(skia, loaded.Bitmap, "damaged.jpg");
        }
        else
        {
            Assert.Equal("ImageDecodeFailed", Assert.Throws<ModelCacheException>(() => ImageLoader.Load(path)).ErrorId);
        }
    }

    [SkippableFact]
    public void A_grayscale_jpeg_is_left_to_SkiaSharp()
    {
        RequireLibJpegTurbo();
        var path = _temp.Combine("gray.jpg");
        using (var color = SKBitmap.Decode(DetectorFixture.Image("sample.jpg")))
        using (var gray = new SKBitmap(new SKImageInfo(color.Width, color.Height, SKColorType.Gray8, SKAlphaType.Opaque)))
        {
            Assert.True(color.CopyTo(gray, SKColorType.Gray8));
            using var data = gray.Encode(SKEncodedImageFormat.Jpeg, 90);
            File.WriteAllBytes(path, data.ToArray());
        }

        using var loaded = ImageLoader.Load(path);
        Assert.Equal(ImageDecoder.SkiaSharp, loaded.Decoder);
        using var codec = SKCodec.Create(path);
        using var skia = Decode(codec, codec.Info.Size);
        AssertSamePixels(skia, loaded.Bitmap, "gray.jpg");
    }

    private static SKBitmap Decode(SKCodec codec, SKSizeI size)
    {
        var bitmap = new SKBitmap(new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Assert.Equal(SKCodecResult.Success, codec.GetPixels(bitmap.Info, bitmap.GetPixels()));
        return bitmap;
    }

    private static void AssertSamePixels(SKBitmap expected, SKBitmap actual, string what)
    {
        Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));
        for (var y = 0; y < expected.Height; y++)
        {
            var want = expected.GetPixelSpan().Slice(y * expected.RowBytes, expected.Width * 4);
            var got = actual.GetPixelSpan().Slice(y * actual.RowBytes, actual.Width * 4);
            if (!want.SequenceEqual(got))
            {
                var x = 0;
                while (want[x] == got[x])
                {
                    x++;
                }

                Assert.Fail($"{what}: row {y} differs first at byte {x} ({want[x]} expected, {got[x]} decoded)");
            }
        }
    }

    private static void RequireLibJpegTurbo()
    {
        if (!TurboJpeg.IsAvailable)
        {
            // On Linux CI it must be there (.ci/run installs it): a silent fallback would hide a slower decode.
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true" && RuntimeInformation.IsOSPlatform(OSPlatform.Linux), "libturbojpeg is not installed (apt-get install libturbojpeg0).");
            Skip.If(true, "libturbojpeg is not installed: SkiaSharp decodes every JPEG.");
        }
    }
}
