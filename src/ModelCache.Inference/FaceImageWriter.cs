using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using ModelCache.Errors;
using SkiaSharp;

namespace ModelCache.Inference;

/// <summary>Writes what a detection found: an annotated copy of the image, or one crop per face.</summary>
public static class FaceImageWriter
{
    private static readonly Lazy<SKTypeface?> Typeface = new(FindTypeface);

    private static readonly SKColor[] PointColors =
    {
        new(0, 160, 255), new(255, 80, 80), new(255, 220, 0), new(0, 200, 120), new(200, 80, 255),
    };

    /// <summary>
    /// Draws every face of <paramref name="result"/> (box, score, landmarks) on an upright copy of its
    /// image and saves it to <paramref name="outputPath"/> (format from the extension: .png, .jpg/.jpeg,
    /// .webp; anything else is PNG).
    /// </summary>
    public static void WriteAnnotated(FaceDetectionResult result, string outputPath)
    {
        using var image = ImageLoader.Load(result.Path);
        var bitmap = image.Bitmap;
        using (var canvas = new SKCanvas(bitmap))
        {
            var stroke = Math.Max(2f, Math.Min(bitmap.Width, bitmap.Height) / 250f);
            using var box = new SKPaint { Color = new SKColor(0, 230, 64), Style = SKPaintStyle.Stroke, StrokeWidth = stroke, IsAntialias = true };
            using var label = new SKPaint { Color = new SKColor(0, 230, 64), Style = SKPaintStyle.Fill, IsAntialias = true };
            using var text = new SKPaint { Color = SKColors.Black, Style = SKPaintStyle.Fill, IsAntialias = true, StrokeWidth = Math.Max(1.5f, stroke * 0.6f) };
            using var point = new SKPaint { Style = SKPaintStyle.Fill, IsAntialias = true };
            foreach (var face in result.Faces)
            {
                var b = face.BoundingBox;
                canvas.DrawRect(b.X, b.Y, b.Width, b.Height, box);
                DrawScore(canvas, face.Confidence.ToString("0.00", CultureInfo.InvariantCulture), b.X, b.Y, Math.Max(12f, stroke * 7), label, text);
                if (face.Landmarks is { } landmarks)
                {
                    var points = new[] { landmarks.LeftEye, landmarks.RightEye, landmarks.Nose, landmarks.LeftMouth, landmarks.RightMouth };
                    for (var k = 0; k < points.Length; k++)
                    {
                        if (points[k] is { } p)
                        {
                            point.Color = PointColors[k];
                            canvas.DrawCircle(p.X, p.Y, stroke * 1.5f, point);
                        }
                    }
                }
            }
        }

        Save(bitmap, outputPath, FormatFor(outputPath));
    }

    /// <summary>
    /// Saves each face of <paramref name="result"/> as <c>&lt;image name&gt;_face&lt;n&gt;</c> in
    /// <paramref name="directory"/> (n from 1, highest confidence first), grown by
    /// <paramref name="margin"/> × the box size on every side and clipped to the image. Returns the files written.
    /// </summary>
    public static IReadOnlyList<string> WriteCrops(FaceDetectionResult result, string directory, float margin = 0.2f)
    {
        var written = new List<string>();
        if (result.FaceCount == 0)
        {
            return written;
        }

        Directory.CreateDirectory(directory);
        using var image = ImageLoader.Load(result.Path);
        var extension = string.Equals(Path.GetExtension(result.Path), ".png", StringComparison.OrdinalIgnoreCase) ? ".png" : ".jpg";
        var name = Path.GetFileNameWithoutExtension(result.Path);
        for (var i = 0; i < result.Faces.Count; i++)
        {
            var b = result.Faces[i].BoundingBox;
            float mx = b.Width * margin, my = b.Height * margin;
            var rect = new SKRectI(
                (int)Math.Max(0, Math.Floor(b.X - mx)), (int)Math.Max(0, Math.Floor(b.Y - my)),
                (int)Math.Min(image.Bitmap.Width, Math.Ceiling(b.Right + mx)), (int)Math.Min(image.Bitmap.Height, Math.Ceiling(b.Bottom + my)));
            if (rect.Width <= 0 || rect.Height <= 0)
            {
                continue;
            }

            using var crop = new SKBitmap();
            if (!image.Bitmap.ExtractSubset(crop, rect))
            {
                continue;
            }

            var path = Path.Combine(directory, $"{name}_face{(i + 1).ToString(CultureInfo.InvariantCulture)}{extension}");
            Save(crop, path, FormatFor(path));
            written.Add(path);
        }

        return written;
    }

