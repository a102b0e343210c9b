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

    public override string ToString() => Message;
}
