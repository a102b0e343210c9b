using ModelCache.Primitives;
using ModelCache.Transfer;

namespace ModelCache.HuggingFace;

/// <summary>What saving one hub file did: the cached file as listed, and how it got there.</summary>
public sealed class HubDownloadResult
{
    internal HubDownloadResult(HubCacheEntry entry, TransferSummary transfer)
    {
        Entry = entry;
        Transfer = transfer;
    }

    public HubCacheEntry Entry { get; }

    /// <summary>Source <see cref="TransferSource.Cache"/> when nothing was downloaded.</summary>
    public TransferSummary Transfer { get; }

    /// <summary>The file to open: <c>snapshots/&lt;commit&gt;/&lt;path&gt;</c>.</summary>
    public string Path => Entry.SnapshotPath;
}