    private static void DrawScore(SKCanvas canvas, string score, float x, float y, float size, SKPaint background, SKPaint foreground)
    {
        var typeface = Typeface.Value;
        if (typeface is not null)
        {
            using var font = new SKFont(typeface, size);
            var width = font.MeasureText(score);
            var top = Math.Max(0, y - size - 4);
            canvas.DrawRect(x, top, width + 6, size + 4, background);
            canvas.DrawText(score, x + 3, top + size, SKTextAlign.Left, font, foreground);
            return;
        }

        // No font on this system (e.g. a minimal container): draw the digits as seven-segment strokes.
        var w = size * 0.5f;
        var top2 = Math.Max(0, y - size - 4);
        canvas.DrawRect(x, top2, (score.Length * (w + 3)) + 6, size + 4, background);
        foreground.Style = SKPaintStyle.Stroke;
        var cx = x + 3;
        foreach (var c in score)
        {
            SevenSegment(canvas, c, cx, top2 + 2, w, size, foreground);
            cx += c == '.' ? w * 0.5f + 3 : w + 3;
        }

        foreground.Style = SKPaintStyle.Fill;
    }

    private static void SevenSegment(SKCanvas canvas, char c, float x, float y, float w, float h, SKPaint paint)
    {
        if (c == '.')
        {
            canvas.DrawCircle(x + 1, y + h - 1, paint.StrokeWidth, paint);
            return;
        }

        // Segments a..g as bits 0..6.
        int[] masks = { 0x3F, 0x06, 0x5B, 0x4F, 0x66, 0x6D, 0x7D, 0x07, 0x7F, 0x6F };
        if (c < '0' || c > '9')
        {
            return;
        }

        var m = masks[c - '0'];
        var half = h / 2;
        void Segment(int bit, float x1, float y1, float x2, float y2)
        {
            if ((m & (1 << bit)) != 0)
            {
                canvas.DrawLine(x1, y1, x2, y2, paint);
            }
        }

        Segment(0, x, y, x + w, y);
        Segment(1, x + w, y, x + w, y + half);
        Segment(2, x + w, y + half, x + w, y + h);
        Segment(3, x, y + h, x + w, y + h);
        Segment(4, x, y + half, x, y + h);
        Segment(5, x, y, x, y + half);
        Segment(6, x, y + half, x + w, y + half);
    }

    private static SKEncodedImageFormat FormatFor(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".jpg" or ".jpeg" => SKEncodedImageFormat.Jpeg,
        ".webp" => SKEncodedImageFormat.Webp,
        _ => SKEncodedImageFormat.Png,
    };

    private static void Save(SKBitmap bitmap, string path, SKEncodedImageFormat format)
    {
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            using var pixmap = bitmap.PeekPixels();
            using var data = pixmap.Encode(format, 92) ?? throw new InvalidOperationException("SkiaSharp could not encode " + format + ".");
            using var stream = File.Create(path);
            data.SaveTo(stream);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("ImageWriteFailed", ModelCacheErrorKind.WriteError, $"Cannot write '{path}': {ex.Message}", "Check that the directory exists and is writable.", ex);
        }
    }

    /// <summary>The platform's default font, else a common system font file (the Linux natives without fontconfig have no font manager).</summary>
    private static SKTypeface? FindTypeface()
    {
        var typeface = SKTypeface.Default;
        if (typeface is not null && typeface.GlyphCount > 0)
        {
            return typeface;
        }

        string[] candidates =
        {
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
            "/usr/share/fonts/truetype/freefont/FreeSans.ttf", "/System/Library/Fonts/Helvetica.ttc", "/Library/Fonts/Arial.ttf",
        };
        foreach (var file in candidates)
        {
            if (File.Exists(file) && SKTypeface.FromFile(file) is { GlyphCount: > 0 } found)
            {
                return found;
            }
        }

        return null;
    }
}
