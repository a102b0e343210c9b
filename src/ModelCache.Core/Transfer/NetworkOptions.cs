using System;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ModelCache.IO;

namespace ModelCache.Transfer;

/// <summary>How HTTP sources connect: proxy, mirror credentials, timeouts, retries.</summary>
public sealed class NetworkOptions
{
    /// <summary>Explicit proxy (-Proxy); null means the environment's (HTTPS_PROXY/HTTP_PROXY/NO_PROXY), if any.</summary>
    public IWebProxy? Proxy { get; set; }

    /// <summary>Sent to mirror hosts only, never upstream or to a redirect target on another host.</summary>
    public MirrorCredential? MirrorCredential { get; set; }

    /// <summary>Longest wait for response headers or for the next bytes of a body.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Further attempts after the first, per source, for transient failures.</summary>
    public int RetryCount { get; set; } = 3;

    /// <summary>First backoff delay; it doubles per attempt, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound on any one wait, including a server's Retry-After.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Largest file a download may write when nothing better bounds it (no catalog size): a Content-Length or a hub
    /// size above it is refused before the download starts, and a body without either is cut here (ContentTooLong).
    /// </summary>
    public long MaxDownloadSize { get; set; } = DefaultMaxDownloadSize;

    /// <summary>4 GiB.</summary>
    public const long DefaultMaxDownloadSize = 4L << 30;

    /// <summary>Slowest average body rate accepted over <see cref="MinimumRateWindow"/> (a slow drip is a stall); 0 disables it.</summary>
    public long MinimumBytesPerSecond { get; set; } = 1024;

    /// <summary>How long the rate is averaged before a transfer slower than <see cref="MinimumBytesPerSecond"/> is stopped.</summary>
    public TimeSpan MinimumRateWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Most connections open at once to one host, shared by the segments of a large download and the models saved in
    /// parallel (-ConnectionsPerHost, MODELCACHE_CONNECTIONS_PER_HOST); 1 turns segmented downloads off; 0 is the default (8).
    /// </summary>
    public int ConnectionsPerHost { get; set; }

    /// <summary>How long a host's lowered connection limit holds before one connection comes back (a site server lives for weeks; one 429 must not cap it for good).</summary>
    internal TimeSpan ConnectionRecovery { get; set; } = HostConnections.DefaultRecovery;

    /// <summary>Smallest download fetched in segments; tests lower it to keep their files small.</summary>
    internal long SegmentedMinimumSize { get; set; } = SegmentedDownload.MinimumSize;

    /// <summary>Free space, preallocation and write-back; tests substitute a fake.</summary>
    public IFileSystemNative FileSystem { get; set; } = NativeFileSystem.Current;

    /// <summary>When a registry token expires is judged by this clock (tests move it); null is the system clock.</summary>
    internal Func<DateTimeOffset>? Clock { get; set; }

    /// <summary>
    /// Lets tests trust a throw-away loopback certificate; null uses normal validation (the platform's trust plus the roots
    /// of $env:SSL_CERT_FILE).
    /// </summary>
    internal Func<HttpRequestMessage, X509Certificate2?, X509Chain?, SslPolicyErrors, bool>? ServerCertificateValidation { get; set; }
}
