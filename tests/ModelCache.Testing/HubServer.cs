using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace ModelCache.Testing;

/// <summary>
/// A loopback Hugging Face hub: <c>HEAD/GET /{org}/{name}/resolve/{rev}/{path}</c> answered as the hub does
/// (X-Repo-Commit, X-Linked-Etag, X-Linked-Size, ETag; LFS files redirected with 302 to a second listener
/// on another port, the "CDN"; Range → 206; 404 with X-Error-Code; 401 for a repo that needs a token) and
/// <c>POST /api/models/{org}/{name}/paths-info/{rev}</c>. Every request is recorded with its port and
/// whether it carried Authorization. Knobs make it lie (headers, bytes) or drop connections.
/// </summary>
public sealed class HubServer : IAsyncDisposable
{
    private const int ChunkSize = 16 * 1024;
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, HubTestRepo> _repos = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<HubRequest> _log = new();
    private int _drops;

    private HubServer(WebApplication app)
    {
        _app = app;
    }

    /// <summary>The hub's base URL (HF_ENDPOINT / hubUrl).</summary>
    public Uri Endpoint { get; private set; } = null!;

    /// <summary>The second listener LFS downloads are redirected to.</summary>
    public Uri StorageEndpoint { get; private set; } = null!;

    /// <summary>Replace resolve response headers (e.g. X-Linked-Etag, X-Linked-Size, X-Repo-Commit) with these values.</summary>
    public ConcurrentDictionary<string, string> HeaderOverrides { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Sent instead of every file body.</summary>
    public byte[]? WrongBytes { get; set; }

    /// <summary>The first <see cref="DropTimes"/> bodies are cut after this many bytes.</summary>
    public long? DropAfterBytes { get; set; }

    public int DropTimes { get; set; } = 1;

    /// <summary>Answers every Range with the whole file (200), still saying Accept-Ranges: bytes.</summary>
    public bool IgnoresRanges { get; set; }

    /// <summary>Limits each file body to this many bytes per second (a per-connection limit); 0 for none.</summary>
    public int BytesPerSecond { get; set; }

    public IReadOnlyList<HubRequest> Requests => _log.ToList();

    public static async Task<HubServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options =>
        {
            options.Listen(IPAddress.Loopback, 0);
            options.Listen(IPAddress.Loopback, 0);
        });
        var app = builder.Build();
        var server = new HubServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        var addresses = ((IServer)app.Services.GetService(typeof(IServer))!).Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a)).OrderBy(a => a.Port).ToList();
        server.Endpoint = new Uri(addresses[0].GetLeftPart(UriPartial.Authority));
        server.StorageEndpoint = new Uri(addresses[1].GetLeftPart(UriPartial.Authority));
        return server;
    }

    /// <summary>Registers a repo; with <paramref name="token"/>, requests without <c>Bearer token</c> get 401.</summary>
    public HubTestRepo AddRepo(string id, string? token = null) => _repos[id] = new HubTestRepo(id, token);

    public IReadOnlyList<HubRequest> StorageRequests => Requests.Where(r => r.Port == StorageEndpoint.Port).ToList();

    public IReadOnlyList<HubRequest> HubRequests => Requests.Where(r => r.Port == Endpoint.Port).ToList();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var raw = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        var rawPath = raw.Split('?')[0];
        var record = new HubRequest(request.Method, rawPath, context.Connection.LocalPort, request.Headers.Authorization.ToString(), request.Headers.Range.ToString());
        _log.Enqueue(record);
        try
        {
            if (record.Port == StorageEndpoint.Port)
            {
                await ServeStorageAsync(context, rawPath, record).ConfigureAwait(false);
            }
            else if (request.Method == "POST" && rawPath.StartsWith("/api/models/", StringComparison.Ordinal) && rawPath.Contains("/paths-info/", StringComparison.Ordinal))
            {
                await ServePathsInfoAsync(context, rawPath, record).ConfigureAwait(false);
            }
            else if (rawPath.Contains("/resolve/", StringComparison.Ordinal))
            {
                await ServeResolveAsync(context, rawPath, record).ConfigureAwait(false);
            }
            else
            {
                record.Status = context.Response.StatusCode = 404;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ServeResolveAsync(HttpContext context, string rawPath, HubRequest record)
    {
        var at = rawPath.IndexOf("/resolve/", StringComparison.Ordinal);
        var repoId = Uri.UnescapeDataString(rawPath.Substring(1, at - 1));
        var rest = rawPath.Substring(at + "/resolve/".Length).Split('/');
        var revision = Uri.UnescapeDataString(rest[0]);
        var path = string.Join("/", rest.Skip(1).Select(Uri.UnescapeDataString));
        if (!Authorize(context, repoId, record, out var repo))
        {
            return;
        }

        var response = context.Response;
        if (repo!.Resolve(revision) is not { } commit)
        {
            Fail(response, record, 404, "RevisionNotFound");
            return;
        }

        if (!repo.Files(commit).TryGetValue(path, out var file))
        {
            Fail(response, record, 404, "EntryNotFound");
            return;
        }

        response.Headers["X-Repo-Commit"] = commit;
        if (file.IsLfs)
        {
            response.Headers["X-Linked-Etag"] = "\"" + file.Sha256 + "\"";
            response.Headers["X-Linked-Size"] = file.Content.Length.ToString(CultureInfo.InvariantCulture);
            response.Headers.ETag = "\"" + file.Sha256 + "\"";
            response.Headers.Location = new Uri(StorageEndpoint, "lfs/" + file.Sha256 + "?X-Amz-Signature=test").ToString();
            ApplyOverrides(response);
            record.Status = response.StatusCode = 302;
            return;
        }

        response.Headers.ETag = "\"" + file.GitSha1 + "\"";
        ApplyOverrides(response);
        await ServeBodyAsync(context, file, record).ConfigureAwait(false);
    }

    private async Task ServeStorageAsync(HttpContext context, string rawPath, HubRequest record)
    {
        var sha = rawPath.StartsWith("/lfs/", StringComparison.Ordinal) ? rawPath.Substring(5) : string.Empty;
        var file = _repos.Values.SelectMany(r => r.AllFiles).FirstOrDefault(f => f.IsLfs && f.Sha256 == sha);
        if (file is null)
        {
            record.Status = context.Response.StatusCode = 404;
            return;
        }

        context.Response.Headers.ETag = "\"" + file.Sha256 + "\"";
        await ServeBodyAsync(context, file, record).ConfigureAwait(false);
    }

    private async Task ServeBodyAsync(HttpContext context, HubTestFile file, HubRequest record)
    {
        var response = context.Response;
        var body = WrongBytes ?? file.Content;
        response.ContentType = "application/octet-stream";
        response.Headers.AcceptRanges = "bytes";
        long start = 0, end = body.Length - 1;
        if (!IgnoresRanges && TryParseRange(record.Range, body.Length, out var from, out var to))
        {
            start = from;
            end = to;
            record.Status = response.StatusCode = 206;
            response.Headers.ContentRange = $"bytes {start}-{end}/{body.Length}";
        }
        else
        {
            record.Status = response.StatusCode = 200;
        }

        var length = body.Length == 0 ? 0 : end - start + 1;
        response.ContentLength = length;

        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        long? dropAt = DropAfterBytes is { } drop && Interlocked.Increment(ref _drops) <= DropTimes ? drop : null;
        var sent = 0L;
        for (var position = start; position <= end; position += ChunkSize)
        {
            var count = (int)Math.Min(ChunkSize, end - position + 1);
            if (dropAt is { } cut && sent + count > cut)
            {
                await response.Body.WriteAsync(body.AsMemory((int)position, (int)(cut - sent)), context.RequestAborted).ConfigureAwait(false);
                await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                record.BytesSent = cut;
                context.Abort();
                return;
            }

            await response.Body.WriteAsync(body.AsMemory((int)position, count), context.RequestAborted).ConfigureAwait(false);
            sent += count;
            record.BytesSent = sent;
            if (BytesPerSecond > 0)
            {
                await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromSeconds((double)count / BytesPerSecond), context.RequestAborted).ConfigureAwait(false);
            }
        }
    }

    private async Task ServePathsInfoAsync(HttpContext context, string rawPath, HubRequest record)
    {
        var parts = rawPath.Substring("/api/models/".Length).Split(new[] { "/paths-info/" }, StringSplitOptions.None);
        var repoId = Uri.UnescapeDataString(parts[0]);
        var revision = Uri.UnescapeDataString(parts[1]);
        if (!Authorize(context, repoId, record, out var repo))
        {
            return;
        }

        if (repo!.Resolve(revision) is not { } commit)
        {
            Fail(context.Response, record, 404, "RevisionNotFound");
            return;
        }

        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        var wanted = body.RootElement.TryGetProperty("paths", out var paths) ? paths.EnumerateArray().Select(p => p.GetString()!).ToList() : new List<string>();
        var files = repo.Files(commit);
        var answer = wanted.Where(files.ContainsKey).Select(p => files[p]).Select(f => new Dictionary<string, object?>
        {
            ["type"] = "file",
            ["path"] = f.Path,
            ["size"] = f.Content.Length,
            ["oid"] = f.GitSha1,
            ["lfs"] = f.IsLfs ? new Dictionary<string, object> { ["oid"] = f.Sha256, ["size"] = f.Content.Length, ["pointerSize"] = 134 } : null,
            ["lastCommit"] = new Dictionary<string, object> { ["id"] = repo.LastCommitOf(commit, f.Path), ["title"] = "Add " + f.Path, ["date"] = "2026-11-01T10:00:00.000Z" },
        }).ToList();
        record.Status = context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(answer), context.RequestAborted).ConfigureAwait(false);
    }

    private bool Authorize(HttpContext context, string repoId, HubRequest record, out HubTestRepo? repo)
    {
        if (!_repos.TryGetValue(repoId, out repo))
        {
            Fail(context.Response, record, 404, "RepositoryNotFound");
            return false;
        }

        if (repo.Token is { } token && record.Authorization != "Bearer " + token)
        {
            Fail(context.Response, record, 401, "RepositoryNotFound");
            return false;
        }

        return true;
    }

    private void ApplyOverrides(HttpResponse response)
    {
        foreach (var (name, value) in HeaderOverrides)
        {
            response.Headers[name] = value;
        }
    }

    private static void Fail(HttpResponse response, HubRequest record, int status, string code)
    {
        response.Headers["X-Error-Code"] = code;
        record.Status = response.StatusCode = status;
    }

    private static bool TryParseRange(string header, long length, out long from, out long to)
    {
        from = 0;
        to = length - 1;
        if (!header.StartsWith("bytes=", StringComparison.Ordinal))
        {
            return false;
        }

        var spec = header.Substring(6).Split('-');
        if (spec.Length != 2 || !long.TryParse(spec[0], out from) || from >= length)
        {
            return false;
        }

        if (spec[1].Length > 0 && long.TryParse(spec[1], out var last))
        {
            to = Math.Min(last, length - 1);
        }

        return true;
    }
}

