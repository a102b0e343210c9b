using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Text;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using ModelCache.Testing;

namespace ModelCache.Core.Tests.Registry;

public enum RegistryAuthMode
{
    Anonymous,
    Bearer,
    Basic,
}

/// <summary>
/// A registry's blob API on a loopback Kestrel port, with the distribution spec's token flow (realm /token on the same
/// server), a Basic mode, and hostile switches: lying token answers, blobs redirected to a second "storage" server on
/// 127.0.0.2, bytes that do not match their digest. Every request is logged with its Authorization header.
/// </summary>
public sealed class FakeRegistry : IAsyncDisposable
{
    private readonly List<WebApplication> _apps = new();
    private readonly ConcurrentDictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Host, string Path, string? Authorization)> _log = new();
    private int _tokensIssued;

    public RegistryAuthMode Mode { get; set; }

    /// <summary>Basic credentials the token service (Bearer) or the registry (Basic) demands; null accepts anyone.</summary>
    public (string User, string Password)? Account { get; set; }

    /// <summary>Replaces the token answer's body when set.</summary>
    public Func<HttpContext, Task>? TokenAnswer { get; set; }

    /// <summary>Blob GETs answer 307 to the storage server on 127.0.0.2.</summary>
    public bool RedirectBlobs { get; set; }

    public int ExpiresIn { get; set; } = 300;

    /// <summary>Blob GETs answer 403 whatever they carry.</summary>
    public bool Forbid { get; set; }

    public Uri BaseAddress { get; private set; } = null!;

    public Uri StorageAddress { get; private set; } = null!;

    public int TokensIssued => _tokensIssued;

    public string Reference(string repository = "models") => $"oci://127.0.0.1:{BaseAddress.Port}/{repository}";

    public IReadOnlyList<(string Host, string Path, string? Authorization)> Requests => _log.ToList();

    public void Push(string digestHex, byte[] bytes) => _blobs[digestHex] = bytes;

    public static async Task<FakeRegistry> StartAsync()
    {
        var registry = new FakeRegistry();
        registry.BaseAddress = await registry.ListenAsync(IPAddress.Loopback, registry.HandleRegistryAsync);
        registry.StorageAddress = await registry.ListenAsync(IPAddress.Parse("127.0.0.2"), registry.HandleStorageAsync);
        return registry;
    }

    private async Task<Uri> ListenAsync(IPAddress address, RequestDelegate handler)
    {
        var (app, bound) = await LoopbackApp.StartAsync(address, handler);
        _apps.Add(app);
        return bound;
    }

    private async Task HandleRegistryAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        var authorization = context.Request.Headers.Authorization.ToString();
        _log.Enqueue(("registry", path + context.Request.QueryString, authorization.Length == 0 ? null : authorization));
        if (path == "/token")
        {
            await TokenAsync(context);
            return;
        }

        const string prefix = "/v2/models/blobs/sha256:";
        if (!path.StartsWith(prefix, StringComparison.Ordinal))
        {
            context.Response.StatusCode = 404;
            return;
        }

        if (Forbid)
        {
            context.Response.StatusCode = 403;
            return;
        }

        if (!Authorized(authorization))
        {
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = Mode == RegistryAuthMode.Bearer
                ? $"Bearer realm=\"{BaseAddress}token\",service=\"fake-registry\",scope=\"repository:models:pull\""
                : "Basic realm=\"fake-registry\"";
            return;
        }

        var hex = path.Substring(prefix.Length);
        if (!_blobs.ContainsKey(hex))
        {
            context.Response.StatusCode = 404;
            await context.Response.WriteAsync("{\"errors\":[{\"code\":\"BLOB_UNKNOWN\"}]}");
            return;
        }

        if (RedirectBlobs)
        {
            context.Response.StatusCode = 307;
            context.Response.Headers.Location = new Uri(StorageAddress, "blob/" + hex).ToString();
            return;
        }

        await ServeBlobAsync(context, hex);
    }

    private async Task HandleStorageAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        var authorization = context.Request.Headers.Authorization.ToString();
        _log.Enqueue(("storage", path, authorization.Length == 0 ? null : authorization));
        await ServeBlobAsync(context, path.Substring("/blob/".Length));
    }

    private async Task ServeBlobAsync(HttpContext context, string hex)
    {
        var bytes = _blobs[hex];
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes);
    }

    private bool Authorized(string authorization) => Mode switch
    {
        RegistryAuthMode.Anonymous => true,
        RegistryAuthMode.Bearer => authorization.StartsWith("Bearer issued-", StringComparison.Ordinal),
        _ => Account is { } a && authorization == "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(a.User + ":" + a.Password)),
    };

    private async Task TokenAsync(HttpContext context)
    {
        if (Account is { } a && context.Request.Headers.Authorization.ToString() != "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(a.User + ":" + a.Password)))
        {
            context.Response.StatusCode = 401;
            return;
        }

        if (TokenAnswer is not null)
        {
            await TokenAnswer(context);
            return;
        }

        var number = System.Threading.Interlocked.Increment(ref _tokensIssued);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync($"{{\"token\":\"issued-{number}\",\"expires_in\":{ExpiresIn}}}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
