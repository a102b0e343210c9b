using ModelCache.Errors;
using ModelCache.IO;

namespace ModelCache.HuggingFace;

/// <summary>Something in a hub cache that is not a valid part of the layout: reported and left alone.</summary>
public sealed class HubCacheWarning
{
    internal HubCacheWarning(string path, string message, string? repo = null, bool isLink = false, bool isNotRegularFile = false)
    {
        IsNotRegularFile = isNotRegularFile;
        Path = path;
        Message = message;
        Repo = repo;
        IsLink = isLink;
    }

    /// <summary>True when what was refused is a link (a security matter rather than a malformed tree).</summary>
    public bool IsLink { get; }

    /// <summary>True when what was refused is a directory, FIFO, socket or device where a file belongs (never opened).</summary>
    public bool IsNotRegularFile { get; }

    /// <summary>The file or folder concerned.</summary>
    public string Path { get; }

    public string Message { get; }

    /// <summary>The repo it belongs to, when the folder name is a valid repo.</summary>
    public string? Repo { get; }

    /// <summary>
    /// The error this warning is reported as: a link refused is a security matter (<c>CacheFolderIsLink</c>, as in every
    /// layout), a directory or FIFO in a file's place is <c>NotARegularFile</c>, anything else malformed data.
    /// </summary>
    public ModelCacheException ToException()
    {
        var error = IsNotRegularFile
            ? new ModelCacheException(CacheIOFailure.NotARegularFileId, ModelCacheErrorKind.InvalidData, Message,
                $"Remove '{Path}' (or move it away); ModelCache reads and writes only regular files there.")
            : IsLink
                ? new ModelCacheException(RootGuard.LinkErrorId, ModelCacheErrorKind.SecurityError, Message,
                    "The hub cache holds a link that does not stay inside its repo; it was not followed. Remove it (or the repo, with Clear-ModelCache -Layout HuggingFace) if you did not put it there.")
                : new ModelCacheException("HubCacheEntrySkipped", ModelCacheErrorKind.InvalidData, Message,
                    "The hub cache holds something its layout does not allow; it was skipped. Remove it, or save the file again with Save-Model -HuggingFaceRepo.");
        error.Data["Path"] = Path;
        return error;
    }

    public override string ToString() => Message;
}
