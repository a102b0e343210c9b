using System;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

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

    /// <summary>Lets tests trust a throw-away loopback certificate; null uses normal validation.</summary>
    internal Func<HttpRequestMessage, X509Certificate2?, X509Chain?, SslPolicyErrors, bool>? ServerCertificateValidation { get; set; }
}
