using System;
using System.IO;
using ModelCache.Errors;
using ModelCache.IO;
using SkiaSharp;

namespace ModelCache.Inference;

/// <summary>
/// An image decoded for detection: upright (EXIF orientation applied), 8-bit RGBA with alpha forced
/// opaque, possibly at a reduced scale (JPEG scaled decode) with the original size kept for mapping
/// coordinates back.
/// </summary>
internal sealed class LoadedImage : IDisposable
{
    public LoadedImage(SKBitmap bitmap, int width, int height, ImageDecoder decoder)
    {
        Bitmap = bitmap;
        Width = width;
        Height = height;
        Decoder = decoder;
    }

    /// <summary>Which library produced the pixels.</summary>
    public ImageDecoder Decoder { get; }

    /// <summary>The upright pixels, Rgba8888 or Bgra8888, opaque.</summary>
    public SKBitmap Bitmap { get; }

    /// <summary>Upright width of the image at full resolution.</summary>
    public int Width { get; }

    /// <summary>Upright height of the image at full resolution.</summary>
    public int Height { get; }

    /// <summary>Full-resolution pixels per decoded pixel, horizontally.</summary>
    public float ScaleX => (float)Width / Bitmap.Width;

    /// <summary>Full-resolution pixels per decoded pixel, vertically.</summary>
    public float ScaleY => (float)Height / Bitmap.Height;

    public void Dispose() => Bitmap.Dispose();
}

/// <summary>The library that decoded an image's pixels.</summary>
internal enum ImageDecoder
{
    /// <summary>SkiaSharp's codecs: every format, and every JPEG the system's libjpeg-turbo declines.</summary>
    SkiaSharp,

    /// <summary>The system's libturbojpeg (SIMD).</summary>
    LibJpegTurbo,
}

