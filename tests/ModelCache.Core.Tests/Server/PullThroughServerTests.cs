using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.Server;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests.Server;

/// <summary>
/// Pull-through through the real HTTP server on loopback, in front of a rate-limited nginx upstream whose own access
/// log counts the upstream requests; clients are plain HTTP clients and ModelCache's own saver.
/// </summary>
public sealed class PullThroughServerTests : IDisposable
{
    private const int Size = 4 << 20;
    private static readonly byte[] Bytes = TestModels.RandomBytes(Size, seed: 41);
    private readonly TempDirectory _temp = new("modelcache-pullserver");
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(120));

    public PullThroughServerTests()
    {
        Directory.CreateDirectory(_temp.Combine("upstream"));
        File.WriteAllBytes(_temp.Combine("upstream", "pulled.onnx"), Bytes);
    }

    public void Dispose()
    {
        _timeout.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Fifty_http_clients_asking_for_an_uncached_model_cause_one_upstream_request_and_every_body_verifies()
    {
        using var nginx = StartUpstream("2m");
        var model = Define(nginx.Url("slow/pulled.onnx"));
        using var server = StartServer(model);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(100) };

        var bodies = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(async () =>
        {
            using var response = await http.GetAsync(new Uri(server.MirrorUri + "/pulled.onnx"), HttpCompletionOption.ResponseHeadersRead, _timeout.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Size, response.Content.Headers.ContentLength);
            return await response.Content.ReadAsByteArrayAsync(_timeout.Token);
        })));

        Assert.All(bodies, body => Assert.Equal(model.Sha256, TestModels.Sha256Of(body)));
        Assert.Single(nginx.RequestsFor("pulled.onnx"));
        Assert.True(File.Exists(Path.Combine(_temp.Combine("cache"), "models", model.Family, model.Member, model.FileName)));

        // Now cached: served from disk, no second upstream request.
        var again = await http.GetByteArrayAsync(new Uri(server.MirrorUri + "/pulled.onnx"), _timeout.Token);
        Assert.Equal(Bytes, again);
        Assert.Single(nginx.ReadAccessLog(), e => e.FileName == "pulled.onnx");
    }

    [Fact]
    public async Task A_client_cut_off_mid_transfer_resumes_through_the_server_with_the_saver()
    {
        using var nginx = StartUpstream("1m");
        var model = Define(nginx.Url("slow/pulled.onnx"));
        using var server = StartServer(model);
        var clientStore = new CacheStore(_temp.Combine("client"));

        // The first attempt is cut off once a third of the bytes arrived, as a killed Save-Model leaves its partial.
        using (var cut = new CancellationTokenSource())
        {
            var progress = new ActionProgress<TransferProgress>(p =>
            {
                if (p.BytesDone > Size / 3)
                {
                    cut.Cancel();
                }
            });
            using var planner = Planner(server);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new ModelSaver(clientStore, planner).SaveAsync(model, false, progress, null, cut.Token));
        }

        var partial = new FileInfo(clientStore.GetPartialPath(model));
        Assert.True(partial.Exists && partial.Length > 0, "the cut transfer left its partial to resume from");
        var kept = partial.Length;

        long firstReported = -1;
        var resumed = new ActionProgress<TransferProgress>(p => Interlocked.CompareExchange(ref firstReported, p.BytesDone, -1));
        using (var planner = Planner(server))
        {
            var entry = await new ModelSaver(clientStore, planner).SaveAsync(model, false, resumed, null, _timeout.Token);
            Assert.Equal(EntryCheckResult.Passed, entry.LastCheck);
        }

        Assert.Equal(Bytes, File.ReadAllBytes(clientStore.GetModelPath(model)));
        Assert.True(Interlocked.Read(ref firstReported) >= kept, "the second attempt started from the partial (a Range request), not from zero");
        Assert.Contains(server.RequestLog, line => line.Contains(" 206 ", StringComparison.Ordinal));
        Assert.Single(nginx.ReadAccessLog(), e => e.FileName == "pulled.onnx");
    }

    [Fact]
    public async Task A_response_whose_upstream_bytes_fail_verification_is_cut_off_never_completed()
    {
        var corrupt = Bytes.ToArray();
        corrupt[Size - 10] ^= 0xFF;
        File.WriteAllBytes(_temp.Combine("upstream", "pulled.onnx"), corrupt);
        using var nginx = StartUpstream("2m");
        var model = Define(nginx.Url("slow/pulled.onnx"));
        using var server = StartServer(model);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(100) };

        var failures = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            try
            {
                using var response = await http.GetAsync(new Uri(server.MirrorUri + "/pulled.onnx"), HttpCompletionOption.ResponseHeadersRead, _timeout.Token);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    return (int)response.StatusCode; // failed before the first byte: an error status, never a body
                }

                var body = await response.Content.ReadAsByteArrayAsync(_timeout.Token);
                return body.Length == Size ? -1 : 0; // -1: a complete body was delivered, which must never happen
            }
            catch (HttpRequestException)
            {
                return 0; // cut off
            }
            catch (IOException)
            {
                return 0;
            }
        })));

        Assert.DoesNotContain(-1, failures);
        Assert.False(File.Exists(Path.Combine(_temp.Combine("cache"), "models", model.Family, model.Member, model.FileName)));
    }

    private NginxServer StartUpstream(string rate)
    {
        var options = new NginxServerOptions(_temp.Combine("upstream"));
        options.ThrottledLocations["/slow/"] = rate;
        return NginxServer.Start(options);
    }

    private static ModelDefinition Define(Uri url) => TestModels.Define(Bytes, url, member: "PULLED", fileName: "pulled.onnx");

    private RunningServer StartServer(ModelDefinition model)
    {
        var store = new CacheStore(_temp.Combine("cache"));
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var options = new ModelCacheServerOptions(store, new ModelCatalog(new[] { model }))
        {
            Port = 0,
            ShutdownGrace = TimeSpan.FromSeconds(2),
            RequestLog = entry => log.Enqueue(entry.ToString()),
            MaxConnectionsPerAddress = ModelCacheServerOptions.DefaultMaxConnections, // fifty machines of a site, here all on 127.0.0.1
            PullThrough = new PullThroughOptions
            {
                Network = new NetworkOptions { Timeout = TimeSpan.FromSeconds(20), RetryCount = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(20) },
            },
        };
        return new RunningServer(ModelCacheServer.Start(options), log);
    }

    private static SourcePlanner Planner(RunningServer server) =>
        new(new[] { server.MirrorUri.ToString() }, mirrorOnly: true, offline: false,
            new NetworkOptions { Timeout = TimeSpan.FromSeconds(20), RetryCount = 0, RetryBaseDelay = TimeSpan.FromMilliseconds(20) });

    private sealed class RunningServer : IDisposable
    {
        private readonly ModelCacheServer _server;
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log;

        public RunningServer(ModelCacheServer server, System.Collections.Concurrent.ConcurrentQueue<string> log)
        {
            _server = server;
            _log = log;
        }

        public Uri MirrorUri => _server.MirrorUri;

        public string[] RequestLog => _log.ToArray();

        public void Dispose() => _server.Dispose();
    }
}
