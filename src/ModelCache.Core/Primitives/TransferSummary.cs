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
}
