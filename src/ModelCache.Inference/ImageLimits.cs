using System;
using System.Globalization;
using System.IO;
using ModelCache.Errors;
using SkiaSharp;

namespace ModelCache.Inference;

/// <summary>An image's size and format as its header tells, read without decoding any pixel.</summary>
public sealed class ImageHeader
{
    internal ImageHeader(string path, int width, int height, string format)
    {
        Path = path;
        Width = width;
        Height = height;
        Format = format;
    }

    public string Path { get; }

    /// <summary>Upright width (EXIF orientation applied), in pixels.</summary>
    public int Width { get; }

    /// <summary>Upright height (EXIF orientation applied), in pixels.</summary>
    public int Height { get; }

    /// <summary>Width × height.</summary>
    public long Pixels => (long)Width * Height;

    /// <summary>The encoded format: Jpeg, Png, Webp, Gif, Bmp, …</summary>
    public string Format { get; }

    /// <summary>True for JPEG, which can be decoded scaled down (1/8 … 7/8) without the full-size pixels in memory.</summary>
    public bool CanDecodeScaled => string.Equals(Format, nameof(SKEncodedImageFormat.Jpeg), StringComparison.Ordinal);
}

/// <summary>
/// Limits that keep decoding bounded whatever the input: a "pixel bomb" (a small file whose header
/// claims a huge size, e.g. a 500 KB PNG of 23000×23000) is refused from its header, before any pixel
/// memory is allocated.
/// </summary>
public static class ImageLimits
{
    /// <summary>
    /// Default pixel limit: 100 megapixels. Decoded as 8-bit RGBA that is 400 MB for one image; with the
    /// default 4 images in parallel, 1.6 GB, and up to 3.2 GB at the moment an EXIF-rotated image is
    /// turned upright (a second copy), so detection fits in 2–4 GB of RAM. It covers every common camera
    /// (a 61 MP full-frame, a 50 MP phone); the 102 MP medium-format JPEGs are still detected, decoded
    /// at 7/8 scale (without -Tile). Raise it (-MaxPixels) for larger non-JPEG images on a larger machine.
    /// </summary>
    public const long DefaultMaxPixels = 100_000_000;

    /// <summary>
    /// Reads <paramref name="path"/>'s header (format, upright size) without decoding it.
    /// </summary>
    /// <exception cref="ModelCacheException"><c>ImageNotFound</c>, <c>ImageReadFailed</c> or <c>ImageDecodeFailed</c>.</exception>
    public static ImageHeader ReadHeader(string path)
    {
        if (!File.Exists(path))
        {
            throw new ModelCacheException("ImageNotFound", ModelCacheErrorKind.NotFound, $"The image '{path}' does not exist.", "Check the path.");
        }

        using var codec = EncodedImage.OpenCodec(path);
        var transposed = codec.EncodedOrigin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        var raw = codec.Info.Size;
        if (raw.Width <= 0 || raw.Height <= 0)
        {
            throw EncodedImage.DecodeFailed(path, "it has no pixels");
        }

        return new ImageHeader(path, transposed ? raw.Height : raw.Width, transposed ? raw.Width : raw.Height, codec.EncodedFormat.ToString());
    }

    /// <summary>
    /// Reads the header and refuses an image over <paramref name="maxPixels"/> with <c>ImageTooLarge</c>,
    /// unless it is a JPEG and <paramref name="allowScaledDecode"/> (the caller will decode it scaled
    /// down, as face detection without tiling does). Cheap: a cmdlet can call it per image before queueing
    /// the image for decoding.
    /// </summary>
    public static ImageHeader Check(string path, long maxPixels = DefaultMaxPixels, bool allowScaledDecode = true)
    {
        CheckLimit(maxPixels);
        var header = ReadHeader(path);
        if (header.Pixels > maxPixels && !(allowScaledDecode && header.CanDecodeScaled && header.Pixels / 64 <= maxPixels))
        {
            throw TooLarge(path, header.Width, header.Height, maxPixels, header.CanDecodeScaled && !allowScaledDecode);
        }

        return header;
    }

    internal static void CheckLimit(long maxPixels)
    {
        if (maxPixels <= 0)
        {
            throw new ModelCacheException("InvalidMaxPixels", ModelCacheErrorKind.InvalidArgument,
                $"The pixel limit must be positive, not {maxPixels.ToString(CultureInfo.InvariantCulture)}.", "Pass a positive -MaxPixels.");
        }
    }

    internal static ModelCacheException TooLarge(string path, int width, int height, long maxPixels, bool scaledWouldFit)
    {
        var pixels = (long)width * height;
        var megabytes = pixels * 4 / (1024 * 1024);
        var action = scaledWouldFit
            ? "Detect without -Tile (a JPEG is then decoded scaled down), or raise -MaxPixels if the machine has the memory."
            : "Raise -MaxPixels if the machine has the memory for it, or shrink the image first.";
        return new ModelCacheException("ImageTooLarge", ModelCacheErrorKind.InvalidData, string.Format(CultureInfo.InvariantCulture,
            "The image '{0}' is {1}×{2} pixels ({3:0.#} megapixels, {4} MB decoded), over the limit of {5:0.#} megapixels; it was not decoded.",
            path, width, height, pixels / 1e6, megabytes, maxPixels / 1e6), action);
    }
}
