using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelCache.Errors;
using ModelCache.IO;

namespace ModelCache.Inference;

/// <summary>The images <see cref="ImageFolder.List(string, bool)"/> found in a folder, and what it skipped.</summary>
public sealed class ImageFolderListing
{
    internal ImageFolderListing(string folder, IReadOnlyList<string> images, IReadOnlyList<string> skippedLinks, IReadOnlyList<string> skippedFiles, int subfolders)
    {
        Folder = folder;
        Images = images;
        SkippedLinks = skippedLinks;
        SkippedFiles = skippedFiles;
        Subfolders = subfolders;
    }

    /// <summary>Full path of the folder listed.</summary>
    public string Folder { get; }

    /// <summary>Full paths of the image files, in ordinal order.</summary>
    public IReadOnlyList<string> Images { get; }

    /// <summary>Links to folders that were not followed (only when recursing).</summary>
    public IReadOnlyList<string> SkippedLinks { get; }

    /// <summary>Why each image-named entry that is not a regular file (FIFO, socket, device, broken link) was skipped.</summary>
    public IReadOnlyList<string> SkippedFiles { get; }

    /// <summary>Folders directly in <see cref="Folder"/> (links to folders not counted).</summary>
    public int Subfolders { get; }
}

/// <summary>
/// The image files in a folder, for commands that take a folder where images are expected. An image is a file whose
/// extension (any case) is one of <see cref="Extensions"/>, the formats <see cref="ImageLoader"/> decodes. Only regular
/// files are listed (a FIFO named photo.jpg would block its reader), links to files are followed like the files given
/// by name, and a walk with subfolders never follows a link to a folder, so it stays inside the folder given and
/// cannot loop. The walk is bounded: at most <see cref="MaxDepth"/> levels of subfolders and <see cref="MaxImages"/>
/// images, else an error, before anything is processed.
/// </summary>
public static class ImageFolder
{
    /// <summary>Levels of subfolders below the folder given that a recursive listing enters.</summary>
    public const int MaxDepth = 32;

    /// <summary>Images one folder may yield.</summary>
    public const int MaxImages = 100_000;

    private static readonly string[] KnownExtensions = { ".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp" };

    /// <summary>File name extensions of images, lower case with the dot.</summary>
    public static IReadOnlyList<string> Extensions => KnownExtensions;

    /// <summary>True when the file name of <paramref name="path"/> has an image extension, in any case.</summary>
    public static bool HasImageExtension(string path)
    {
        var extension = Path.GetExtension(path);
        return KnownExtensions.Any(known => string.Equals(known, extension, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Lists the images directly in <paramref name="folder"/>, or also in its subfolders when <paramref name="recurse"/>.</summary>
    /// <exception cref="ModelCacheException"><c>ImageFolderTooDeep</c>, <c>ImageFolderTooLarge</c> (InvalidArgument), <c>ImageFolderUnreadable</c> (ReadError).</exception>
    public static ImageFolderListing List(string folder, bool recurse) => List(folder, recurse, MaxDepth, MaxImages);

    internal static ImageFolderListing List(string folder, bool recurse, int maxDepth, int maxImages)
    {
        var root = Path.GetFullPath(folder);
        var images = new List<string>();
        var links = new List<string>();
        var skipped = new List<string>();
        var subfolders = 0;
        var pending = new Stack<(string Path, int Depth)>();
        pending.Push((root, 0));
        while (pending.Count > 0)
        {
            var (directory, depth) = pending.Pop();
            FileSystemInfo[] entries;
            try
            {
                entries = new DirectoryInfo(directory).GetFileSystemInfos();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.SecurityException)
            {
                throw new ModelCacheException("ImageFolderUnreadable", ModelCacheErrorKind.ReadError,
                    $"Cannot list the folder '{directory}': {ex.Message}", "Check the folder's permissions.", ex);
            }

            foreach (var entry in entries)
            {
                // Attributes come with the enumeration and describe the entry itself: a link has ReparsePoint.
                var isLink = (entry.Attributes & FileAttributes.ReparsePoint) != 0;
                if (entry is DirectoryInfo || (isLink && Directory.Exists(entry.FullName)))
                {
                    if (isLink)
                    {
                        if (recurse)
                        {
                            links.Add(entry.FullName);
                        }

                        continue;
                    }

                    if (depth == 0)
                    {
                        subfolders++;
                    }

                    if (recurse)
                    {
                        if (depth + 1 > maxDepth)
                        {
                            throw new ModelCacheException("ImageFolderTooDeep", ModelCacheErrorKind.InvalidArgument,
                                $"'{root}' has folders more than {maxDepth} levels deep (for example '{entry.FullName}'); no image in it was processed.",
                                "Pass a folder deeper down, or its images by wildcard (-Path folder/*.jpg).");
                        }

                        pending.Push((entry.FullName, depth + 1));
                    }

                    continue;
                }

                if (!HasImageExtension(entry.Name))
                {
                    continue;
                }

                switch (RegularFile.KindOf(entry.FullName))
                {
                    case FileKind.Regular or FileKind.Unknown:
                        if (images.Count == maxImages)
                        {
                            throw new ModelCacheException("ImageFolderTooLarge", ModelCacheErrorKind.InvalidArgument,
                                $"'{root}' holds more than {maxImages} images{(recurse ? " with its subfolders" : string.Empty)}; no image in it was processed.",
                                "Pass smaller folders, or pipe the files (Get-ChildItem -File -Recurse | Invoke-FaceDetect), which streams without a limit.");
                        }

                        images.Add(entry.FullName);
                        break;
                    case FileKind.Missing:
                        skipped.Add($"'{entry.FullName}' is a broken link");
                        break;
                    case var kind:
                        skipped.Add($"'{entry.FullName}' is {NotARegularFileException.Describe(kind)}, not a regular file");
                        break;
                }
            }
        }

        images.Sort(StringComparer.Ordinal);
        links.Sort(StringComparer.Ordinal);
        skipped.Sort(StringComparer.Ordinal);
        return new ImageFolderListing(root, images, links, skipped, subfolders);
    }
}
