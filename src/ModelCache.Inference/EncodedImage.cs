using System;
using System.Buffers;
using System.IO;
using ModelCache.Errors;
using ModelCache.IO;
using SkiaSharp;

namespace ModelCache.Inference;

/// <summary>
/// An image file opened once through the regular-file guard: SkiaSharp's codec for its header and, for a JPEG that
/// libturbojpeg may decode, its bytes in a pooled buffer, which the codec then reads too (so both see the same bytes).
/// </summary>
internal sealed class EncodedImage : IDisposable
{
    // A JPEG larger than this is streamed to SkiaSharp rather than read into memory for libturbojpeg; photos are far smaller.
    private const int MaxBufferedJpegBytes = 64 * 1024 * 1024;

    private EncodedImage(SKCodec codec, byte[]? jpeg, int length)
    {
        Codec = codec;
        Jpeg = jpeg;
        Length = length;
    }

    /// <summary>SkiaSharp's codec; it owns the stream (or reads the buffer).</summary>
    public SKCodec Codec { get; }

    /// <summary>The file's bytes when it is a JPEG that libturbojpeg may decode, else null.</summary>
    public byte[]? Jpeg { get; private set; }

    /// <summary>How many bytes of <see cref="Jpeg"/> are the file's.</summary>
    public int Length { get; }

    public void Dispose()
    {
        // The codec reads from the buffer until it is disposed, so the buffer goes back to the pool after it.
        Codec.Dispose();
        ReturnBuffer(Jpeg);
        Jpeg = null;
    }

    /// <summary>SkiaSharp's codec over the file, streamed (for a caller that wants only its header).</summary>
    public static SKCodec OpenCodec(string path) => OpenCodec(path, OpenStream(path));

    /// <summary>
    /// Opens <paramref name="path"/> once: a JPEG that libturbojpeg may decode is read into a pooled buffer, which the
    /// codec then reads its header from (and its pixels, if libturbojpeg declines); anything else is streamed to the codec.
    /// </summary>
    public static EncodedImage Open(string path)
    {
        var stream = OpenStream(path);
        byte[]? buffer = null;
        try
        {
            if (TurboJpeg.IsAvailable && stream.Length <= MaxBufferedJpegBytes && StartsAsJpeg(stream))
            {
                buffer = ArrayPool<byte>.Shared.Rent((int)stream.Length);
                var length = ReadUpTo(stream, buffer);
                stream.Dispose();
                return new EncodedImage(OpenCodec(path, new MemoryStream(buffer, 0, length, writable: false)), buffer, length);
            }

            stream.Position = 0;
            return new EncodedImage(OpenCodec(path, stream), null, 0);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ReturnBuffer(buffer);
            stream.Dispose();
            throw ReadFailed(path, ex);
        }
        catch
        {
            ReturnBuffer(buffer);
            stream.Dispose();
            throw;
        }
    }

    private static bool StartsAsJpeg(Stream stream)
    {
        var head = new byte[3];
        var read = ReadUpTo(stream, head);
        return read == 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF;
    }

    private static int ReadUpTo(Stream stream, byte[] buffer)
    {
        stream.Position = 0;
        var total = 0;
        int read;
        while (total < buffer.Length && (read = stream.Read(buffer, total, buffer.Length - total)) > 0)
        {
            total += read;
        }

        return total;
    }

    private static void ReturnBuffer(byte[]? buffer)
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static Stream OpenStream(string path)
    {
        // One guarded open: the codec reads the very file that was checked to be regular (never a FIFO swapped in).
        try
        {
            return RegularFile.OpenRead(path, 64 * 1024, FileOptions.None);
        }
        catch (NotARegularFileException ex)
        {
            throw new ModelCacheException("NotARegularFile", ModelCacheErrorKind.InvalidData, ex.Message, "Give the path of an image file.", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw ReadFailed(path, ex);
        }
    }

    private static SKCodec OpenCodec(string path, Stream stream)
    {
        // The codec owns the stream from here (and disposes it, also when it returns null).
        var codec = SKCodec.Create(stream, out var result);
        if (codec is not null)
        {
            return codec;
        }

        throw DecodeFailed(path, result == SKCodecResult.Unimplemented ? "the format is not supported" : "it is not a readable image (" + result + ")");
    }

    private static ModelCacheException ReadFailed(string path, Exception ex) => new(
        "ImageReadFailed", ModelCacheErrorKind.ReadError, $"Cannot read the image '{path}': {ex.Message}", "Check the file's permissions.", ex);

    internal static ModelCacheException DecodeFailed(string path, string reason) => new(
        "ImageDecodeFailed", ModelCacheErrorKind.InvalidData, $"Cannot decode the image '{path}': {reason}.",
        "Use a JPEG, PNG, WebP, GIF or BMP file; re-export the image if it is damaged.");
}
