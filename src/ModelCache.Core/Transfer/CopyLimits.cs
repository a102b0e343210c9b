using System;
using ModelCache.IO;

namespace ModelCache.Transfer;

/// <summary>What bounds one body copy: its size, how long a read may wait, and the slowest acceptable rate.</summary>
internal sealed class CopyLimits
{
    public CopyLimits(long maxTotal, string capReason, string capAction, NetworkOptions network)
    {
        MaxTotal = maxTotal;
        CapReason = capReason;
        CapAction = capAction;
        StallTimeout = network.Timeout;
        MinimumBytesPerSecond = network.MinimumBytesPerSecond;
        RateWindow = network.MinimumRateWindow;
        FileSystem = network.FileSystem;
    }

    /// <summary>Largest acceptable file size; one byte more stops the copy with ContentTooLong.</summary>
    public long MaxTotal { get; }

    /// <summary>Where <see cref="MaxTotal"/> comes from, for the message ("the catalog size", "-MaxDownloadSize", …).</summary>
    public string CapReason { get; }

    /// <summary>The recommended action when the cap is hit.</summary>
    public string CapAction { get; }

    /// <summary>Longest wait for the next bytes.</summary>
    public TimeSpan StallTimeout { get; }

    /// <summary>Slowest average rate accepted over <see cref="RateWindow"/>; 0 disables the check.</summary>
    public long MinimumBytesPerSecond { get; }

    public TimeSpan RateWindow { get; }

    public IFileSystemNative FileSystem { get; }
}
