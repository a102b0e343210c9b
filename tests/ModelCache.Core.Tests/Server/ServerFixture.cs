using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Server;
using ModelCache.Store;
using ModelCache.Testing;

namespace ModelCache.Core.Tests.Server;

/// <summary>A real <see cref="ModelCacheServer"/> on 127.0.0.1 (a free port) over a temporary cache holding test models.</summary>
internal sealed class ServerFixture : IDisposable
{
    public static readonly byte[] BytesA = TestModels.RandomBytes(300_000, seed: 31);
    public static readonly byte[] BytesB = TestModels.RandomBytes(120_000, seed: 32);
    public static readonly ModelDefinition ModelA = TestModels.Define(BytesA, new Uri("https://example.invalid/a.onnx"), member: "A", fileName: "a.onnx");
    public static readonly ModelDefinition ModelB = TestModels.Define(BytesB, new Uri("https://example.invalid/b.onnx"), member: "B", fileName: "b.onnx");

    private readonly TempDirectory _temp = new("modelcache-server");

    public ServerFixture(Action<ModelCacheServerOptions>? configure = null, IEnumerable<ModelDefinition>? extraModels = null, bool cacheB = true)
    {
        Store = new CacheStore(_temp.Combine("cache"));
        Catalog = new ModelCatalog(new[] { ModelA, ModelB }.Concat(extraModels ?? Array.Empty<ModelDefinition>()));
        Put(ModelA, BytesA);
        if (cacheB)
        {
            Put(ModelB, BytesB);
        }

        Options = new ModelCacheServerOptions(Store, Catalog)
        {
            Port = 0,
            RequestLog = entry => { lock (Log) { Log.Add(entry); } },
            Warning = Warnings.Add,
            AdminToken = AdminToken.FromString(Token),
            ShutdownGrace = TimeSpan.FromSeconds(2),
        };
        configure?.Invoke(Options);
        Server = ModelCacheServer.Start(Options);
        Http = new HttpClient { BaseAddress = Server.Uri, Timeout = TimeSpan.FromSeconds(20) };
    }

    public const string Token = "test-admin-token-0123456789";

    public CacheStore Store { get; }

    public ModelCatalog Catalog { get; }

    public ModelCacheServerOptions Options { get; }

    public ModelCacheServer Server { get; }

    public HttpClient Http { get; }

    public ConcurrentQueue<RequestLogEntry> LogQueue { get; } = new();

    public List<RequestLogEntry> Log { get; } = new();

    public ConcurrentBag<string> Warnings { get; } = new();

    public string Temp(params string[] parts) => _temp.Combine(parts);

    public void Put(ModelDefinition model, byte[] bytes)
    {
        var path = Store.GetModelPath(model);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    public HttpRequestMessage Post(string path, string? json = null, string? token = Token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json ?? "{}", Encoding.UTF8, "application/json") };
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    /// <summary>
    /// Sends <paramref name="requestLine"/> and headers exactly as given over a TCP connection (no client library to
    /// normalise the path) and returns the status code and the whole response text.
    /// </summary>
    public async Task<(int Status, string Text)> SendRawAsync(string requestLine, string extraHeaders = "")
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(Server.Uri.Host, Server.Uri.Port, timeout.Token);
        var stream = client.GetStream();
        var request = Encoding.Latin1.GetBytes(requestLine + "\r\nHost: " + Server.Uri.Authority + "\r\nConnection: close\r\n" + extraHeaders + "\r\n");
        await stream.WriteAsync(request, timeout.Token);
        using var response = new MemoryStream();
        await stream.CopyToAsync(response, timeout.Token);
        var text = Encoding.Latin1.GetString(response.ToArray());
        var parts = text.Split(' ', 3);
        return (parts.Length > 1 && int.TryParse(parts[1], out var status) ? status : -1, text);
    }

    public void Dispose()
    {
        Http.Dispose();
        Server.Dispose();
        _temp.Dispose();
    }
}

/// <summary>A content source that records every model asked of it and serves through another.</summary>
internal sealed class RecordingSource : IModelContentSource
{
    private readonly IModelContentSource? _inner;

    public RecordingSource(IModelContentSource? inner = null)
    {
        _inner = inner;
    }

    public ConcurrentQueue<string> Asked { get; } = new();

    public Task<ServedContent> OpenAsync(ModelDefinition model, long offset, CancellationToken cancellationToken)
    {
        Asked.Enqueue(model.FileName);
        return _inner is null
            ? throw new ModelCache.Errors.ModelCacheException("ModelNotCached", ModelCache.Errors.ModelCacheErrorKind.NotFound, "not here")
            : _inner.OpenAsync(model, offset, cancellationToken);
    }
}
