using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Server;

namespace ModelCache.Core.Tests.Server;

/// <summary>Slow clients are dropped after the idle timeout while others are served; requests over MaxConnections get 503 at once.</summary>
public sealed class ServerLimitTests
{
    private static readonly byte[] Large = TestModels.RandomBytes(48 << 20, seed: 33);
    private static readonly ModelDefinition LargeModel = TestModels.Define(Large, new Uri("https://example.invalid/large.onnx"), member: "LARGE", fileName: "large.onnx");

    [Fact]
    public async Task A_client_that_stops_reading_is_dropped_after_the_idle_timeout_and_others_are_served_meanwhile()
    {
        using var fixture = new ServerFixture(o => o.IdleTimeout = TimeSpan.FromSeconds(1), new[] { LargeModel });
        fixture.Put(LargeModel, Large);

        using var slow = new TcpClient { ReceiveBufferSize = 4096 };
        await slow.ConnectAsync(fixture.Server.Uri.Host, fixture.Server.Uri.Port);
        var stream = slow.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /models/large.onnx HTTP/1.1\r\nHost: {fixture.Server.Uri.Authority}\r\n\r\n"));
        var head = new byte[1024];
        Assert.True(await stream.ReadAsync(head) > 0);

        // Meanwhile another client is served in full.
        using (var response = await fixture.Http.GetAsync("models/a.onnx"))
        {
            Assert.Equal(ServerFixture.BytesA, await response.Content.ReadAsByteArrayAsync());
        }

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(15) && !LoggedAborted(fixture))
        {
            await Task.Delay(100);
        }

        Assert.True(LoggedAborted(fixture), "the slow response was not dropped within 15 s: " + string.Join("; ", fixture.Log));
        var entry = fixture.Log.Find(l => l.Path == "/models/large.onnx")!;
        Assert.InRange(entry.Bytes, 1, Large.Length - 1);

        // The connection was cut: draining what the kernel buffered ends before the whole file.
        var drained = 0L;
        var buffer = new byte[1 << 16];
        using var drainTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, drainTimeout.Token)) > 0)
            {
                drained += read;
            }
        }
        catch (IOException)
        {
        }

        Assert.True(drained < Large.Length, $"drained {drained} bytes");
    }

    private static bool LoggedAborted(ServerFixture fixture) => LogSnapshot(fixture) is var log && Array.Exists(log, l => l.Path == "/models/large.onnx" && l.Status == 499);

    private static ModelCache.Server.RequestLogEntry[] LogSnapshot(ServerFixture fixture)
    {
        lock (fixture.Log)
        {
            return fixture.Log.ToArray();
        }
    }

    [Fact]
    public async Task Requests_over_MaxConnections_get_503_at_once_and_the_held_ones_complete()
    {
        var gate = new GateSource();
        using var fixture = new ServerFixture(o =>
        {
            o.MaxConnections = 2;
            o.ContentSource = gate;
        });

        var held1 = fixture.Http.GetAsync("models/a.onnx");
        var held2 = fixture.Http.GetAsync("models/b.onnx");
        await gate.WaitForAsync(2);

        var clock = Stopwatch.StartNew();
        using (var refused = await fixture.Http.GetAsync("models/a.onnx"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("1", Assert.Single(refused.Headers.GetValues("Retry-After")));
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"503 took {clock.Elapsed}");
        gate.Release();
        using var first = await held1;
        using var second = await held2;
        Assert.Equal(HttpStatusCode.NotFound, first.StatusCode); // The gate serves nothing once released.
        Assert.Equal(HttpStatusCode.NotFound, second.StatusCode);
        using var after = await fixture.Http.GetAsync("index.json");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task A_client_that_never_finishes_its_headers_is_cut_after_the_header_timeout_and_others_are_served()
    {
        using var fixture = new ServerFixture(o => o.HeaderTimeout = TimeSpan.FromSeconds(1));
        using var slowloris = new TcpClient();
        await slowloris.ConnectAsync(IPAddress.Loopback, fixture.Server.Uri.Port);
        var stream = slowloris.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "));

        using (var other = await fixture.Http.GetAsync("index.json"))
        {
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        }

        var clock = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var read = await ReadOrClosedAsync(stream, timeout.Token);

        Assert.Equal(0, read); // closed without an answer
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the connection stayed open {clock.Elapsed}");
    }

    [Fact]
    public async Task Connections_over_MaxConnections_get_503_even_before_they_send_a_request()
    {
        using var fixture = new ServerFixture(o => o.MaxConnections = 3);
        var idle = new System.Collections.Generic.List<TcpClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, fixture.Server.Uri.Port);
                idle.Add(client);
            }

            await Task.Delay(300); // let the server count them
            using var refused = new TcpClient();
            await refused.ConnectAsync(IPAddress.Loopback, fixture.Server.Uri.Port);
            var buffer = new byte[256];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var read = await refused.GetStream().ReadAsync(buffer, timeout.Token);
            Assert.StartsWith("HTTP/1.1 503", Encoding.ASCII.GetString(buffer, 0, read));
        }
        finally
        {
            idle.ForEach(c => c.Dispose());
        }

        await Task.Delay(300);
        using var after = await fixture.Http.GetAsync("index.json");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    private static async Task<int> ReadOrClosedAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        try
        {
            return await stream.ReadAsync(new byte[64], cancellationToken);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Holds every request until released, then answers 404.</summary>
    private sealed class GateSource : IModelContentSource
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _waiting;

        public async Task<ServedContent> OpenAsync(ModelDefinition model, long offset, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _waiting);
            await _released.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            throw new ModelCache.Errors.ModelCacheException("ModelNotCached", ModelCache.Errors.ModelCacheErrorKind.NotFound, "gate");
        }

        public async Task WaitForAsync(int count)
        {
            var clock = Stopwatch.StartNew();
            while (Volatile.Read(ref _waiting) < count)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "requests did not arrive");
                await Task.Delay(20);
            }
        }

        public void Release() => _released.TrySetResult();
    }
}
