using System;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.Integrity;
using ModelCache.Store;

namespace ModelCache.Server;

/// <summary>
/// A model cache server for a site on <see cref="HttpListener"/>, which Windows PowerShell 5.1 and PowerShell 7 both
/// have (http.sys on Windows, a managed listener elsewhere). What the managed listener lacks is done here: a bounded
/// number of requests in flight (the next ones get 503 at once), body and write timeouts (<see cref="HttpExchange"/>),
/// and a stop that lets responses in flight finish for a grace period, then aborts them.
/// </summary>
public sealed class ModelCacheServer : IDisposable
{
    private const int PortAttempts = 20;
    private readonly ModelCacheServerOptions _options;
    private readonly HttpListener _listener;
    private readonly ServerRouter _router;
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _abort = new();
    private readonly ConcurrentDictionary<long, Task> _inFlight = new();
    private readonly Task _acceptLoop;
    private long _nextRequest;
    private readonly IDisposable? _ownedSource;
    private readonly ConnectionGate? _gate;
    private volatile bool _stopping;
    private Task? _stopped;

    private ModelCacheServer(ModelCacheServerOptions options, HttpListener listener, Uri uri, ConnectionGate? gate)
    {
        _options = options;
        _gate = gate;
        _listener = listener;
        Uri = uri;
        // Serving is a use: a file this process saved or hashed (Save-Model, Test-ModelHash in the same session) is not hashed again.
        var opener = new VerifiedModelOpener(FileVerifier.Process);
        var source = options.ContentSource ?? ServerContentSources.Create(options, opener, options.Fingerprints);

        // A source the server made (pull-through: fetches in flight) is the server's to stop; one given in the options is not.
        _ownedSource = options.ContentSource is null ? source as IDisposable : null;
        _router = new ServerRouter(options, source, opener, Metrics);
        _slots = new SemaphoreSlim(Math.Max(1, options.MaxConnections));
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The base address actually listened on (the picked port when 0 was asked), e.g. <c>http://127.0.0.1:8080/</c>.</summary>
    public Uri Uri { get; }

    /// <summary>The mirror URL clients put in MODELCACHE_MIRROR.</summary>
    public Uri MirrorUri => new(Uri, "models");

    public ServerMetrics Metrics { get; } = new();

    /// <exception cref="ModelCacheException">ServerStartFailed (the address is taken or not allowed).</exception>
    public static ModelCacheServer Start(ModelCacheServerOptions options)
    {
        var host = options.ListenAddress.Equals(IPAddress.Any) || options.ListenAddress.Equals(IPAddress.IPv6Any) ? "+"
            : options.ListenAddress.AddressFamily == AddressFamily.InterNetworkV6 ? "[" + options.ListenAddress + "]"
            : options.ListenAddress.ToString();
        // Where http.sys does not enforce timeouts (the managed listener), a gate takes the public address and the
        // listener a private loopback port behind it.
        var gated = options.ConnectionGate && !RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
        if (gated)
        {
            host = "127.0.0.1";
        }

        Exception? last = null;
        for (var attempt = 0; attempt < (options.Port == 0 || gated ? PortAttempts : 1); attempt++)
        {
            var port = options.Port == 0 || gated ? FreePort(gated ? IPAddress.Loopback : options.ListenAddress) : options.Port;
            var prefix = string.Format(CultureInfo.InvariantCulture, "http://{0}:{1}/", host, port);
            var listener = new HttpListener { IgnoreWriteExceptions = true };
            listener.Prefixes.Add(prefix);
            ApplyPlatformTimeouts(listener, options);
            try
            {
                listener.Start();
            }
            catch (Exception ex) when (ex is HttpListenerException or SocketException)
            {
                // A port picked free may be taken by the time it is bound: pick another.
                last = ex;
                listener.Close();
                continue;
            }

            if (gated)
            {
                ConnectionGate gate;
                try
                {
                    gate = new ConnectionGate(options.ListenAddress, options.Port, new IPEndPoint(IPAddress.Loopback, port), options.MaxConnections, options.MaxConnectionsPerAddress, options.HeaderTimeout, options.IdleTimeout);
                }
                catch (SocketException ex)
                {
                    listener.Close();
                    throw new ModelCacheException("ServerStartFailed", ModelCacheErrorKind.ResourceUnavailable,
                        $"Cannot listen on {options.ListenAddress} port {options.Port}: {ex.Message}", "Pick another -Port, or free the port.", ex);
                }

                var address = options.ListenAddress.Equals(IPAddress.Any) || options.ListenAddress.Equals(IPAddress.IPv6Any) ? "127.0.0.1"
                    : options.ListenAddress.AddressFamily == AddressFamily.InterNetworkV6 ? "[" + options.ListenAddress + "]" : options.ListenAddress.ToString();
                return new ModelCacheServer(options, listener, new Uri(string.Format(CultureInfo.InvariantCulture, "http://{0}:{1}/", address, gate.Port)), gate);
            }

            var shown = host == "+" ? "127.0.0.1" : host;
            return new ModelCacheServer(options, listener, new Uri(string.Format(CultureInfo.InvariantCulture, "http://{0}:{1}/", shown, port)), null);
        }

        throw new ModelCacheException("ServerStartFailed", ModelCacheErrorKind.ResourceUnavailable,
            $"Cannot listen on {options.ListenAddress} port {options.Port}: {last?.Message}",
            "Pick another -Port, or free the port. On Windows a non-administrator needs a URL reservation: netsh http add urlacl url=http://+:<port>/ user=<DOMAIN\\user>.", last);
    }

    /// <summary>Serves until <paramref name="cancellationToken"/> is cancelled, then stops (see <see cref="StopAsync"/>).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (cancellationToken.Register(() => cancelled.TrySetResult(true)))
        {
            await Task.WhenAny(cancelled.Task, _acceptLoop).ConfigureAwait(false);
        }

        await StopAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Stops taking requests (new ones get 503), lets responses in flight finish for <see cref="ModelCacheServerOptions.ShutdownGrace"/>,
    /// aborts what is left (a client sees a cut connection, never a short body that looks complete), then closes the listener.
    /// </summary>
    public Task StopAsync() => _stopped ??= StopCoreAsync();

    public void Dispose()
    {
        StopAsync().GetAwaiter().GetResult();
        _ownedSource?.Dispose();
        _gate?.Dispose();
        _abort.Dispose();
        _slots.Dispose();
    }

    private async Task StopCoreAsync()
    {
        _stopping = true;
        _gate?.Stop();
        var inFlight = Task.WhenAll(_inFlight.Values);
        if (await Task.WhenAny(inFlight, Task.Delay(_options.ShutdownGrace)).ConfigureAwait(false) != inFlight)
        {
            _abort.Cancel();
            await Task.WhenAny(inFlight, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        }

        try
        {
            _listener.Close();
        }
        catch (ObjectDisposedException)
        {
        }

        await _acceptLoop.ConfigureAwait(false);
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                if (_stopping || !_listener.IsListening)
                {
                    return; // Closed by StopAsync.
                }

                _options.Warning?.Invoke($"ServerError {NewIncident()}: accepting a request failed: {ex.Message}");
                await Task.Delay(50).ConfigureAwait(false);
                continue;
            }

            try
            {
                Dispatch(context);
            }
            catch (ObjectDisposedException)
            {
                // The managed listener hands over requests it has answered itself already (its own 400 or 411), with
                // the response disposed: nothing is left to say.
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // No request may stop the loop that takes the next one.
                _options.Warning?.Invoke($"ServerError {NewIncident()}: taking a request failed: {ex}");
                try
                {
                    context.Response.Abort();
                }
                catch (Exception abortFailed) when (abortFailed is ObjectDisposedException or HttpListenerException or InvalidOperationException or System.IO.IOException)
                {
                }
            }
        }
    }

