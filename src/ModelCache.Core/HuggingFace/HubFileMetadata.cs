using ModelCache.Catalog;
namespace ModelCache.HuggingFace;

/// <summary>What the hub says about one file at one revision (from the resolve endpoint's headers), validated.</summary>
public sealed class HubFileMetadata
{
    internal HubFileMetadata(string commit, string blobId, long size, string location)
    {
        Commit = commit;
        BlobId = blobId;
        Size = size;
        Location = location;
    }

    /// <summary>X-Repo-Commit: the 40-hex commit the revision resolved to.</summary>
    public string Commit { get; }

    /// <summary>X-Linked-Etag (SHA-256, LFS files) or ETag (git blob SHA-1), without quotes.</summary>
    public string BlobId { get; }

    /// <summary>X-Linked-Size or Content-Length.</summary>
    public long Size { get; }

    /// <summary>True for an LFS file, whose blob id is its SHA-256.</summary>
    public bool IsLfs => HubNames.IsSha256(BlobId);

    /// <summary>The resolve URL asked, without credentials.</summary>
    public string Location { get; }
}
