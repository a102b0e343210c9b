using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelCache.Errors;
using ModelCache.Operations;

namespace ModelCache.Inference;

/// <summary>The images one input names.</summary>
public sealed class ImageInputSet
{
    internal ImageInputSet(IReadOnlyList<string> images, string? baseDirectory, int named, string? skippedFolder)
    {
        Images = images;
        BaseDirectory = baseDirectory;
        Named = named;
        SkippedFolder = skippedFolder;
    }

    /// <summary>Existing image files, in order.</summary>
    public IReadOnlyList<string> Images { get; }

    /// <summary>The folder the images came from (output names keep their subfolders under it), or null for a file.</summary>
    public string? BaseDirectory { get; }

    /// <summary>Files named, found or not.</summary>
    public int Named { get; }

    /// <summary>A folder piped as an item, which is skipped (its files come through the pipeline too).</summary>
    public string? SkippedFolder { get; }
}

/// <summary>
/// What the input paths of one command mean: a folder its images (in subfolders too when recursing), anything else one
/// image; and, at the end, a warning when the input was only folders piped as items.
/// </summary>
public sealed class ImageInputs
{
    private readonly List<string> _skippedFolders = new();
    private long _named;

    /// <summary>Says, at the end of the input, when nothing was detected because the input was only folders piped as items.</summary>
    public void Complete(IOperationEvents events)
    {
        if (_named == 0 && _skippedFolders.Count > 0)
        {
            events.Warning($"No images: the input was {_skippedFolders.Count} folder object(s) from the pipeline (first '{_skippedFolders[0]}'), which are skipped because Get-ChildItem sends their files too. Pass a folder by name to detect the images in it: Invoke-FaceDetect -Path <folder> [-Recurse].");
        }
    }

    /// <summary>
    /// The images among the paths a wildcard matched: its files, never the folders it also matches (photos/* is not a
    /// recursive walk).
    /// </summary>
    public IReadOnlyList<string> Matched(IEnumerable<string> paths)
    {
        var files = paths.Where(p => !Directory.Exists(p)).ToList();
        _named += files.Count;
        return files;
    }

    /// <summary>
    /// The images <paramref name="path"/> (a full path) names. A folder piped as an item (<paramref name="pipedItem"/>)
    /// is skipped: Get-ChildItem -Recurse sends its files as well, and expanding it would detect each of them twice.
    /// A missing file or an unlistable folder is a failure reported for <paramref name="input"/>.
    /// </summary>
    public ImageInputSet Expand(string path, object input, bool pipedItem, bool recurse, IOperationEvents events)
    {
        var set = ExpandPath(path, input, pipedItem, recurse, events);
        _named += set.Named;
        if (set.SkippedFolder is not null)
        {
            _skippedFolders.Add(set.SkippedFolder);
        }

        return set;
    }

    private static ImageInputSet ExpandPath(string path, object input, bool pipedItem, bool recurse, IOperationEvents events)
    {
        if (!Directory.Exists(path))
        {
            if (File.Exists(path))
            {
                return new ImageInputSet(new[] { path }, null, 1, null);
            }

            events.Failed(new ModelCacheException("ImageNotFound", ModelCacheErrorKind.NotFound, $"The image '{path}' does not exist.", "Check the path."), input);
            return new ImageInputSet(new string[0], null, 1, null);
        }

        if (pipedItem)
        {
            events.Verbose($"Skipped the folder '{path}' from the pipeline; its files are taken when they are piped.");
            return new ImageInputSet(new string[0], null, 0, path);
        }

        try
        {
            var listing = ListFolder(path, recurse, events);
            return new ImageInputSet(listing.Images, listing.Folder, listing.Images.Count, null);
        }
        catch (ModelCacheException ex)
        {
            events.Failed(ex, input);
            return new ImageInputSet(new string[0], null, 0, null);
        }
    }

    /// <summary>The images of <paramref name="folder"/>; a verbose line per link not followed, a warning per file skipped and when there is no image.</summary>
    /// <exception cref="ModelCacheException">The folder cannot be listed.</exception>
    public static ImageFolderListing ListFolder(string folder, bool recurse, IOperationEvents events)
    {
        var listing = ImageFolder.List(folder, recurse);
        foreach (var link in listing.SkippedLinks)
        {
            events.Verbose($"Skipped '{link}': a link to a folder is not followed.");
        }

        foreach (var reason in listing.SkippedFiles)
        {
            events.Warning($"Skipped {reason}.");
        }

        if (listing.Images.Count == 0)
        {
            var subfolders = !recurse && listing.Subfolders > 0 ? $" It has {listing.Subfolders} subfolder(s): add -Recurse to include their images." : string.Empty;
            events.Warning($"No images in '{listing.Folder}'{(recurse ? " or its subfolders" : string.Empty)}: looked for files named {string.Join(", ", ImageFolder.Extensions.Select(e => "*" + e))} (any case).{subfolders}");
        }
        else
        {
            events.Verbose($"{listing.Images.Count} image(s) in '{listing.Folder}'{(recurse ? " and its subfolders" : string.Empty)}.");
        }

        return listing;
    }
}