    private void Dispatch(HttpListenerContext context)
    {
        _options.OnAccepted?.Invoke(context);
        if (_gate is not null)
        {
            // One request per gated connection, so the gate's header deadline covers every request.
            context.Response.KeepAlive = false;
        }

        if (_stopping)
        {
            Refuse(context, "ServerStopping", "The server is stopping.");
            return;
        }

        if (!_slots.Wait(0))
        {
            Refuse(context, "ServerBusy", $"The server is handling {_options.MaxConnections} requests; retry shortly.");
            return;
        }

        var id = Interlocked.Increment(ref _nextRequest);
        var handled = Task.Run(() => HandleAsync(context));
        _inFlight[id] = handled;
        _ = handled.ContinueWith(_ =>
        {
            _inFlight.TryRemove(id, out Task _);
            _slots.Release();
        }, TaskScheduler.Default);
    }

    /// <summary>A short id that ties a 500 a client saw to the server's log line about it.</summary>
    private static string NewIncident() => Guid.NewGuid().ToString("N").Substring(0, 12);

    /// <summary>503 without reading anything or touching the router: cheap enough to keep up with a flood.</summary>
    private void Refuse(HttpListenerContext context, string errorId, string message)
    {
        var exchange = new HttpExchange(context, _abort.Token);
        exchange.Response.KeepAlive = false;
        exchange.Response.Headers["Retry-After"] = "1";
        _ = FinishAsync(exchange, exchange.SendErrorAsync(503, errorId, message, context.Request.HttpMethod));
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var exchange = new HttpExchange(context, _abort.Token);
        await FinishAsync(exchange, RouteSafelyAsync(exchange)).ConfigureAwait(false);
    }

