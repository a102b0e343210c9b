using System;
using ModelCache.Transfer;

namespace ModelCache.Store;

/// <summary>A model file in a cache root, with what is known about it.</summary>
public sealed class ModelCacheEntry
{
    public ModelCacheEntry(string family, string member, string task, string fileName, string path, string cacheRoot, long size,
        string? sha256, string? expectedSha256, string? sourceUrl, DateTimeOffset? savedAt, DateTimeOffset? lastUsed,
        bool verified, DateTimeOffset? verifiedAt, bool inCatalog, TransferSummary? transfer = null)
    {
        Family = family;
        Member = member;
        Task = task;
        FileName = fileName;
        Path = path;
        CacheRoot = cacheRoot;
        Size = size;
        Sha256 = sha256;
        ExpectedSha256 = expectedSha256;
        SourceUrl = sourceUrl;
        SavedAt = savedAt;
        LastUsed = lastUsed;
        Verified = verified;
        VerifiedAt = verifiedAt;
        InCatalog = inCatalog;
        Transfer = transfer;
    }

    /// <summary>Qualified <c>Family/Member</c> name.</summary>
    public string Name => Family + "/" + Member;

    public string Family { get; }

    public string Member { get; }

    public string Task { get; }

    public string FileName { get; }

    /// <summary>Full path of the model file.</summary>
    public string Path { get; }

    /// <summary>The cache root holding this entry, so piped entries act on the right cache.</summary>
    public string CacheRoot { get; }

    public long Size { get; }

    /// <summary>SHA-256 recorded the last time the file was hashed.</summary>
    public string? Sha256 { get; }

    /// <summary>SHA-256 the catalog expects; null when the model is no longer in the catalog.</summary>
    public string? ExpectedSha256 { get; }

    public string? SourceUrl { get; }

    public DateTimeOffset? SavedAt { get; }

    public DateTimeOffset? LastUsed { get; }

    /// <summary>The last hash check passed and the file has not changed since.</summary>
    public bool Verified { get; }

    public DateTimeOffset? VerifiedAt { get; }

    /// <summary>False for files whose model was removed from the catalog (orphans).</summary>
    public bool InCatalog { get; }

    /// <summary>Set by Save-Model: where the bytes came from and what it cost.</summary>
    public TransferSummary? Transfer { get; }

    /// <summary>Where Save-Model got the bytes (Cache, Mirror, Upstream); null for listed entries.</summary>
    public TransferSource? Source => Transfer?.Source;

    public ModelCacheEntry WithTransfer(TransferSummary transfer) => new(Family, Member, Task, FileName, Path, CacheRoot, Size, Sha256,
        ExpectedSha256, SourceUrl, SavedAt, LastUsed, Verified, VerifiedAt, InCatalog, transfer);

    public override string ToString() => Name;
}
