using System;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace ModelCache.Inference;

/// <summary>
/// JPEG pixels from the system's libjpeg-turbo (its TurboJPEG API, <c>libturbojpeg.so.0</c>) where it is installed.
/// The libjpeg-turbo inside SkiaSharp is built without SIMD: a fixture photo takes it 7–7.5 ms, the system's SIMD
/// build about 4.3 (issue 22). Both use the accurate integer IDCT and fancy upsampling, so the pixels are SkiaSharp's
/// bit for bit at every DCT scale (tested on every fixture). Only clean YCbCr decodes are taken: on a warning, another
/// colour space or any doubt the caller decodes with SkiaSharp, which then decides, so broken files keep one behaviour.
/// </summary>
internal static unsafe class TurboJpeg
{
    private const string Library = "libturbojpeg.so.0";

    // TJPF_RGBA: SkiaSharp's Rgba8888 byte order. TJCS_YCbCr: a colour photo.
    private const int PixelFormatRgba = 7;
    private const int ColorspaceYCbCr = 1;

    // TJFLAG_ACCURATEDCT (islow, as SkiaSharp) | TJFLAG_STOPONWARNING (a truncated or damaged file goes to SkiaSharp)
    // | TJFLAG_LIMITSCANS (a progressive file of over 500 scans goes to SkiaSharp at once, not after a long decode here).
    private const int Flags = 4096 | 8192 | 32768;

    private static readonly Lazy<bool> Loaded = new(Probe);

    /// <summary>Whether libturbojpeg could be loaded in this process.</summary>
    public static bool IsAvailable => Loaded.Value;

    /// <summary>
    /// Decodes <paramref name="length"/> bytes of <paramref name="jpeg"/> into <paramref name="target"/>, an Rgba8888
    /// bitmap whose size is the image's <paramref name="width"/>×<paramref name="height"/> scaled by some n/8.
    /// False, with the target's pixels unspecified, when this decoder did not decode it cleanly.
    /// </summary>
    public static bool TryDecode(byte[] jpeg, int length, int width, int height, SKBitmap target)
    {
        if (!IsAvailable || target.ColorType != SKColorType.Rgba8888 || !IsDctScale(width, height, target.Width, target.Height))
        {
            return false;
        }

        var handle = tjInitDecompress();
        if (handle == IntPtr.Zero)
        {
            return false;
        }

        try
        {
            fixed (byte* source = jpeg)
            {
                int headerWidth, headerHeight, subsampling, colorspace;
                if (tjDecompressHeader3(handle, source, (UIntPtr)length, &headerWidth, &headerHeight, &subsampling, &colorspace) != 0
                    || headerWidth != width || headerHeight != height || colorspace != ColorspaceYCbCr)
                {
                    return false;
                }

                return tjDecompress2(handle, source, (UIntPtr)length, (byte*)target.GetPixels(), target.Width, target.RowBytes, target.Height, PixelFormatRgba, Flags) == 0;
            }
        }
        finally
        {
            _ = tjDestroy(handle);
        }
    }

    // TurboJPEG decodes at the largest n/8 scale that fits the size it is given, so only an exact n/8 size
    // (libjpeg's ceiling division, as SkiaSharp's GetScaledDimensions) has every target pixel written.
    private static bool IsDctScale(int width, int height, int scaledWidth, int scaledHeight)
    {
        for (var eighths = 1; eighths <= 8; eighths++)
        {
            if (Scaled(width, eighths) == scaledWidth && Scaled(height, eighths) == scaledHeight)
            {
                return true;
            }
        }

        return false;

        static long Scaled(int size, int eighths) => (((long)size * eighths) + 7) / 8;
    }

    private static bool Probe()
    {
        try
        {
            var handle = tjInitDecompress();
            if (handle == IntPtr.Zero)
            {
                return false;
            }

            _ = tjDestroy(handle);
            return true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            // Not installed (or not this platform's build): SkiaSharp decodes every JPEG.
            return false;
        }
    }

    // unsigned long is 64 bits on the LP64 platforms that have libturbojpeg.so.0.
    [DllImport(Library)]
    private static extern IntPtr tjInitDecompress();

    [DllImport(Library)]
    private static extern int tjDestroy(IntPtr handle);

    [DllImport(Library)]
    private static extern int tjDecompressHeader3(IntPtr handle, byte* jpegBuf, UIntPtr jpegSize, int* width, int* height, int* jpegSubsamp, int* jpegColorspace);

    [DllImport(Library)]
    private static extern int tjDecompress2(IntPtr handle, byte* jpegBuf, UIntPtr jpegSize, byte* dstBuf, int width, int pitch, int height, int pixelFormat, int flags);
}