    private async Task RouteSafelyAsync(HttpExchange exchange)
    {
        try
        {
            _options.BeforeRoute?.Invoke(exchange.Request.Url?.AbsolutePath ?? string.Empty);
            await _router.RouteAsync(exchange).ConfigureAwait(false);
        }
        catch (Exception ex) when (ClientGone(exchange, ex))
        {
            exchange.Abort(); // A client gone, a timeout, or a hard stop: nothing more can be said to it.
        }
        catch (ModelCacheException ex)
        {
            await TrySendFailureAsync(exchange, ModelFileEndpoint.StatusOf(ex), ex.ErrorId, ex.Message).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            var incident = NewIncident();
            _options.Warning?.Invoke($"ServerError {incident}: {exchange.Request.HttpMethod} {RequestLogEntry.Printable(exchange.Request.RawUrl)} failed: {ex}");
            await TrySendFailureAsync(exchange, 500, "ServerError", $"The server failed to answer (incident {incident} in its log).").ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Whether <paramref name="ex"/> means the client cannot be answered (a timeout or stop aborted the exchange, the
    /// connection failed, or the listener answered the request itself and disposed its response) rather than a fault of
    /// the server's own, which is a 500.
    /// </summary>
    private static bool ClientGone(HttpExchange exchange, Exception ex) =>
        exchange.Aborting.IsCancellationRequested
        || ex is HttpListenerException
        || (ex is ObjectDisposedException disposed && disposed.ObjectName == typeof(HttpListenerResponse).FullName);

    private static async Task TrySendFailureAsync(HttpExchange exchange, int status, string errorId, string message)
    {
        try
        {
            await exchange.SendErrorAsync(status, errorId, message, exchange.Request.HttpMethod).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or HttpListenerException or System.IO.IOException or ObjectDisposedException or OperationCanceledException)
        {
            exchange.Abort(); // Headers were sent already: the response can only be cut.
        }
    }

    /// <summary>Awaits the response, counts and logs it, and disposes the exchange.</summary>
    private async Task FinishAsync(HttpExchange exchange, Task work)
    {
        try
        {
            await work.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpListenerException or System.IO.IOException or ObjectDisposedException or InvalidOperationException)
        {
            exchange.Abort();
        }

        var status = exchange.Aborted && exchange.Status is 200 or 206 ? 499 : exchange.Status == 0 ? 499 : exchange.Status;
        Metrics.Record(status, exchange.BytesSent);
        _options.RequestLog?.Invoke(new RequestLogEntry(exchange.Request.HttpMethod ?? "-", RequestLogEntry.Printable(exchange.Request.RawUrl), status, exchange.BytesSent, exchange.Elapsed));
        exchange.Dispose();
    }

    private static int FreePort(IPAddress address)
    {
        var probe = new TcpListener(address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Any : address.Equals(IPAddress.Any) ? IPAddress.Any : address, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    /// <summary>http.sys enforces these itself; the managed listener (Linux, macOS) throws PlatformNotSupportedException, and <see cref="HttpExchange"/> covers body and writes.</summary>
    private static void ApplyPlatformTimeouts(HttpListener listener, ModelCacheServerOptions options)
    {
        try
        {
            listener.TimeoutManager.HeaderWait = options.HeaderTimeout;
            listener.TimeoutManager.EntityBody = options.BodyTimeout;
            listener.TimeoutManager.IdleConnection = options.IdleTimeout;
        }
        catch (PlatformNotSupportedException)
        {
        }
    }
}
