using System;
using ModelCache.Catalog;
using ModelCache.Primitives;
using ModelCache.Layouts;

namespace ModelCache.Store;

/// <summary>A model file in a cache root, with what is known about it.</summary>
public sealed class ModelCacheEntry : CachedFile
{
    public ModelCacheEntry(string family, string member, string task, string fileName, string path, string cacheRoot, long size,
        string? sha256, string? expectedSha256, string? sourceUrl, DateTimeOffset? savedAt, DateTimeOffset? lastUsed,
        EntryCheckResult lastCheck, bool? changedSinceCheck, DateTimeOffset? verifiedAt, bool inCatalog,
        CacheLayoutKind layout = CacheLayoutKind.Native, TransferSummary? transfer = null, bool pinned = false)
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
        LastCheck = lastCheck;
        ChangedSinceCheck = changedSinceCheck;
        VerifiedAt = verifiedAt;
        InCatalog = inCatalog;
        Layout = layout;
        Transfer = transfer;
        Pinned = pinned;
    }

    /// <summary>Qualified <c>Family/Member</c> name; the file name for an orphan a flat layout cannot tie to a family.</summary>
    public override string Name => Family.Length == 0 ? Member : Family + "/" + Member;

    public string Family { get; }

    public string Member { get; }

    public string Task { get; }

    public string FileName { get; }

    /// <summary>Full path of the model file.</summary>
    public override string Path { get; }

    /// <summary>The cache root holding this entry, so piped entries act on the right cache.</summary>
    public override string CacheRoot { get; }

    /// <summary>The layout of <see cref="CacheRoot"/>, so piped entries act on it the right way.</summary>
    public override CacheLayoutKind Layout { get; }

    public override long Size { get; }

    /// <summary>SHA-256 recorded the last time the file was hashed.</summary>
    public string? Sha256 { get; }

    /// <summary>SHA-256 the catalog expects; null when the model is no longer in the catalog.</summary>
    public string? ExpectedSha256 { get; }

    public string? SourceUrl { get; }

    public DateTimeOffset? SavedAt { get; }

    public DateTimeOffset? LastUsed { get; }

    /// <summary>What the last recorded hash check found (only Test-ModelHash hashes again and says Valid).</summary>
    public EntryCheckResult LastCheck { get; }

    /// <summary>
    /// True when the file's fingerprint (size, write time and, where the OS tells, file id and change time) differs
    /// from the one recorded at the last check; null when no check is recorded.
    /// </summary>
    public bool? ChangedSinceCheck { get; }

    /// <summary>When the file was last hashed.</summary>
    public DateTimeOffset? VerifiedAt { get; }

    /// <summary>False for files whose model is not (or no longer) in the catalog (orphans).</summary>
    public bool InCatalog { get; }

    /// <summary>
    /// True when the entry is pinned (Set-ModelCacheEntry -Pinned): quota eviction never removes it, nor does Clear-ModelCache
    /// unless it is named with -Force. Kept in the entry's metadata, so a pin is lost when that metadata is lost and rebuilt.
    /// </summary>
    public bool Pinned { get; }

    /// <summary>When the entry was last used, else saved: the age eviction and -NotUsedSince go by.</summary>
    public DateTimeOffset? LastActivity => LastUsed ?? SavedAt;

    /// <summary>Set by Save-Model: where the bytes came from and what it cost.</summary>
    public TransferSummary? Transfer { get; }

    /// <summary>Where Save-Model got the bytes (Cache, Mirror, Upstream); null for listed entries.</summary>
    public TransferSource? Source => Transfer?.Source;

    /// <summary>
    /// The definition this entry was listed or saved with, rebuilt from what it carries (its expected SHA-256, file name,
    /// task and source; as size, the file's as listed, which only bytes matching that SHA-256 pass anyway, so the definition
    /// travels whole in a bundle); null when it carries no expected hash (an orphan).
    /// </summary>
    public ModelDefinition? CarriedDefinition()
    {
        if (ExpectedSha256 is null || Family.Length == 0)
        {
            return null;
        }

        Uri.TryCreate(SourceUrl, UriKind.Absolute, out var url);
        return new ModelDefinition(Family, Member, Task, FileName, url, ExpectedSha256, Size > 0 ? Size : null, origin: CarriedOrigin);
    }

    /// <summary>The <see cref="ModelDefinition.Origin"/> of a definition rebuilt from a piped entry.</summary>
    public const string CarriedOrigin = "piped entry";

    public ModelCacheEntry WithTransfer(TransferSummary transfer) => new(Family, Member, Task, FileName, Path, CacheRoot, Size, Sha256,
        ExpectedSha256, SourceUrl, SavedAt, LastUsed, LastCheck, ChangedSinceCheck, VerifiedAt, InCatalog, Layout, transfer, Pinned);

    [Newtonsoft.Json.JsonIgnore]
    public override string ShortName => Member;

    [Newtonsoft.Json.JsonIgnore]
    public override string? ExpectedHash => ExpectedSha256;

    public override string ToString() => Name;
}