/// <summary>
/// Decodes images with SkiaSharp's codecs, and a colour JPEG's pixels with the system's SIMD libjpeg-turbo where it is
/// installed (<see cref="TurboJpeg"/>); nothing here decodes or resizes by hand.
/// </summary>
internal static class ImageLoader
{
    /// <summary>
    /// Decodes <paramref name="path"/>. <paramref name="minimumScale"/> receives the upright full size
    /// and returns the smallest scale (0–1] the caller can use; a JPEG is decoded at a DCT scale (n/8) chosen by
    /// <see cref="ScaledDecodeSize"/>, then resized bilinearly by the caller. The size is read from the header first: an image of more than
    /// <paramref name="maxPixels"/> pixels is decoded only if it is a JPEG that a DCT scale brings
    /// under the limit while still at least the scale the caller needs (<paramref name="minimumScale"/>;
    /// without one, only when <paramref name="shrinkToLimit"/> says any scale will do), else refused
    /// with <c>ImageTooLarge</c> before any pixel memory is allocated. Failures are
    /// <see cref="ModelCacheException"/>s naming the file.
    /// </summary>
    public static LoadedImage Load(string path, Func<int, int, float>? minimumScale = null, long maxPixels = ImageLimits.DefaultMaxPixels, bool shrinkToLimit = false)
    {
        if (!File.Exists(path))
        {
            throw new ModelCacheException("ImageNotFound", ModelCacheErrorKind.NotFound, $"The image '{path}' does not exist.", "Check the path.");
        }

        ImageLimits.CheckLimit(maxPixels);
        using var encoded = EncodedImage.Open(path);
        var codec = encoded.Codec;
        var origin = codec.EncodedOrigin;
        var transposed = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        var raw = codec.Info.Size;
        int width = transposed ? raw.Height : raw.Width, height = transposed ? raw.Width : raw.Height;
        if (width <= 0 || height <= 0)
        {
            throw EncodedImage.DecodeFailed(path, "it has no pixels");
        }

        var size = raw;
        var isJpeg = codec.EncodedFormat == SKEncodedImageFormat.Jpeg;
        var wanted = minimumScale?.Invoke(width, height);
        if (wanted is { } small && isJpeg)
        {
            size = ScaledDecodeSize(codec, raw, small);
        }

        if (Pixels(size) > maxPixels)
        {
            // Over the limit: the largest JPEG DCT scale under it, if that still gives the caller what it needs.
            var need = wanted ?? (shrinkToLimit ? 0f : 1f);
            var found = false;
            for (var eighths = 7; isJpeg && eighths >= 1 && !found; eighths--)
            {
                var scaled = codec.GetScaledDimensions(eighths / 8f);
                if (Pixels(scaled) <= maxPixels && scaled.Width >= Math.Ceiling(raw.Width * need) && scaled.Height >= Math.Ceiling(raw.Height * need))
                {
                    size = scaled;
                    found = true;
                }
            }

            if (!found)
            {
                throw ImageLimits.TooLarge(path, width, height, maxPixels, isJpeg && minimumScale is null && !shrinkToLimit);
            }
        }

        var target = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var bitmap = new SKBitmap(target);
        try
        {
            // Decode unpremultiplied into the opaque bitmap's memory, then force alpha to 255: the
            // colour of a transparent pixel is kept as is ("alpha dropped"), never darkened.
            var opaque = codec.Info.AlphaType == SKAlphaType.Opaque;
            var decoder = ImageDecoder.SkiaSharp;
            if (encoded.Jpeg is not null && TurboJpeg.TryDecode(encoded.Jpeg, encoded.Length, raw.Width, raw.Height, bitmap))
            {
                decoder = ImageDecoder.LibJpegTurbo;
            }
            else
            {
                var decodeInfo = opaque ? target : target.WithAlphaType(SKAlphaType.Unpremul);
                var result = codec.GetPixels(decodeInfo, bitmap.GetPixels());
                if (result != SKCodecResult.Success)
                {
                    throw EncodedImage.DecodeFailed(path, result == SKCodecResult.IncompleteInput ? "the file is truncated" : "the decoder reported " + result);
                }
            }

            if (!opaque)
            {
                ForceOpaque(bitmap);
            }

            if (origin != SKEncodedOrigin.TopLeft)
            {
                var upright = Orient(bitmap, origin);
                bitmap.Dispose();
                bitmap = upright;
            }

            return new LoadedImage(bitmap, width, height, decoder);
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    private static long Pixels(SKSizeI size) => (long)size.Width * size.Height;

    /// <summary>
    /// The size to decode a JPEG at for a caller that resizes it by <paramref name="scale"/>: libjpeg scales by n/8 inside
    /// the IDCT, far cheaper than decoding every pixel and resizing them away, but its output is smoother than a bilinear
    /// resize from full resolution (what the detectors were trained on, cv2 INTER_LINEAR), and the crowd counts of the
    /// fixture tests drop when the last step is a small one. So (measured on the fixture tests, issue 22): a picture at
    /// least 4× the input is decoded at the 1/8 or 2/8 scale that covers it; a smaller one at the smallest n/8 that is
    /// still at least twice the input, so the bilinear step still halves it or more (at 1×–2× it found 3–4 faces fewer
    /// in 70–90-face crowds); full size when no such scale exists.
    /// </summary>
    private static SKSizeI ScaledDecodeSize(SKCodec codec, SKSizeI raw, float scale)
    {
        var margin = scale <= 0.25f ? 1f : 2f;
        var largest = scale <= 0.25f ? 2 : 7;
        for (var eighths = 1; eighths <= largest && scale * margin < 1f; eighths++)
        {
            var scaled = codec.GetScaledDimensions(eighths / 8f);
            if (scaled.Width >= Math.Ceiling(raw.Width * scale * margin) && scaled.Height >= Math.Ceiling(raw.Height * scale * margin))
            {
                return scaled;
            }
        }

        return raw;
    }

    private static void ForceOpaque(SKBitmap bitmap)
    {
        var pixels = bitmap.GetPixelSpan();
        unsafe
        {
            fixed (byte* start = pixels)
            {
                var rows = bitmap.Height;
                var rowBytes = bitmap.RowBytes;
                for (var y = 0; y < rows; y++)
                {
                    var p = start + ((long)y * rowBytes) + 3;
                    for (var x = 0; x < bitmap.Width; x++, p += 4)
                    {
                        *p = 255;
                    }
                }
            }
        }
    }

    /// <summary>Applies an EXIF orientation by moving whole pixels (exact, no resampling).</summary>
    internal static SKBitmap Orient(SKBitmap source, SKEncodedOrigin origin)
    {
        int w = source.Width, h = source.Height;
        var transposed = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int ow = transposed ? h : w, oh = transposed ? w : h;
        var result = new SKBitmap(new SKImageInfo(ow, oh, source.ColorType, source.AlphaType));
        unsafe
        {
            var src = (uint*)source.GetPixels();
            var dst = (uint*)result.GetPixels();
            int srcStride = source.RowBytes / 4, dstStride = result.RowBytes / 4;
            for (var y = 0; y < h; y++)
            {
                for (var x = 0; x < w; x++)
                {
                    // (x, y) in the stored image → (u, v) upright.
                    int u, v;
                    switch (origin)
                    {
                        case SKEncodedOrigin.TopRight: u = w - 1 - x; v = y; break;
                        case SKEncodedOrigin.BottomRight: u = w - 1 - x; v = h - 1 - y; break;
                        case SKEncodedOrigin.BottomLeft: u = x; v = h - 1 - y; break;
                        case SKEncodedOrigin.LeftTop: u = y; v = x; break;
                        case SKEncodedOrigin.RightTop: u = h - 1 - y; v = x; break;
                        case SKEncodedOrigin.RightBottom: u = h - 1 - y; v = w - 1 - x; break;
                        case SKEncodedOrigin.LeftBottom: u = y; v = w - 1 - x; break;
                        default: u = x; v = y; break;
                    }

                    dst[(v * dstStride) + u] = src[(y * srcStride) + x];
                }
            }
        }

        return result;
    }
}
