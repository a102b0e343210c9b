using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Errors;

namespace ModelCache.Server;

/// <summary>
/// One request and its response, with the timeouts HttpListener cannot enforce on Linux: every read of the body and
/// every write to the client runs under a timer that aborts the connection when it fires, so a client that stops
/// sending or reading holds nothing for longer than the timeout.
/// </summary>
internal sealed class HttpExchange : IDisposable
{
    private const int CopyBufferSize = 81920;

    private readonly HttpListenerContext _context;
    private readonly CancellationTokenSource _timer = new();
    private readonly CancellationTokenRegistration _abortOnTimeout;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public HttpExchange(HttpListenerContext context, CancellationToken serverAbort)
    {
        _context = context;
        Aborting = CancellationTokenSource.CreateLinkedTokenSource(_timer.Token, serverAbort);
        _abortOnTimeout = Aborting.Token.Register(Abort);
    }

    public HttpListenerRequest Request => _context.Request;

    public HttpListenerResponse Response => _context.Response;

    /// <summary>Cancelled when a read or write timed out or the server stops hard; the connection is aborted then.</summary>
    public CancellationTokenSource Aborting { get; }

    public int Status { get; private set; }

    public long BytesSent { get; private set; }

    public bool Aborted { get; private set; }

    public TimeSpan Elapsed => _clock.Elapsed;

    public void Dispose()
    {
        _abortOnTimeout.Dispose();
        Aborting.Dispose();
        _timer.Dispose();
    }

    /// <summary>Drops the connection without completing the response (a truncated body must never look complete).</summary>
    public void Abort()
    {
        if (Aborted)
        {
            return;
        }

        Aborted = true;
        try
        {
            _context.Response.Abort();
        }
        catch (Exception ex) when (ex is ObjectDisposedException or HttpListenerException or InvalidOperationException or IOException)
        {
        }
    }

    /// <summary>Starts a response: status and headers; the body, if any, follows with <see cref="WriteAsync"/>.</summary>
    public void Begin(int status, long contentLength, string? contentType = null)
    {
        Status = status;
        Response.StatusCode = status;
        Response.SendChunked = false;
        Response.ContentLength64 = contentLength;
        if (contentType is not null)
        {
            Response.ContentType = contentType;
        }
    }

    /// <summary>Starts a response whose length is not known: chunked, each <see cref="WriteAsync"/> sent as it is written.</summary>
    public void BeginStream(int status, string contentType)
    {
        Status = status;
        Response.StatusCode = status;
        Response.SendChunked = true;
        Response.ContentType = contentType;
    }

    public Task SendJsonAsync(int status, object value, string method) => SendTextAsync(status, "application/json; charset=utf-8", ApiJson.Serialize(value), method);

    /// <summary>
    /// The one way the server answers a failure: <c>{errorId, message, retryable}</c> (<see cref="ErrorBody"/>), local
    /// paths removed. Unless told, an answer is retryable when it is a 429 or 503 or carries Retry-After.
    /// </summary>
    public Task SendErrorAsync(int status, string errorId, string message, string method, bool? retryable = null) =>
        SendJsonAsync(status, ErrorBody.Create(errorId, message, retryable ?? (status is 429 or 503 || Response.Headers["Retry-After"] is not null)), method);

    /// <summary>A failure as <see cref="SendErrorAsync(int, string, string, string, bool?)"/> says it, retryable as <see cref="ErrorBody.IsRetryable"/> judges.</summary>
    public Task SendErrorAsync(int status, ModelCacheException failure, string method) =>
        SendErrorAsync(status, failure.ErrorId, failure.Message, method, ErrorBody.IsRetryable(failure) || status is 429 or 503);