/// <summary>A repo on the <see cref="HubServer"/>: branches pointing at commits, each commit a set of files.</summary>
public sealed class HubTestRepo
{
    private readonly object _gate = new();
    private readonly Dictionary<string, string> _branches = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, HubTestFile>> _commits = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Commit, string Path), string> _lastCommits = new();

    internal HubTestRepo(string id, string? token)
    {
        Id = id;
        Token = token;
    }

    public string Id { get; }

    public string? Token { get; }

    internal IEnumerable<HubTestFile> AllFiles
    {
        get
        {
            lock (_gate)
            {
                return _commits.Values.SelectMany(c => c.Values).ToList();
            }
        }
    }

    /// <summary>
    /// A new commit on <paramref name="branch"/>: the branch's previous files plus <paramref name="files"/>
    /// (replacing same paths). Unchanged files keep the commit that last changed them (paths-info lastCommit).
    /// </summary>
    public string Commit(string branch, params HubTestFile[] files)
    {
        lock (_gate)
        {
            var previous = _branches.TryGetValue(branch, out var head) ? _commits[head] : new Dictionary<string, HubTestFile>();
            var commit = Convert.ToHexString(SHA1.HashData(Encoding.UTF8.GetBytes(Id + "/" + branch + "/" + _commits.Count + "/" + string.Join(",", files.Select(f => f.Path))))).ToLowerInvariant();
            var tree = new Dictionary<string, HubTestFile>(previous, StringComparer.Ordinal);
            foreach (var file in previous.Values)
            {
                _lastCommits[(commit, file.Path)] = _lastCommits[(head!, file.Path)];
            }

            foreach (var file in files)
            {
                tree[file.Path] = file;
                _lastCommits[(commit, file.Path)] = commit;
            }

            _commits[commit] = tree;
            _branches[branch] = commit;
            return commit;
        }
    }

    /// <summary>Points <paramref name="name"/> (a branch or tag) at an existing commit.</summary>
    public void Tag(string name, string commit)
    {
        lock (_gate)
        {
            _branches[name] = commit;
        }
    }

    internal string? Resolve(string revision)
    {
        lock (_gate)
        {
            return _branches.TryGetValue(revision, out var commit) ? commit : _commits.ContainsKey(revision) ? revision : null;
        }
    }

    internal IReadOnlyDictionary<string, HubTestFile> Files(string commit)
    {
        lock (_gate)
        {
            return new Dictionary<string, HubTestFile>(_commits[commit], StringComparer.Ordinal);
        }
    }

    internal string LastCommitOf(string commit, string path)
    {
        lock (_gate)
        {
            return _lastCommits[(commit, path)];
        }
    }
}

