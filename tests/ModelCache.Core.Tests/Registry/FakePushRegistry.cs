using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using ModelCache.Testing;

namespace ModelCache.Core.Tests.Registry;

/// <summary>
/// The push side of a registry on a loopback Kestrel port (any repository): blob HEAD, upload sessions (POST, PATCH
/// with the spec's Content-Range, closing PUT with the digest, DELETE), manifest HEAD and PUT that checks the blobs it
/// references. Optional Bearer token flow (realm /token), and hostile switches: uploads refused, a 202 without
/// Location, upload locations on a second "storage" server (127.0.0.2), a HEAD that claims every blob. Every request is
/// logged with its method, host and Authorization.
/// </summary>
public sealed class FakePushRegistry : IAsyncDisposable
{
    private readonly List<WebApplication> _apps = new();
    private readonly ConcurrentDictionary<string, MemoryStream> _uploads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> _manifests = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Host, string Method, string Path, string? Authorization)> _log = new();
    private readonly ConcurrentDictionary<string, bool> _validTokens = new(StringComparer.Ordinal);
    private int _tokensIssued;

    public ConcurrentDictionary<string, byte[]> Blobs { get; } = new(StringComparer.Ordinal);

    public bool Bearer { get; set; }

    /// <summary>POST to start an upload answers this status (with a distribution error body) when set.</summary>
    public int? RefuseUploads { get; set; }

    /// <summary>POST answers 202 without Location.</summary>
    public bool OmitLocation { get; set; }

    /// <summary>Upload sessions live on the storage server at 127.0.0.2 (another host).</summary>
    public bool ForeignUploads { get; set; }

    /// <summary>HEAD of any blob answers 200, whether it is held or not.</summary>
    public bool ClaimEveryBlob { get; set; }

    /// <summary>A PATCH is acknowledged with a Range that is not what was sent.</summary>
    public bool WrongRange { get; set; }

    /// <summary>Called after each PATCH is stored (a test advances its clock here).</summary>
    public Action<int>? AfterPatch { get; set; }

    public Uri BaseAddress { get; private set; } = null!;

    public int TokensIssued => _tokensIssued;

    public IReadOnlyList<(string Host, string Method, string Path, string? Authorization)> Requests => _log.ToList();

    /// <summary>Blob uploads completed (closing PUTs answered 201).</summary>
    public int BlobsStored { get; private set; }

    public int Patches { get; private set; }

    public string Reference(string repository, string tag) => $"oci://127.0.0.1:{BaseAddress.Port}/{repository}:{tag}";

    public byte[]? Manifest(string repository, string reference) => _manifests.TryGetValue(repository + ":" + reference, out var bytes) ? bytes : null;

    private Uri StorageAddress { get; set; } = null!;

    public static async Task<FakePushRegistry> StartAsync()
    {
        var registry = new FakePushRegistry();
        registry.BaseAddress = await registry.ListenAsync(IPAddress.Loopback, c => registry.HandleAsync(c, "registry"));
        registry.StorageAddress = await registry.ListenAsync(IPAddress.Parse("127.0.0.2"), c => registry.HandleAsync(c, "storage"));
        return registry;
    }

    private async Task<Uri> ListenAsync(IPAddress address, RequestDelegate handler)
    {
        var (app, bound) = await LoopbackApp.StartAsync(address, handler);
        _apps.Add(app);
        return bound;
    }

    private async Task HandleAsync(HttpContext context, string host)
    {
        var request = context.Request;
        var path = request.Path.Value ?? string.Empty;
        var authorization = request.Headers.Authorization.ToString();
        _log.Enqueue((host, request.Method, path + request.QueryString, authorization.Length == 0 ? null : authorization));
        if (host == "registry" && path == "/token")
        {
            var number = System.Threading.Interlocked.Increment(ref _tokensIssued);
            _validTokens["issued-" + number] = true;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($"{{\"token\":\"issued-{number}\",\"expires_in\":300}}");
            return;
        }

        if (host == "registry" && Bearer && !(authorization.StartsWith("Bearer ", StringComparison.Ordinal) && _validTokens.ContainsKey(authorization.Substring(7))))
        {
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"{BaseAddress}token\",service=\"fake\",scope=\"repository:models:pull\"";
            return;
        }

        var uploadPrefix = host == "storage" ? "/upload/" : null;
        var parts = path.Split('/');
        if (host == "registry" && parts.Length >= 5 && parts[1] == "v2")
        {
            // /v2/<repo...>/<kind>/<rest>
            var kindIndex = Array.FindLastIndex(parts, p => p is "blobs" or "manifests");
            if (kindIndex < 3)
            {
                context.Response.StatusCode = 404;
                return;
            }

            var repository = string.Join('/', parts[2..kindIndex]);
            var rest = string.Join('/', parts[(kindIndex + 1)..]);
            if (parts[kindIndex] == "manifests")
            {
                await ManifestAsync(context, repository, rest);
                return;
            }

            if (rest == "uploads" || rest == "uploads/")
            {
                await StartUploadAsync(context, repository);
                return;
            }

            if (rest.StartsWith("uploads/", StringComparison.Ordinal))
            {
                await UploadAsync(context, rest.Substring("uploads/".Length), $"/v2/{repository}/blobs/uploads/");
                return;
            }

            await BlobAsync(context, rest);
            return;
        }

        if (uploadPrefix is not null && path.StartsWith(uploadPrefix, StringComparison.Ordinal))
        {
            await UploadAsync(context, path.Substring(uploadPrefix.Length), uploadPrefix);
            return;
        }

        context.Response.StatusCode = 404;
    }

    private Task BlobAsync(HttpContext context, string digest)
    {
        if (Blobs.TryGetValue(digest, out var bytes))
        {
            context.Response.ContentLength = bytes.Length;
            context.Response.Headers["Docker-Content-Digest"] = digest;
            return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.Body.WriteAsync(bytes).AsTask();
        }

        context.Response.StatusCode = ClaimEveryBlob ? 200 : 404;
        return Task.CompletedTask;
    }

    private async Task StartUploadAsync(HttpContext context, string repository)
    {
        if (RefuseUploads is { } status)
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"errors\":[{\"code\":\"DENIED\",\"message\":\"pushes are closed\\u0007 today\"}]}");
            return;
        }

        var id = Guid.NewGuid().ToString("N");
        _uploads[id] = new MemoryStream();
        context.Response.StatusCode = 202;
        if (!OmitLocation)
        {
            context.Response.Headers.Location = ForeignUploads
                ? new Uri(StorageAddress, "upload/" + id + "?_state=s1").ToString()
                : $"/v2/{repository}/blobs/uploads/{id}?_state=s1";
        }
    }

    private async Task UploadAsync(HttpContext context, string id, string prefix)
    {
        if (!_uploads.TryGetValue(id, out var buffer))
        {
            context.Response.StatusCode = 404;
            return;
        }

        var request = context.Request;
        if (HttpMethods.IsDelete(request.Method))
        {
            _uploads.TryRemove(id, out _);
            context.Response.StatusCode = 204;
            return;
        }

        var range = request.Headers["Content-Range"].ToString();
        if (range.Length > 0 && long.Parse(range.Split('-')[0], System.Globalization.CultureInfo.InvariantCulture) != buffer.Length)
        {
            context.Response.StatusCode = 416;
            return;
        }

        var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        if (HttpMethods.IsPatch(request.Method))
        {
            buffer.Write(body.ToArray());
            Patches++;
            context.Response.StatusCode = 202;
            context.Response.Headers.Location = prefix + id + "?_state=s" + (Patches + 1);
            context.Response.Headers["Range"] = "0-" + (buffer.Length - 1 - (WrongRange ? 1 : 0));
            AfterPatch?.Invoke(Patches);
            return;
        }

        buffer.Write(body.ToArray());
        var digest = request.Query["digest"].ToString();
        var actual = "sha256:" + Convert.ToHexString(SHA256.HashData(buffer.ToArray())).ToLowerInvariant();
        if (digest != actual)
        {
            context.Response.StatusCode = 400;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"errors\":[{\"code\":\"DIGEST_INVALID\",\"message\":\"provided digest did not match uploaded content\"}]}");
            return;
        }

        Blobs[digest] = buffer.ToArray();
        _uploads.TryRemove(id, out _);
        BlobsStored++;
        context.Response.StatusCode = 201;
        context.Response.Headers.Location = "/v2/x/blobs/" + digest;
        context.Response.Headers["Docker-Content-Digest"] = digest;
    }

    private async Task ManifestAsync(HttpContext context, string repository, string reference)
    {
        var key = repository + ":" + reference;
        if (HttpMethods.IsHead(context.Request.Method) || HttpMethods.IsGet(context.Request.Method))
        {
            if (!_manifests.TryGetValue(key, out var stored))
            {
                context.Response.StatusCode = 404;
                return;
            }

            context.Response.ContentType = "application/vnd.oci.image.manifest.v1+json";
            context.Response.Headers["Docker-Content-Digest"] = "sha256:" + Convert.ToHexString(SHA256.HashData(stored)).ToLowerInvariant();
            context.Response.ContentLength = stored.Length;
            if (HttpMethods.IsGet(context.Request.Method))
            {
                await context.Response.Body.WriteAsync(stored);
            }

            return;
        }

        var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var bytes = body.ToArray();
        using var json = JsonDocument.Parse(bytes);
        var referenced = new[] { json.RootElement.GetProperty("config") }.Concat(json.RootElement.GetProperty("layers").EnumerateArray())
            .Select(d => d.GetProperty("digest").GetString()!);
        if (referenced.Any(d => !Blobs.ContainsKey(d)))
        {
            context.Response.StatusCode = 400;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"errors\":[{\"code\":\"MANIFEST_BLOB_UNKNOWN\",\"message\":\"blob unknown to registry\"}]}");
            return;
        }

        var digest = "sha256:" + Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
        _manifests[key] = bytes;
        _manifests[repository + ":" + digest] = bytes;
        context.Response.StatusCode = 201;
        context.Response.Headers.Location = $"/v2/{repository}/manifests/{digest}";
        context.Response.Headers["Docker-Content-Digest"] = digest;
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
