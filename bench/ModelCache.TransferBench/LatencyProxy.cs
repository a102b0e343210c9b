using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ModelCache.TransferBench;

/// <summary>
/// A minimal reverse proxy (Kestrel on 127.0.0.1, OS-assigned port) in front of nginx that waits a
/// fixed delay before forwarding each request, i.e. adds that much time-to-first-byte per request,
/// like a distant server. nginx cannot delay responses natively. Headers (Range, If-Range, ETag,
/// Content-Range…) pass through; bodies are streamed, not buffered.
/// </summary>
internal sealed class LatencyProxy : IAsyncDisposable
{
    private static readonly string[] HopByHop = { "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer", "Host" };
    private readonly WebApplication _app;
    private readonly HttpClient _client;
    private readonly Uri _upstream;
    private readonly TimeSpan _delay;
    private int _requests;

    private LatencyProxy(WebApplication app, Uri upstream, TimeSpan delay)
    {
        _app = app;
        _upstream = upstream;
        _delay = delay;
        _client = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
            UseCookies = false,
            MaxConnectionsPerServer = int.MaxValue,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public Uri BaseAddress { get; private set; } = null!;

    public int Requests => Volatile.Read(ref _requests);

    public static async Task<LatencyProxy> StartAsync(Uri upstream, TimeSpan delay)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var proxy = new LatencyProxy(app, upstream, delay);
        app.Run(proxy.ForwardAsync);
        await app.StartAsync().ConfigureAwait(false);
        var address = ((IServer)app.Services.GetService(typeof(IServer))!).Features.Get<IServerAddressesFeature>()!.Addresses.First();
        proxy.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _client.Dispose();
    }

    private async Task ForwardAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        var aborted = context.RequestAborted;
        await Task.Delay(_delay, aborted).ConfigureAwait(false);

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method),
            new Uri(_upstream, context.Request.Path.Value!.TrimStart('/') + context.Request.QueryString.Value));
        foreach (var header in context.Request.Headers.Where(h => !HopByHop.Contains(h.Key, StringComparer.OrdinalIgnoreCase)))
        {
            request.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray());
        }

        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, aborted).ConfigureAwait(false);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var header in response.Headers.Concat(response.Content.Headers).Where(h => !HopByHop.Contains(h.Key, StringComparer.OrdinalIgnoreCase)))
        {
            context.Response.Headers[header.Key] = header.Value.ToArray();
        }

        await response.Content.CopyToAsync(context.Response.Body, aborted).ConfigureAwait(false);
    }
}
