using System;

namespace ModelCache.Primitives;

/// <summary>What one Save-Model did for one model.</summary>
public sealed class TransferSummary
{
    public TransferSummary(TransferSource source, string? sourceUrl, long bytesTransferred, bool resumed, TimeSpan elapsed)
    {
        Source = source;
        SourceUrl = sourceUrl;
        BytesTransferred = bytesTransferred;
        Resumed = resumed;
        Elapsed = elapsed;
    }

    public TransferSource Source { get; }

    /// <summary>The URL or path read, without credentials; null when served from the cache.</summary>
    public string? SourceUrl { get; }

    public long BytesTransferred { get; }

    public bool Resumed { get; }

    public TimeSpan Elapsed { get; }

    /// <summary>One line for list views and logs: "Mirror, 1.7 MiB in 0.4 s (resumed)", or "Cache" when nothing moved.</summary>
    public override string ToString() => Source == TransferSource.Cache
        ? "Cache, nothing transferred"
        : $"{Source}, {ByteSize.Format(BytesTransferred)} in {Duration.Format(Elapsed)}{(Resumed ? " (resumed)" : "")}";
}
