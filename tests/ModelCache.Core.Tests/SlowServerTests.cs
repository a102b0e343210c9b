using System;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests;

/// <summary>
/// Servers that answer, but too slowly: once the headers are in, a body under the minimum rate over the window is
/// DownloadStalled (naming the rate measured and the window); headers that are not complete within the timeout are
/// DownloadTimedOut, whether nothing came or bytes trickled. The window is shortened through NetworkOptions so each
/// test takes seconds. All on 127.0.0.1.
/// </summary>
public sealed class SlowServerTests : IAsyncLifetime
{
    private static readonly byte[] Bytes = TestModels.RandomBytes(100_000, seed: 21);
    private readonly TempDirectory _temp = new();
    private FaultServer _server = null!;

    public async Task InitializeAsync() => _server = await FaultServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task Headers_then_one_byte_a_second_is_a_stall_named_with_the_measured_rate_and_the_window()
    {
        var model = TestModels.Define(Bytes, _server.Serve("m.onnx", Bytes, new FaultPlan { DripAfterBytes = 0, DripInterval = TimeSpan.FromSeconds(1) }));
        var network = Options(timeout: TimeSpan.FromSeconds(20), window: TimeSpan.FromSeconds(3));
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, network));

        Assert.Equal("DownloadStalled", error.ErrorId);
        Assert.Matches(@"\((0\.\d|1|1\.\d) bytes/s;", error.Message);
        Assert.Contains("1024 bytes/s averaged over 3 s", error.Message);
        // The window decides, not the 20 s read timeout nor a header timeout.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(12), $"took {clock.Elapsed}: {error.Message}");
    }

    [Fact]
    public async Task A_server_that_never_sends_headers_ends_as_the_header_timeout_saying_so()
    {
        var model = TestModels.Define(Bytes, _server.Serve("m.onnx", Bytes, new FaultPlan { WithholdHeaders = true }));
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, Options(timeout: TimeSpan.FromSeconds(2), window: TimeSpan.FromSeconds(30))));

        Assert.Equal("DownloadTimedOut", error.ErrorId);
        Assert.Contains("did not send complete response headers within 2 s", error.Message);
        Assert.Contains("-TimeoutSec", error.RecommendedAction);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Headers_trickled_a_byte_at_a_time_end_as_the_header_timeout_with_a_true_message()
    {
        using var trickle = new HeaderTrickler(TimeSpan.FromMilliseconds(200));
        var model = TestModels.Define(Bytes, new Uri(trickle.BaseAddress + "m.onnx"));

        var error = await Assert.ThrowsAnyAsync<ModelCacheException>(() => Save(model, Options(timeout: TimeSpan.FromSeconds(2), window: TimeSpan.FromSeconds(30))));

        Assert.True(trickle.BytesSent > 0, "the server answered something");
        Assert.Equal("DownloadTimedOut", error.ErrorId);
        Assert.Contains("did not send complete response headers within 2 s", error.Message);
    }

    private static NetworkOptions Options(TimeSpan timeout, TimeSpan window) => new()
    {
        RetryCount = 0,
        Timeout = timeout,
        MinimumBytesPerSecond = 1024,
        MinimumRateWindow = window,
    };

    private async Task<ModelCacheEntry> Save(ModelDefinition model, NetworkOptions network)
    {
        using var planner = new SourcePlanner(Array.Empty<string>(), false, false, network, new FakeEnvironment(_temp.Path));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await new ModelSaver(new CacheStore(_temp.Combine("cache")), planner).SaveAsync(model, false, null, null, timeout.Token);
    }

    /// <summary>Reads the request, then sends a valid status line and headers one byte per interval, for at most 20 s.</summary>
    private sealed class HeaderTrickler : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(30));
        private int _sent;

        public HeaderTrickler(TimeSpan interval)
        {
            _listener.Start();
            BaseAddress = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/";
            _ = Task.Run(() => AcceptAsync(interval));
        }

        public string BaseAddress { get; }

        public int BytesSent => Volatile.Read(ref _sent);

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }

        private async Task AcceptAsync(TimeSpan interval)
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = Task.Run(() => TrickleAsync(client, interval));
            }
        }

        private async Task TrickleAsync(TcpClient client, TimeSpan interval)
        {
            using (client)
            {
                try
                {
                    var stream = client.GetStream();
                    _ = await stream.ReadAsync(new byte[8192], _stop.Token);
                    var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {Bytes.Length}\r\nX-Padding: {new string('x', 200)}\r\n\r\n");
                    var deadline = Stopwatch.StartNew();
                    for (var i = 0; i < head.Length && deadline.Elapsed < TimeSpan.FromSeconds(20); i++)
                    {
                        await stream.WriteAsync(head.AsMemory(i, 1), _stop.Token);
                        Interlocked.Increment(ref _sent);
                        await Task.Delay(interval, _stop.Token);
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or System.IO.IOException)
                {
                }
            }
        }
    }
}