    public async Task SendTextAsync(int status, string contentType, string text, string method)
    {
        var body = Encoding.UTF8.GetBytes(text);
        Begin(status, body.Length, contentType);
        if (!string.Equals(method, "HEAD", StringComparison.Ordinal))
        {
            await WriteAsync(body, 0, body.Length, idle: TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }

        Close();
    }

    /// <summary>Sends <paramref name="count"/> bytes of <paramref name="source"/>, each write bounded by <paramref name="idle"/>.</summary>
    public async Task CopyAsync(Stream source, long count, TimeSpan idle)
    {
        var buffer = new byte[CopyBufferSize];
        var left = count;
        while (left > 0)
        {
            var read = await source.ReadAsync(buffer, 0, (int)Math.Min(buffer.Length, left), Aborting.Token).ConfigureAwait(false);
            if (read == 0)
            {
                throw new ModelCacheException("ServedFileTruncated", ModelCacheErrorKind.ReadError, "The file ended before the length the response announced.");
            }

            await WriteAsync(buffer, 0, read, idle).ConfigureAwait(false);
            left -= read;
        }
    }

    public async Task WriteAsync(byte[] buffer, int offset, int count, TimeSpan idle)
    {
        _timer.CancelAfter(idle);
        try
        {
            await Response.OutputStream.WriteAsync(buffer, offset, count, Aborting.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (Aborting.IsCancellationRequested && ex is not OperationCanceledException)
        {
            throw new OperationCanceledException("The client stopped reading, or the server is stopping.", ex, Aborting.Token);
        }

        _timer.CancelAfter(Timeout.Infinite);
        BytesSent += count;
    }

    /// <summary>
    /// The request body, at most <paramref name="limit"/> bytes, arriving within <paramref name="timeout"/>; null when it
    /// is larger (a 413 is then due; the rest is not read).
    /// </summary>
    public async Task<byte[]?> ReadBodyAsync(int limit, TimeSpan timeout)
    {
        if (Request.ContentLength64 > limit)
        {
            return null;
        }

        if (!Request.HasEntityBody)
        {
            return Array.Empty<byte>();
        }

        var body = new MemoryStream();
        var buffer = new byte[8192];
        _timer.CancelAfter(timeout);
        try
        {
            int read;
            while ((read = await Request.InputStream.ReadAsync(buffer, 0, buffer.Length, Aborting.Token).ConfigureAwait(false)) > 0)
            {
                body.Write(buffer, 0, read);
                if (body.Length > limit)
                {
                    return null;
                }
            }
        }
        catch (Exception ex) when (Aborting.IsCancellationRequested && ex is not OperationCanceledException)
        {
            throw new OperationCanceledException("The request body did not arrive in time.", ex, Aborting.Token);
        }

        _timer.CancelAfter(Timeout.Infinite);
        return body.ToArray();
    }

    /// <summary>
    /// Reads and discards what is left of the request body, at most <paramref name="limit"/> bytes within
    /// <paramref name="timeout"/>. Closing a connection whose request bytes are still unread makes the OS reset it, and
    /// a reset can destroy the answer (a 413) before the client reads it; a bounded drain lets ordinary clients see it.
    /// </summary>
    public async Task DrainBodyAsync(long limit, TimeSpan timeout)
    {
        if (!Request.HasEntityBody || Request.ContentLength64 > limit)
        {
            return;
        }

        var buffer = new byte[8192];
        long drained = 0;
        _timer.CancelAfter(timeout);
        try
        {
            int read;
            while (drained <= limit && (read = await Request.InputStream.ReadAsync(buffer, 0, buffer.Length, Aborting.Token).ConfigureAwait(false)) > 0)
            {
                drained += read;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException || ex is IOException || ex is ObjectDisposedException || ex is HttpListenerException)
        {
            // The client went away or was too slow: the answer goes out (or not) as it would have without the drain.
        }
        finally
        {
            _timer.CancelAfter(Timeout.Infinite);
        }
    }

    /// <summary>Completes the response (for a body fully written).</summary>
    public void Close()
    {
        try
        {
            Response.Close();
        }
        catch (Exception ex) when (ex is ObjectDisposedException or HttpListenerException or InvalidOperationException or IOException)
        {
            Aborted = true;
        }
    }
}
