using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace ModelCache.Server;

/// <summary>
/// A TCP front for the managed HttpListener (Linux, macOS), which keeps a connection whose headers never finish for as
/// long as the client likes (measured: still open after 130 s), counts no connections, and whose TimeoutManager is not
/// supported. The gate takes the public address: a connection over the cap gets a 503 at once; each client has the
/// header timeout to send a complete header block (else the connection is closed); then bytes are relayed both ways to
/// the listener on a private loopback port, and a connection with no bytes either way for the idle timeout is closed.
/// The server answers every gated request with <c>Connection: close</c>, so each connection carries one request and the
/// header deadline covers them all. Each remote address may hold at most a share of the slots, so one client that opens
/// connections and never finishes them cannot lock the others out. A request with neither Content-Length nor
/// Transfer-Encoding has an empty body (RFC 9112 §6.3); the managed listener answers such a POST or PUT with its own 411
/// instead, so the gate adds <c>Content-Length: 0</c> to it.
/// </summary>
internal sealed class ConnectionGate : IDisposable
{
    private const int MaxHeaderBytes = 32 * 1024;
    // Below the large-object threshold (85,000 bytes): a flood of short connections then leaves only cheap gen-0
    // garbage, where 256 KiB buffers fragmented the large-object heap (RSS +50 MiB after a wrk burst).
    private const int ResponseBufferSize = 64 * 1024;
    private const int RequestBufferSize = 16 * 1024;
    private static readonly TimeSpan SlotWait = TimeSpan.FromMilliseconds(250);
    private static readonly byte[] HeaderEnd = { 13, 10, 13, 10 };
    private static readonly byte[] Busy = Encoding.ASCII.GetBytes("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    private static readonly byte[] HeadersTooLarge = Encoding.ASCII.GetBytes("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly SemaphoreSlim _slots;
    private readonly int _maxPerAddress;
    private readonly System.Collections.Generic.Dictionary<IPAddress, int> _perAddress = new();
    private readonly TimeSpan _headerTimeout;
    private readonly TimeSpan _idleTimeout;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly Task _acceptLoop;

    public ConnectionGate(IPAddress address, int port, IPEndPoint target, int maxConnections, int maxPerAddress, TimeSpan headerTimeout, TimeSpan idleTimeout)
    {
        _target = target;
        _slots = new SemaphoreSlim(Math.Max(1, maxConnections));
        _maxPerAddress = Math.Max(1, maxPerAddress);
        _headerTimeout = headerTimeout;
        _idleTimeout = idleTimeout;
        _listener = new TcpListener(address, port);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The public port (the one picked when 0 was asked).</summary>
    public int Port { get; }

    /// <summary>Stops accepting; connections in flight end with the listener behind the gate.</summary>
    public void Stop()
    {
        _stopping.Cancel();
        _listener.Stop();
    }

    public void Dispose()
    {
        Stop();
        try
        {
            _acceptLoop.Wait(TimeSpan.FromSeconds(5));
            Task.WaitAll(_connections.Keys.ToArray(), TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or SocketException or InvalidOperationException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                // Not a stop (e.g. out of file descriptors under a flood): keep accepting once the moment passes.
                await Task.Delay(50).ConfigureAwait(false);
                continue;
            }

            var connection = ServeAsync(client);
            _connections[connection] = true;
            _ = connection.ContinueWith(done => _connections.TryRemove(done, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var remote = RemoteAddress(client);

            // A finished connection frees its slot only once the server's end has closed, which a client that got
            // the whole response may beat with its next request: a full gate waits a moment before it refuses.
            if (remote is null || !await TryEnterAddressAsync(remote).ConfigureAwait(false))
            {
                await TrySendAsync(client, Busy).ConfigureAwait(false);
                return;
            }

            try
            {
                if (!await _slots.WaitAsync(SlotWait).ConfigureAwait(false))
                {
                    await TrySendAsync(client, Busy).ConfigureAwait(false);
                    return;
                }

                try
                {
                    client.NoDelay = true;
                    var headers = await ReadHeadersAsync(client).ConfigureAwait(false);
                    if (headers is null)
                    {
                        return;
                    }

                    var request = WithEmptyBodyDeclared(headers.Value);
                    using var upstream = new TcpClient(_target.AddressFamily) { NoDelay = true };
                    await upstream.ConnectAsync(_target.Address, _target.Port).ConfigureAwait(false);
                    await upstream.GetStream().WriteAsync(request.Array!, request.Offset, request.Count).ConfigureAwait(false);
                    await RelayAsync(client, upstream).ConfigureAwait(false);
                }
                finally
                {
                    _slots.Release();
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // A client that went away, or a stop: the connection simply ends.
            }
            finally
            {
                LeaveAddress(remote);
            }
        }
    }

    private static IPAddress? RemoteAddress(TcpClient client)
    {
        try
        {
            var address = ((IPEndPoint)client.Client.RemoteEndPoint).Address;
            return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidCastException or NullReferenceException)
        {
            return null; // Gone before it was counted.
        }
    }

    /// <summary>Counts a connection against its address's share, waiting up to <see cref="SlotWait"/> for one (see the slot wait).</summary>
    private async Task<bool> TryEnterAddressAsync(IPAddress remote)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            lock (_perAddress)
            {
                _perAddress.TryGetValue(remote, out var held);
                if (held < _maxPerAddress)
                {
                    _perAddress[remote] = held + 1;
                    return true;
                }
            }

            if (clock.Elapsed >= SlotWait)
            {
                return false;
            }

            await Task.Delay(25).ConfigureAwait(false);
        }
    }

    private void LeaveAddress(IPAddress remote)
    {
        lock (_perAddress)
        {
            if (_perAddress.TryGetValue(remote, out var held) && held > 1)
            {
                _perAddress[remote] = held - 1;
            }
            else
            {
                _perAddress.Remove(remote);
            }
        }
    }

    /// <summary>
    /// The request as given, or with <c>Content-Length: 0</c> added after the request line when it declares neither a
    /// length nor a transfer coding (an empty body by RFC 9112 §6.3, which the managed listener would answer with 411).
    /// </summary>
    internal static ArraySegment<byte> WithEmptyBodyDeclared(ArraySegment<byte> request)
    {
        var buffer = request.Array!;
        var end = IndexOf(buffer, HeaderEnd, request.Offset, request.Offset + request.Count);
        var lineEnd = end < 0 ? -1 : IndexOfCrLf(buffer, request.Offset, end + 2);
        if (end < 0 || lineEnd < 0)
        {
            return request;
        }

        foreach (var line in Encoding.ASCII.GetString(buffer, lineEnd + 2, end + 2 - (lineEnd + 2)).Split(new[] { "\r\n" }, StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = line.IndexOf(':');
            var name = colon < 0 ? line : line.Substring(0, colon);
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                return request;
            }
        }

        var insert = Encoding.ASCII.GetBytes("Content-Length: 0\r\n");
        var result = new byte[request.Count + insert.Length];
        var head = lineEnd + 2 - request.Offset;
        Buffer.BlockCopy(buffer, request.Offset, result, 0, head);
        Buffer.BlockCopy(insert, 0, result, head, insert.Length);
        Buffer.BlockCopy(buffer, request.Offset + head, result, head + insert.Length, request.Count - head);
        return new ArraySegment<byte>(result);
    }

    private static int IndexOfCrLf(byte[] buffer, int from, int to)
    {
        for (var i = from; i < to - 1; i++)
        {
            if (buffer[i] == 13 && buffer[i + 1] == 10)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The bytes up to and including the blank line ending the headers, or null when they did not come in time (or are too large: 431).</summary>
    private async Task<ArraySegment<byte>?> ReadHeadersAsync(TcpClient client)
    {
        var buffer = new byte[MaxHeaderBytes];
        var count = 0;
        var stream = client.GetStream();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        deadline.CancelAfter(_headerTimeout);
        using (deadline.Token.Register(client.Close))
        {
            while (count < buffer.Length)
            {
                var read = await stream.ReadAsync(buffer, count, buffer.Length - count).ConfigureAwait(false);
                if (read == 0)
                {
                    return null;
                }

                var searchFrom = Math.Max(0, count - HeaderEnd.Length + 1);
                count += read;
                if (IndexOf(buffer, HeaderEnd, searchFrom, count) >= 0)
                {
                    return new ArraySegment<byte>(buffer, 0, count);
                }
            }
        }

        await TrySendAsync(client, HeadersTooLarge).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// Copies both ways until the server's side closes, or, once the response has started, nothing moved either way for
    /// the idle timeout (a client that stopped reading). Before the response starts the server decides how long it takes
    /// (it may be hashing a large model, or waiting for an upstream fetch).
    /// </summary>
    private async Task RelayAsync(TcpClient client, TcpClient upstream)
    {
        var clock = Stopwatch.StartNew();
        long lastActivity = 0;
        var responseStarted = 0;
        using var done = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        async Task PumpAsync(TcpClient from, TcpClient to, bool isResponse)
        {
            var buffer = new byte[isResponse ? ResponseBufferSize : RequestBufferSize];
            int read;
            while ((read = await from.GetStream().ReadAsync(buffer, 0, buffer.Length, done.Token).ConfigureAwait(false)) > 0)
            {
                await to.GetStream().WriteAsync(buffer, 0, read, done.Token).ConfigureAwait(false);
                Interlocked.Exchange(ref lastActivity, clock.ElapsedTicks);
                if (isResponse)
                {
                    Volatile.Write(ref responseStarted, 1);
                }
            }

            // One side finished sending: let the other know, so a response ends when the server closes.
            to.Client.Shutdown(SocketShutdown.Send);
        }

        var toServer = PumpAsync(client, upstream, isResponse: false);
        var toClient = PumpAsync(upstream, client, isResponse: true);
        while (!toClient.IsCompleted)
        {
            var idle = TimeSpan.FromTicks((long)((clock.ElapsedTicks - Interlocked.Read(ref lastActivity)) * (TimeSpan.TicksPerSecond / (double)Stopwatch.Frequency)));
            if ((Volatile.Read(ref responseStarted) == 1 && idle > _idleTimeout) || _stopping.IsCancellationRequested)
            {
                break;
            }

            await Task.WhenAny(toClient, Task.Delay(TimeSpan.FromMilliseconds(500))).ConfigureAwait(false);
        }

        // The response is over (or stalled): close both sockets, which also ends the pump still reading.
        done.Cancel();
        client.Close();
        upstream.Close();
        await Task.WhenAll(Observe(toServer), Observe(toClient)).ConfigureAwait(false);
    }

    private static async Task Observe(Task pump)
    {
        try
        {
            await pump.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private static async Task TrySendAsync(TcpClient client, byte[] response)
    {
        try
        {
            await client.GetStream().WriteAsync(response, 0, response.Length).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static int IndexOf(byte[] buffer, byte[] pattern, int from, int to)
    {
        for (var i = from; i <= to - pattern.Length; i++)
        {
            var j = 0;
            while (j < pattern.Length && buffer[i + j] == pattern[j])
            {
                j++;
            }

            if (j == pattern.Length)
            {
                return i;
            }
        }

        return -1;
    }
}
