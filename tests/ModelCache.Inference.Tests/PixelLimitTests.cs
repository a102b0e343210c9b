using System;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using ModelCache.Errors;
using ModelCache.Inference;
using ModelCache.Testing;
using SkiaSharp;

namespace ModelCache.Inference.Tests;

/// <summary>Pixel bombs are refused from their header, before any pixel memory is allocated.</summary>
public sealed class PixelLimitTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A grey PNG of <paramref name="side"/>² pixels, made by hand: 23000² is 529 MB of pixels in about 0.5 MB.</summary>
    internal static string Bomb(string path, int side)
    {
        using var file = File.Create(path);
        file.Write(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A });
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, side);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), side);
        header[8] = 8; // bit depth; colour type 0 (grey), no interlace
        Chunk(file, "IHDR", header);
        using (var idat = new MemoryStream())
        {
            using (var z = new ZLibStream(idat, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                var row = new byte[side + 1]; // filter 0, then grey 0
                for (var y = 0; y < side; y++)
                {
                    z.Write(row);
                }
            }

            Chunk(file, "IDAT", idat.ToArray());
        }

        Chunk(file, "IEND", Array.Empty<byte>());
        return path;
    }

    private static void Chunk(Stream stream, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        stream.Write(length);
        var typed = new byte[4 + data.Length];
        Encoding.ASCII.GetBytes(type).CopyTo(typed, 0);
        data.CopyTo(typed, 4);
        stream.Write(typed);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        stream.Write(crc);
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }

    [Fact]
    public void A_pixel_bomb_is_refused_from_its_header_naming_the_file_and_its_size()
    {
        var bomb = Bomb(_dir.Combine("bomb.png"), 23000);
        Assert.True(new FileInfo(bomb).Length < 2 * MiB, $"{new FileInfo(bomb).Length} bytes");
        var header = ImageLimits.ReadHeader(bomb);
        Assert.Equal((23000, 23000, "Png"), (header.Width, header.Height, header.Format));

        var before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<ModelCacheException>(() => ImageLoader.Load(bomb));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal("ImageTooLarge", ex.ErrorId);
        Assert.Contains(bomb, ex.Message, StringComparison.Ordinal);
        Assert.Contains("23000×23000", ex.Message, StringComparison.Ordinal);
        Assert.Contains("-MaxPixels", ex.RecommendedAction, StringComparison.Ordinal);
        Assert.True(allocated < 4 * MiB, $"{allocated} bytes allocated");
        Assert.Equal("ImageTooLarge", Assert.Throws<ModelCacheException>(() => ImageLimits.Check(bomb)).ErrorId);

        // The limit is the caller's: a smaller one refuses a 2000² PNG, a larger one lets it through.
        var small = Bomb(_dir.Combine("small.png"), 2000);
        Assert.Equal("ImageTooLarge", Assert.Throws<ModelCacheException>(() => ImageLoader.Load(small, null, 3_000_000)).ErrorId);
        using var loaded = ImageLoader.Load(small, null, 4_000_000);
        Assert.Equal(2000, loaded.Bitmap.Width);
    }

    [Fact]
    public void A_jpeg_over_the_limit_is_decoded_scaled_under_it_when_the_model_allows_and_refused_when_it_needs_full_size()
    {
        var jpeg = _dir.Combine("big.jpg");
        using (var bitmap = new SKBitmap(4000, 3000))
        {
            bitmap.Erase(new SKColor(120, 130, 140));
            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 80);
            File.WriteAllBytes(jpeg, data.ToArray());
        }

        // 12 MP over a 5 MP limit: a detector wanting 1/2 scale gets a DCT-scaled decode under the limit.
        using (var image = ImageLoader.Load(jpeg, (w, h) => 0.5f, 5_000_000))
        {
            Assert.True((long)image.Bitmap.Width * image.Bitmap.Height <= 5_000_000);
            Assert.True(image.Bitmap.Width >= 2000);
            Assert.Equal((4000, 3000), (image.Width, image.Height));
        }

        // Full size needed (tiling: no minimum scale) or more than the limit allows: refused.
        Assert.Equal("ImageTooLarge", Assert.Throws<ModelCacheException>(() => ImageLoader.Load(jpeg, null, 5_000_000)).ErrorId);
        Assert.Equal("ImageTooLarge", Assert.Throws<ModelCacheException>(() => ImageLoader.Load(jpeg, (w, h) => 0.9f, 5_000_000)).ErrorId);
        Assert.Equal("ImageTooLarge", Assert.Throws<ModelCacheException>(() => ImageLimits.Check(jpeg, 5_000_000, allowScaledDecode: false)).ErrorId);
        Assert.Equal(4000, ImageLimits.Check(jpeg, 5_000_000).Width);
    }

    [Fact]
    public void Detection_of_a_pixel_bomb_in_a_child_process_stays_within_bounded_memory()
    {
        var model = DetectorFixture.Model(DetectorFixture.UltraSlim);
        var bomb = Bomb(_dir.Combine("bomb.png"), 23000);

        // Control: an 8000² PNG (64 MP, under the default limit) is decoded, 256 MB of pixels; the probe must see it.
        var control = Bomb(_dir.Combine("control.png"), 8000);
        var (controlLine, controlPeak) = Probe(model, control);
        Assert.StartsWith("ok", controlLine, StringComparison.Ordinal);
        Assert.True(controlPeak > 256 * MiB, $"control peak {controlPeak / MiB} MiB: the measurement does not see a decode");

        var (line, peak) = Probe(model, bomb);
        Assert.Equal("error ImageTooLarge", line);
        Assert.True(peak < controlPeak - (150 * MiB), $"pixel bomb peak {peak / MiB} MiB vs control {controlPeak / MiB} MiB");
        Assert.True(peak < 400 * MiB, $"pixel bomb peak {peak / MiB} MiB");
    }

    /// <summary>Runs ModelCache.ImageProbe in a child process: its first line and its peak resident memory.</summary>
    internal static (string Line, long Peak) Probe(string model, string image, params string[] extra)
    {
        var probe = Path.Combine(AppContext.BaseDirectory, "ModelCache.ImageProbe.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { probe, model, image }.Concat(extra))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the probe did not finish in 2 minutes");
        }

        var lines = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(process.ExitCode == 0 && lines.Length == 2, $"exit {process.ExitCode}: {stdout.Result} {stderr.Result}");
        return (lines[0], long.Parse(lines[1].Substring("peak ".Length), System.Globalization.CultureInfo.InvariantCulture));
    }
}
