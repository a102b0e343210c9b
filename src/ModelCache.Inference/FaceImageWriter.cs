using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using ModelCache.Errors;
using ModelCache.IO;
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
    /// .webp; anything else is PNG). An existing file is replaced (atomically, through a temporary file
    /// and a rename), but never the source image itself (<c>OutputWouldOverwriteSource</c>). Prefer the
    /// <see cref="FaceOutputPlan"/> overload, which never overwrites an existing file unless forced.
    /// </summary>
    public static void WriteAnnotated(FaceDetectionResult result, string outputPath)
    {
        if (SamePath(outputPath, result.Path))
        {
            throw FaceOutputPlanner.WouldOverwriteSource(Path.GetFullPath(outputPath), result.Path);
        }

        using var image = ImageLoader.Load(result.Path, null, ImageLimits.DefaultMaxPixels, shrinkToLimit: true);
        Annotate(result, image);
        Save(image.Bitmap, outputPath, FormatFor(outputPath), overwrite: true, null);
    }

    /// <summary>
    /// Writes the annotated copy of <paramref name="result"/> to <paramref name="plan"/>'s
    /// <see cref="FaceOutputPlan.AnnotatedPath"/> and returns that path (null when the plan has none).
    /// The file appears complete or not at all (temporary file in the same folder, then a rename);
    /// without <see cref="FaceOutputPlan.Force"/> an existing file is never replaced (the rename is
    /// create-new), and a source image never. The image is decoded again: an image over
    /// <paramref name="maxPixels"/> is drawn at a JPEG DCT scale under it, or refused (<c>ImageTooLarge</c>).
    /// Thread-safe: call it from worker threads, one call per image.
    /// </summary>
    /// <exception cref="ModelCacheException"><c>OutputWouldOverwriteSource</c>, <c>OutputExists</c>, <c>ImageWriteFailed</c>, <c>ImageTooLarge</c>, or a decode error.</exception>
    public static string? WriteAnnotated(FaceDetectionResult result, FaceOutputPlan plan, long maxPixels = ImageLimits.DefaultMaxPixels)
    {
        if (plan.AnnotatedPath is not { } path)
        {
            return null;
        }

        plan.Planner.Claim(path, plan.SourcePath);
        using var image = ImageLoader.Load(result.Path, null, maxPixels, shrinkToLimit: true);
        Annotate(result, image);
        Save(image.Bitmap, path, FormatFor(path), plan.Force, plan);
        return path;
    }

    /// <summary>
    /// Saves each face of <paramref name="result"/> as <c>&lt;image name&gt;_face&lt;n&gt;</c> in
    /// <paramref name="directory"/> (n from 1, highest confidence first), grown by
    /// <paramref name="margin"/> × the box size on every side and clipped to the image. Returns the files
    /// written. Existing files are replaced (atomically), never the source image. Prefer the
    /// <see cref="FaceOutputPlan"/> overload.
    /// </summary>
    public static IReadOnlyList<string> WriteCrops(FaceDetectionResult result, string directory, float margin = 0.2f)
    {
        var name = Path.GetFileNameWithoutExtension(result.Path);
        return Crops(result, Path.Combine(directory, name), margin, ImageLimits.DefaultMaxPixels, (crop, path) =>
        {
            if (SamePath(path, result.Path))
            {
                throw FaceOutputPlanner.WouldOverwriteSource(Path.GetFullPath(path), result.Path);
            }

            Save(crop, path, FormatFor(path), overwrite: true, null);
        });
    }

    /// <summary>
    /// Saves each face of <paramref name="result"/> as <c>&lt;plan.CropStem&gt;_face&lt;n&gt;</c> (.png for
    /// a PNG source, else .jpg; n from 1, highest confidence first), grown by <paramref name="margin"/> ×
    /// the box size on every side and clipped to the image, and returns the files written (none when the
    /// plan has no crop root). Same guarantees as the annotated overload: complete or absent, never over a
    /// source image, never over an existing file unless forced. Crops of an image over
    /// <paramref name="maxPixels"/> come from a JPEG DCT-scaled decode under the limit, or it is refused.
    /// Thread-safe: call it from worker threads, one call per image.
    /// </summary>
    /// <exception cref="ModelCacheException"><c>OutputWouldOverwriteSource</c>, <c>OutputExists</c>, <c>ImageWriteFailed</c>, <c>ImageTooLarge</c>, or a decode error.</exception>
    public static IReadOnlyList<string> WriteCrops(FaceDetectionResult result, FaceOutputPlan plan, float margin = 0.2f, long maxPixels = ImageLimits.DefaultMaxPixels)
    {
        if (plan.CropStem is not { } stem)
        {
            return Array.Empty<string>();
        }

        return Crops(result, stem, margin, maxPixels, (crop, path) =>
        {
            plan.Planner.Claim(path, plan.SourcePath);
            Save(crop, path, FormatFor(path), plan.Force, plan);
        });
    }

    private static void Annotate(FaceDetectionResult result, LoadedImage image)
    {
        var bitmap = image.Bitmap;
        using var canvas = new SKCanvas(bitmap);

        // Faces are in full-resolution coordinates; the bitmap may be a scaled decode of a large JPEG.
        canvas.Scale(1f / image.ScaleX, 1f / image.ScaleY);
        var stroke = Math.Max(2f, Math.Min(image.Width, image.Height) / 250f);
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

    private static List<string> Crops(FaceDetectionResult result, string stem, float margin, long maxPixels, Action<SKBitmap, string> save)
    {
        var written = new List<string>();
        if (result.FaceCount == 0)
        {
            return written;
        }

        using var image = ImageLoader.Load(result.Path, null, maxPixels, shrinkToLimit: true);
        var extension = string.Equals(Path.GetExtension(result.Path), ".png", StringComparison.OrdinalIgnoreCase) ? ".png" : ".jpg";
        float sx = image.ScaleX, sy = image.ScaleY;
        for (var i = 0; i < result.Faces.Count; i++)
        {
            var b = result.Faces[i].BoundingBox;
            float mx = b.Width * margin, my = b.Height * margin;
            var rect = new SKRectI(
                (int)Math.Max(0, Math.Floor((b.X - mx) / sx)), (int)Math.Max(0, Math.Floor((b.Y - my) / sy)),
                (int)Math.Min(image.Bitmap.Width, Math.Ceiling((b.Right + mx) / sx)), (int)Math.Min(image.Bitmap.Height, Math.Ceiling((b.Bottom + my) / sy)));
            if (rect.Width <= 0 || rect.Height <= 0)
            {
                continue;
            }

            using var crop = new SKBitmap();
            if (!image.Bitmap.ExtractSubset(crop, rect))
            {
                continue;
            }

            var path = stem + "_face" + (i + 1).ToString(CultureInfo.InvariantCulture) + extension;
            save(crop, path);
            written.Add(path);
        }

        return written;
    }

    private static bool SamePath(string a, string b) => string.Equals(
        Path.GetFullPath(a), Path.GetFullPath(b),
        Path.DirectorySeparatorChar == '\\' ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

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

    /// <summary>
    /// Encodes to a temporary file beside <paramref name="path"/> (create-new), then renames it into place:
    /// create-new unless <paramref name="overwrite"/>, so a crash leaves nothing under the final name and
    /// an existing file is never replaced by accident.
    /// </summary>
    private static void Save(SKBitmap bitmap, string path, SKEncodedImageFormat format, bool overwrite, FaceOutputPlan? plan)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        var temp = Path.Combine(directory, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + ".tmp");
        try
        {
            Directory.CreateDirectory(directory);
            using (var pixmap = bitmap.PeekPixels())
            using (var data = pixmap.Encode(format, 92))
            {
                if (data is null)
                {
                    throw new ModelCacheException("ImageEncodeFailed", ModelCacheErrorKind.WriteError, $"SkiaSharp could not encode '{full}' as {format}.", "Use a .png or .jpg output.");
                }

                using var stream = RegularFile.Open(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                data.SaveTo(stream);
            }

            if (!overwrite)
            {
                // Without overwrite File.Move never replaces (link + unlink on Unix, MoveFileEx on Windows).
                try
                {
                    File.Move(temp, full);
                }
                catch (IOException) when (File.Exists(full))
                {
                    throw FaceOutputPlanner.Exists(full, plan?.SourcePath ?? "?");
                }
            }
            else
            {
                if (plan is not null && plan.Planner.IsSource(full))
                {
                    throw FaceOutputPlanner.WouldOverwriteSource(full, plan.SourcePath);
                }

                try
                {
                    ModelCache.IO.AtomicFile.Promote(temp, full);
                }
                catch (IOException) when (File.Exists(temp))
                {
                    // Created or removed between the check and the rename: once more, the other way.
                    ModelCache.IO.AtomicFile.Promote(temp, full);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("ImageWriteFailed", ModelCacheErrorKind.WriteError, $"Cannot write '{full}': {ex.Message}", "Check that the directory exists and is writable.", ex);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A temporary file that cannot be removed is left; it never has the final name.
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
