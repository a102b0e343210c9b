using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ModelCache.Testing;

/// <summary>
/// A Kestrel server on 127.0.0.1 (port 0, optionally https with a throw-away certificate) that
/// serves registered files with Range/If-Range support and, when a <see cref="FaultPlan"/> says so,
/// misbehaves: drops, fails, ignores Range, sends wrong bytes or HTML, stalls, redirects. It logs
/// every request. Nothing but loopback is ever bound.
/// </summary>
public sealed class FaultServer : IAsyncDisposable
{
    private const int ChunkSize = 16 * 1024;
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, (byte[] Content, FaultPlan Plan)> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<RequestRecord> _log = new();
    private int _active;
    private int _maxActive;

    private FaultServer(WebApplication app, X509Certificate2? certificate)
    {
        _app = app;
        Certificate = certificate;
    }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The server's certificate when it runs https.</summary>
    public X509Certificate2? Certificate { get; }

    public IReadOnlyList<RequestRecord> Requests => _log.ToList();

    /// <summary>Most requests in flight at once.</summary>
    public int MaxConcurrentRequests => Volatile.Read(ref _maxActive);

    public static async Task<FaultServer> StartAsync(bool https = false)
    {
        var certificate = https ? CreateCertificate() : null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }));
        var app = builder.Build();
        var server = new FaultServer(app, certificate);
        app.Run(server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        var address = ((IServer)app.Services.GetService(typeof(IServer))!).Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        return server;
    }

    /// <summary>Serves <paramref name="content"/> at <paramref name="path"/>, misbehaving as <paramref name="plan"/> says.</summary>
    public Uri Serve(string path, byte[] content, FaultPlan? plan = null)
    {
        _files["/" + path.TrimStart('/')] = (content, plan ?? new FaultPlan());
        return new Uri(BaseAddress, path.TrimStart('/'));
    }

    public IReadOnlyList<RequestRecord> RequestsFor(string path) => _log.Where(r => r.Path == "/" + path.TrimStart('/')).ToList();

    public int RequestCount(string path) => RequestsFor(path).Count;

    public int TotalRequests => _log.Count;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        Certificate?.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var active = Interlocked.Increment(ref _active);
        for (var max = Volatile.Read(ref _maxActive); active > max && Interlocked.CompareExchange(ref _maxActive, active, max) != max; max = Volatile.Read(ref _maxActive))
        {
        }

        var request = context.Request;
        var path = Uri.UnescapeDataString(request.Path.Value ?? "/");
        var record = new RequestRecord(path, request.Host.Value ?? string.Empty, request.Headers.Range.ToString(), request.Headers.IfRange.ToString(), request.Headers.Authorization.ToString());
        _log.Enqueue(record);
        var attempt = _counts.AddOrUpdate(path, 1, (_, n) => n + 1);
        try
        {
            await RespondAsync(context, path, attempt, record).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The client went away (a test cancelled or timed out): nothing to answer.
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }

    private async Task RespondAsync(HttpContext context, string path, int attempt, RequestRecord record)
    {
        var response = context.Response;
        if (!_files.TryGetValue(path, out var file))
        {
            record.Status = response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var (content, plan) = file;
        if (plan.WithholdHeaders)
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ConfigureAwait(false);
        }

        if (plan.RedirectTo is { } target)
        {
            record.Status = response.StatusCode = StatusCodes.Status302Found;
            response.Headers.Location = target.ToString();
            return;
        }

        if (attempt <= plan.FailTimes)
        {
            record.Status = response.StatusCode = plan.FailStatus;
            if (plan.RetryAfterSeconds is { } seconds)
            {
                response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (plan.FailJson is { } json)
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(json);
                response.ContentType = "application/json; charset=utf-8";
                response.ContentLength = bytes.Length;
                await response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
            }

            return;
        }

        if (plan.Html || plan.HtmlDisguised)
        {
            record.Status = response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = plan.Html ? "text/html; charset=utf-8" : "application/octet-stream";
            await response.WriteAsync("<!DOCTYPE html>\n<html><body><h1>Sign in to continue</h1></body></html>", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var body = plan.WrongBytes ?? content;
        var etag = "\"" + Convert.ToHexString(SHA256.HashData(content))[..16] + "\"";
        response.Headers.ETag = etag;
        response.Headers.LastModified = "Mon, 02 Nov 2026 10:00:00 GMT";
        response.Headers.AcceptRanges = "bytes";
        response.ContentType = "application/octet-stream";

        var start = 0L;
        if (!plan.IgnoreRange && TryParseRange(record.Range, out var from) && (record.IfRange.Length == 0 || record.IfRange == etag) && from < body.Length)
        {
            start = from;
            record.Status = response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = $"bytes {start}-{body.Length - 1}/{body.Length}";
        }
        else
        {
            record.Status = response.StatusCode = StatusCodes.Status200OK;
        }

        if (plan.EndlessBody)
        {
            record.Status = response.StatusCode = StatusCodes.Status200OK;
            await SendEndlessAsync(context, body, plan, record).ConfigureAwait(false);
            return;
        }

        if (!plan.OmitContentLength)
        {
            response.ContentLength = plan.AnnouncedLength ?? body.Length - start;
        }

        long? dropAt = attempt <= plan.DropTimes ? plan.DropAfterBytes : null;
        long? stallAt = attempt <= plan.StallTimes ? plan.StallAfterBytes : null;
        var sent = 0L;
        for (var position = start; position < body.Length; position += ChunkSize)
        {
            var count = (int)Math.Min(ChunkSize, body.Length - position);
            if (dropAt is { } drop && sent + count > drop)
            {
                await response.Body.WriteAsync(body.AsMemory((int)position, (int)Math.Max(0, drop - sent)), context.RequestAborted).ConfigureAwait(false);
                await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                record.BytesSent = sent + Math.Max(0, drop - sent);
                context.Abort();
                return;
            }

            if (plan.DripInterval is { } interval && sent + count > plan.DripAfterBytes)
            {
                await DripAsync(context, body, position, (int)Math.Max(0, plan.DripAfterBytes - sent), interval, record, sent).ConfigureAwait(false);
                return;
            }

            if (stallAt is { } stall && sent + count > stall)
            {
                await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ConfigureAwait(false);
            }

            await response.Body.WriteAsync(body.AsMemory((int)position, count), context.RequestAborted).ConfigureAwait(false);
            sent += count;
            record.BytesSent = sent;
            if (plan.BytesPerSecond is { } rate)
            {
                await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromSeconds((double)count / rate), context.RequestAborted).ConfigureAwait(false);
            }
        }

        record.Completed = true;
    }

    /// <summary>The content, then zeros, chunked, until the client leaves or the safety limit is reached.</summary>
    private static async Task SendEndlessAsync(HttpContext context, byte[] body, FaultPlan plan, RequestRecord record)
    {
        var filler = new byte[ChunkSize * 4];
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        var sent = (long)body.Length;
        while (sent < plan.EndlessLimitBytes && !context.RequestAborted.IsCancellationRequested)
        {
            await context.Response.Body.WriteAsync(filler, context.RequestAborted).ConfigureAwait(false);
            sent += filler.Length;
            record.BytesSent = sent;
        }
    }

    /// <summary>Sends <paramref name="first"/> bytes from <paramref name="position"/> at once, then one byte per interval to the end.</summary>
    private static async Task DripAsync(HttpContext context, byte[] body, long position, int first, TimeSpan interval, RequestRecord record, long sent)
    {
        var response = context.Response;
        await response.Body.WriteAsync(body.AsMemory((int)position, first), context.RequestAborted).ConfigureAwait(false);
        sent += first;
        for (var at = position + first; at < body.Length; at++)
        {
            await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            await Task.Delay(interval, context.RequestAborted).ConfigureAwait(false);
            await response.Body.WriteAsync(body.AsMemory((int)at, 1), context.RequestAborted).ConfigureAwait(false);
            record.BytesSent = ++sent;
        }

        record.Completed = true;
    }

    private static bool TryParseRange(string header, out long from)
    {
        from = 0;
        return header.StartsWith("bytes=", StringComparison.Ordinal) && header.EndsWith('-') &&
               long.TryParse(header.AsSpan(6, header.Length - 7), out from);
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }
}

/// <summary>One request the <see cref="FaultServer"/> received and what it did with it.</summary>
public sealed class RequestRecord
{
    public RequestRecord(string path, string host, string range, string ifRange, string authorization)
    {
        Path = path;
        Host = host;
        Range = range;
        IfRange = ifRange;
        Authorization = authorization;
    }

    public string Path { get; }

    public string Host { get; }

    public string Range { get; }

    public string IfRange { get; }

    public string Authorization { get; }

    public int Status { get; set; }

    public long BytesSent { get; set; }

    /// <summary>The whole response body was sent.</summary>
    public bool Completed { get; set; }

    public override string ToString() => $"{Path} {Status} range='{Range}' sent={BytesSent} completed={Completed}";
}