/// <summary>A file in a <see cref="HubTestRepo"/>: LFS (id = SHA-256, bytes from the storage listener) or small (id = git blob SHA-1).</summary>
public sealed class HubTestFile
{
    private HubTestFile(string path, byte[] content, bool isLfs)
    {
        Path = path;
        Content = content;
        IsLfs = isLfs;
        Sha256 = Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant();
        var header = Encoding.ASCII.GetBytes("blob " + content.Length.ToString(CultureInfo.InvariantCulture) + "\0");
        GitSha1 = Convert.ToHexString(SHA1.HashData(header.Concat(content).ToArray())).ToLowerInvariant();
    }

    public string Path { get; }

    public byte[] Content { get; }

    public bool IsLfs { get; }

    public string Sha256 { get; }

    public string GitSha1 { get; }

    /// <summary>The id the cache names its blob by.</summary>
    public string BlobId => IsLfs ? Sha256 : GitSha1;

    public static HubTestFile Lfs(string path, byte[] content) => new(path, content, true);

    public static HubTestFile Small(string path, byte[] content) => new(path, content, false);
}

/// <summary>One request the <see cref="HubServer"/> received.</summary>
public sealed class HubRequest
{
    public HubRequest(string method, string path, int port, string authorization, string range)
    {
        Method = method;
        Path = path;
        Port = port;
        Authorization = authorization;
        Range = range;
    }

    public string Method { get; }

    /// <summary>The raw (still escaped) path.</summary>
    public string Path { get; }

    /// <summary>The listener's port: tells the hub from the storage host.</summary>
    public int Port { get; }

    /// <summary>The Authorization header as sent; empty when none.</summary>
    public string Authorization { get; }

    public string Range { get; }

    public int Status { get; set; }

    public long BytesSent { get; set; }

    public override string ToString() => $"{Method} :{Port}{Path} {Status} auth='{Authorization}' range='{Range}'";
}
