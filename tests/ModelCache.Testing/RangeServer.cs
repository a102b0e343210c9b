using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ModelCache.Testing;

/// <summary>How a <see cref="RangeServer"/> answers range requests.</summary>
public enum RangeBehaviour
{
    /// <summary>Ranges (bytes=a-b and bytes=a-), If-Range, a strong ETag.</summary>
    Honest,

    /// <summary>Says Accept-Ranges: bytes, but answers every request with the whole file (200).</summary>
    IgnoresRanges,

    /// <summary>Answers a range a-b with the right bytes but a Content-Range naming another end and size.</summary>
    LiesInContentRange,

    /// <summary>The first request gets the first file; every later one the second (another ETag). If-Range is honoured.</summary>
    ChangesAfterFirst,

    /// <summary>Like <see cref="ChangesAfterFirst"/>, but If-Range is ignored: a range of the new file is sent as 206.</summary>
    ChangesIgnoringIfRange,
}

/// <summary>
/// A Kestrel server on 127.0.0.1 serving one file per path with a per-response rate limit (like nginx's limit_rate),
/// behaving as <see cref="RangeBehaviour"/> says; more than <see cref="MaxConcurrent"/> bodies at once get a 429.
/// Logs every request. Only loopback is bound.
/// </summary>
public sealed class RangeServer : IAsyncDisposable
{
    private const int ChunkSize = 64 << 10;
    private WebApplication _app = null!;
    private readonly ConcurrentQueue<RangeRequest> _log = new();
    private int _active;
    private int _maxActive;
    private int _requests;

    private RangeServer(byte[] first, byte[]? second, RangeBehaviour behaviour, int bytesPerSecond)
    {
        First = first;
        Second = second ?? first;
        Behaviour = behaviour;
        BytesPerSecond = bytesPerSecond;
    }

    public Uri BaseAddress { get; private set; } = null!;

    public byte[] First { get; }

    public byte[] Second { get; }

    public RangeBehaviour Behaviour { get; }

    public int BytesPerSecond { get; }

    /// <summary>
    /// When set, an answer that runs to the end of the file sends this many bytes and then nothing until the client
    /// leaves (a per-request limit after its first burst, at its worst); bounded ranges are served in full.
    /// </summary>
    public long? OpenEndedStallsAfter { get; set; }

    /// <summary>Bodies served at once before a 429; unlimited by default.</summary>
    public int MaxConcurrent { get; set; } = int.MaxValue;

    public int MaxActive => Volatile.Read(ref _maxActive);

    public IReadOnlyList<RangeRequest> Requests => _log.ToList();

    public long BytesSent => _log.Sum(r => Interlocked.Read(ref r.SentField));

    /// <param name="second">The file served after the first request (the Changes… behaviours).</param>
    public static async Task<RangeServer> StartAsync(byte[] content, RangeBehaviour behaviour, int bytesPerSecond, byte[]? second = null)
    {
        var server = new RangeServer(content, second, behaviour, bytesPerSecond);
        (server._app, server.BaseAddress) = await LoopbackApp.StartAsync(IPAddress.Loopback, server.HandleAsync).ConfigureAwait(false);
        return server;
    }

    public Uri Url(string name) => new(BaseAddress, name);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var number = Interlocked.Increment(ref _requests);
        var request = new RangeRequest(context.Request.Headers.Range.ToString(), context.Request.Headers.IfRange.ToString());
        _log.Enqueue(request);
        var active = Interlocked.Increment(ref _active);
        try
        {
            for (var max = Volatile.Read(ref _maxActive); active > max && Interlocked.CompareExchange(ref _maxActive, active, max) != max; max = Volatile.Read(ref _maxActive))
            {
            }

            var response = context.Response;
            if (active > MaxConcurrent)
            {
                request.Status = response.StatusCode = 429;
                response.Headers.RetryAfter = "0";
                return;
            }

            var changed = number > 1 && Behaviour is RangeBehaviour.ChangesAfterFirst or RangeBehaviour.ChangesIgnoringIfRange;
            var body = changed ? Second : First;
            var etag = changed ? "\"second\"" : "\"first\"";
            response.Headers.ETag = etag;
            response.Headers.AcceptRanges = "bytes";
            response.ContentType = "application/octet-stream";
            long from = 0, to = body.Length - 1;
            var ranged = Behaviour != RangeBehaviour.IgnoresRanges && TryParse(request.Range, body.Length, out from, out to)
                && (request.IfRange.Length == 0 || request.IfRange == etag || Behaviour == RangeBehaviour.ChangesIgnoringIfRange);
            if (ranged)
            {
                request.Status = response.StatusCode = 206;
                var lie = Behaviour == RangeBehaviour.LiesInContentRange && request.Range.Length > 7 && !request.Range.EndsWith('-');
                response.Headers.ContentRange = lie
                    ? $"bytes {from}-{to + 1}/{body.Length + 4096}"
                    : $"bytes {from}-{to}/{body.Length}";
            }
            else
            {
                from = 0;
                to = body.Length - 1;
                request.Status = response.StatusCode = 200;
            }

            response.ContentLength = to - from + 1;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var openEnded = request.Range.Length == 0 || request.Range.EndsWith('-');
            for (var at = from; at <= to; at += ChunkSize)
            {
                if (openEnded && OpenEndedStallsAfter is { } burst && at - from >= burst)
                {
                    await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                    await Task.Delay(Timeout.Infinite, context.RequestAborted).ConfigureAwait(false);
                }

                var count = (int)Math.Min(ChunkSize, to + 1 - at);
                await response.Body.WriteAsync(body.AsMemory((int)at, count), context.RequestAborted).ConfigureAwait(false);
                Interlocked.Add(ref request.SentField, count);
                if (BytesPerSecond > 0)
                {
                    var due = TimeSpan.FromSeconds((double)(at + count - from) / BytesPerSecond) - clock.Elapsed;
                    if (due > TimeSpan.Zero)
                    {
                        await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                        await Task.Delay(due, context.RequestAborted).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away (a split ends a connection early): nothing to answer.
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }

    private static bool TryParse(string header, long length, out long from, out long to)
    {
        from = 0;
        to = length - 1;
        if (!header.StartsWith("bytes=", StringComparison.Ordinal) || header.Contains(','))
        {
            return false;
        }

        var parts = header.Substring(6).Split('-');
        if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out from) || from >= length)
        {
            return false;
        }

        if (parts[1].Length > 0)
        {
            if (!long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out to) || to < from)
            {
                return false;
            }

            to = Math.Min(to, length - 1);
        }

        return true;
    }
}

/// <summary>One request a <see cref="RangeServer"/> received.</summary>
public sealed class RangeRequest
{
    internal long SentField;

    public RangeRequest(string range, string ifRange)
    {
        Range = range;
        IfRange = ifRange;
    }

    public string Range { get; }

    public string IfRange { get; }

    public int Status { get; set; }

    public long Sent => Interlocked.Read(ref SentField);

    public override string ToString() => $"{Status} range='{Range}' if-range='{IfRange}' sent={Sent}";
}
