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
using ModelCache.Registry;

namespace ModelCache.Core.Tests.Registry;

/// <summary>
/// A registry's pull API (manifests by tag or digest, blobs by digest) on a loopback Kestrel port for one repository
/// ("models"), with the token flow (realm /token on the same server) and hostile switches: any bytes and media type
/// for a manifest, a lying Docker-Content-Digest, an endless manifest body, blobs whose bytes are not their digest,
/// blobs redirected to a "storage" server on 127.0.0.2, 403 for everything. Every request is logged with its Authorization.
/// </summary>
public sealed class FakeArtifactRegistry : IAsyncDisposable
{
    private readonly List<WebApplication> _apps = new();
    private readonly ConcurrentDictionary<string, (byte[] Body, string ContentType, string? DigestHeader)> _manifests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Host, string Path, string? Authorization)> _log = new();

    /// <summary>Demand a token (Bearer flow) for every registry request but /token.</summary>
    public bool RequireToken { get; set; }

    /// <summary>The token service refuses every request (401), as for an anonymous client of a private repository.</summary>
    public bool DenyTokens { get; set; }

    /// <summary>Answer 403 to every manifest and blob request.</summary>
    public bool Forbid { get; set; }

    /// <summary>Answer manifest GETs with a body that never ends (no Content-Length).</summary>
    public bool EndlessManifest { get; set; }

    /// <summary>Blob GETs answer 307 to the storage server on 127.0.0.2.</summary>
    public bool RedirectBlobs { get; set; }

    public Uri BaseAddress { get; private set; } = null!;

    public Uri StorageAddress { get; private set; } = null!;

    public IReadOnlyList<(string Host, string Path, string? Authorization)> Requests => _log.ToList();

    public string Reference(string tagOrDigest) =>
        $"oci://127.0.0.1:{BaseAddress.Port}/models" + (tagOrDigest.StartsWith("sha256:", StringComparison.Ordinal) ? "@" : ":") + tagOrDigest;

    /// <summary>Serves <paramref name="body"/> under <paramref name="tag"/> and under its own digest, which is returned.</summary>
    public string PutManifest(string tag, byte[] body, string contentType = OciMediaTypes.ImageManifest, string? digestHeader = null)
    {
        var digest = OciManifest.DigestOf(body);
        _manifests[tag] = (body, contentType, digestHeader ?? digest);
        _manifests[digest] = (body, contentType, digestHeader ?? digest);
        return digest;
    }

    /// <summary>Serves <paramref name="bytes"/> as the blob of their own digest.</summary>
    public string PutBlob(byte[] bytes)
    {
        var digest = OciManifest.DigestOf(bytes);
        _blobs[digest] = bytes;
        return digest;
    }

    /// <summary>Serves <paramref name="bytes"/> as the blob <paramref name="digest"/>, whatever they hash to.</summary>
    public void PutBlobAs(string digest, byte[] bytes) => _blobs[digest] = bytes;

    public static async Task<FakeArtifactRegistry> StartAsync()
    {
        var registry = new FakeArtifactRegistry();
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
        _log.Enqueue(("registry", path, authorization.Length == 0 ? null : authorization));
        if (path == "/token" && DenyTokens)
        {
            context.Response.StatusCode = 401;
            return;
        }

        if (path == "/token")
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"token\":\"issued-1\",\"expires_in\":300}");
            return;
        }

        if (Forbid)
        {
            context.Response.StatusCode = 403;
            return;
        }

        if (RequireToken && authorization != "Bearer issued-1")
        {
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"{BaseAddress}token\",service=\"fake\",scope=\"repository:models:pull\"";
            return;
        }

        const string manifests = "/v2/models/manifests/";
        const string blobs = "/v2/models/blobs/";
        if (path.StartsWith(manifests, StringComparison.Ordinal))
        {
            await ManifestAsync(context, path.Substring(manifests.Length));
        }
        else if (path.StartsWith(blobs, StringComparison.Ordinal) && _blobs.ContainsKey(path.Substring(blobs.Length)))
        {
            var digest = path.Substring(blobs.Length);
            if (RedirectBlobs)
            {
                context.Response.StatusCode = 307;
                context.Response.Headers.Location = new Uri(StorageAddress, "blob/" + digest).ToString();
                return;
            }

            await ServeBlobAsync(context, digest);
        }
        else
        {
            context.Response.StatusCode = 404;
            await context.Response.WriteAsync("{\"errors\":[{\"code\":\"NOT_FOUND\"}]}");
        }
    }

    private async Task ManifestAsync(HttpContext context, string reference)
    {
        if (EndlessManifest)
        {
            context.Response.ContentType = OciMediaTypes.ImageManifest;
            var chunk = Encoding.ASCII.GetBytes(new string(' ', 64 * 1024));
            try
            {
                // Until the client gives up (it must, at its cap), bounded here too so a broken client cannot hang the test.
                for (var i = 0; i < 4096 && !context.RequestAborted.IsCancellationRequested; i++)
                {
                    await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                }
            }
            catch (OperationCanceledException)
            {
            }

            return;
        }

        if (!_manifests.TryGetValue(reference, out var manifest))
        {
            context.Response.StatusCode = 404;
            await context.Response.WriteAsync("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\"}]}");
            return;
        }

        context.Response.ContentType = manifest.ContentType;
        context.Response.Headers["Docker-Content-Digest"] = manifest.DigestHeader;
        context.Response.ContentLength = manifest.Body.Length;
        await context.Response.Body.WriteAsync(manifest.Body);
    }

    private async Task HandleStorageAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        var authorization = context.Request.Headers.Authorization.ToString();
        _log.Enqueue(("storage", path, authorization.Length == 0 ? null : authorization));
        await ServeBlobAsync(context, path.Substring("/blob/".Length));
    }

    private async Task ServeBlobAsync(HttpContext context, string digest)
    {
        var bytes = _blobs[digest];
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes);
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
