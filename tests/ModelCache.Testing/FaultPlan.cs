using System;

namespace ModelCache.Testing;

/// <summary>How <see cref="FaultServer"/> misbehaves for one path. Counters count requests to that path.</summary>
public sealed class FaultPlan
{
    /// <summary>The first <see cref="DropTimes"/> requests send this many body bytes, then the connection is aborted.</summary>
    public long? DropAfterBytes { get; init; }

    public int DropTimes { get; init; } = 1;

    /// <summary>The first <see cref="FailTimes"/> requests answer <see cref="FailStatus"/>.</summary>
    public int FailTimes { get; init; }

    public int FailStatus { get; init; } = 503;

    /// <summary>Sent as the body of failures (JSON, as a ModelCache server's error body is); none when null.</summary>
    public string? FailJson { get; init; }

    /// <summary>Sent as Retry-After (seconds) with failures.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>Answer every request with the whole file (200), as servers without Range support do.</summary>
    public bool IgnoreRange { get; init; }

    /// <summary>Serve these bytes instead of the registered content (keeping its ETag).</summary>
    public byte[]? WrongBytes { get; init; }

    /// <summary>Answer 200 with an HTML error page.</summary>
    public bool Html { get; init; }

    /// <summary>Like <see cref="Html"/> but labelled application/octet-stream.</summary>
    public bool HtmlDisguised { get; init; }

    /// <summary>The first <see cref="StallTimes"/> requests send this many bytes, then stop sending until the client gives up.</summary>
    public long? StallAfterBytes { get; init; }

    public int StallTimes { get; init; } = int.MaxValue;

    /// <summary>Answer 302 to this address.</summary>
    public Uri? RedirectTo { get; init; }

    /// <summary>Announce this Content-Length instead of the body's.</summary>
    public long? AnnouncedLength { get; init; }

    /// <summary>Send the body chunked, without Content-Length.</summary>
    public bool OmitContentLength { get; init; }

    /// <summary>Slow the body down (bytes per second), so a test can interrupt it mid-transfer.</summary>
    public int? BytesPerSecond { get; init; }

    /// <summary>
    /// Answer 200 with a chunked body (no Content-Length) that never ends: the registered content, then filler, until
    /// the client goes away or <see cref="EndlessLimitBytes"/> have been sent (a safety stop for the test machine).
    /// </summary>
    public bool EndlessBody { get; init; }

    public long EndlessLimitBytes { get; init; } = 1L << 30;

    /// <summary>After the first <see cref="DripAfterBytes"/> bytes, send one byte per <see cref="DripInterval"/>: a slow drip that never stalls a read.</summary>
    public TimeSpan? DripInterval { get; init; }

    public long DripAfterBytes { get; init; }

    /// <summary>Accept the request and never send a response header, until the client gives up (a server that never answers).</summary>
    public bool WithholdHeaders { get; init; }
}
