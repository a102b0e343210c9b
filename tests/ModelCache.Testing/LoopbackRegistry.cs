using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Tasks;

namespace ModelCache.Testing;

/// <summary>
/// The CNCF distribution registry (Debian's <c>docker-registry</c>) on a free 127.0.0.1 port with its own storage
/// folder, anonymous, optionally as a pull-through cache (<c>proxy.remoteurl</c>) of another one. Its combined-format
/// access log (stderr) is kept and parsed, so tests and benches count what reached it: the upstream's blob GETs,
/// the proxy's egress bytes. Separate from the registry tests' own starter so proxy and fleet runs do not depend on
/// the options being added there.
/// </summary>
public sealed partial class LoopbackRegistry : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = new();
    private readonly TempDirectory _root;
    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromMinutes(10) };

    private LoopbackRegistry(Process process, TempDirectory root, int port)
    {
        _process = process;
        _root = root;
        Port = port;
    }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    /// <summary>Where it keeps its blobs (under its own temp folder).</summary>
    public string StorageDirectory => _root.Combine("storage");

    /// <summary>Every line it wrote so far (access log and its own messages).</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return _lines.ToList();
            }
        }
    }

    /// <summary>The <c>docker-registry</c> on PATH, or null.</summary>
    public static string? Binary() => ExternalTool.Find("docker-registry");

    /// <summary>
    /// Starts one; with <paramref name="upstream"/> it is a pull-through cache of that registry (which must already
    /// answer: the proxy probes it at start-up and exits when it cannot). A port taken by someone else between
    /// choosing and binding is tried again on another.
    /// </summary>
    public static async Task<LoopbackRegistry> StartAsync(string binary, Uri? upstream = null, string? parentDirectory = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(binary, upstream, parentDirectory).ConfigureAwait(false);
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
        }
    }

    private static async Task<LoopbackRegistry> StartOnceAsync(string binary, Uri? upstream, string? parentDirectory)
    {
        var root = parentDirectory is null ? new TempDirectory("modelcache-registry") : new TempDirectory(Path.Combine(parentDirectory, "registry"));
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var config = new StringBuilder($"""
            version: 0.1
            log:
              level: warn
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: {root.Combine("storage")}
            http:
              addr: 127.0.0.1:{port}

            """);
        if (upstream is not null)
        {
            config.Append(CultureInfo.InvariantCulture, $"""
                proxy:
                  remoteurl: {upstream.GetLeftPart(UriPartial.Authority)}

                """);
        }

        var configPath = root.Combine("config.yml");
        File.WriteAllText(configPath, config.ToString());
        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add(configPath);
        var process = Process.Start(info) ?? throw new InvalidOperationException("Cannot start " + binary);
        var registry = new LoopbackRegistry(process, root, port);
        process.OutputDataReceived += (_, e) => registry.Append(e.Data);
        process.ErrorDataReceived += (_, e) => registry.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                using var response = await registry._client.GetAsync(new Uri(registry.BaseAddress, "v2/")).ConfigureAwait(false);
                if (response.IsSuccessStatusCode && response.Headers.Contains("Docker-Distribution-Api-Version"))
                {
                    return registry;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
            }

            if (DateTime.UtcNow >= deadline || process.HasExited || registry.Lines.Any(l => l.Contains("address already in use", StringComparison.Ordinal)))
            {
                var log = string.Join(Environment.NewLine, registry.Lines);
                await registry.DisposeAsync().ConfigureAwait(false);
                throw new InvalidOperationException("docker-registry did not come up: " + log);
            }

            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    /// <summary>The requests of its access log (from line <paramref name="fromLine"/> on, see <see cref="Lines"/>).</summary>
    public IReadOnlyList<AccessLine> Requests(int fromLine = 0) =>
        Lines.Skip(fromLine).Select(AccessLine.TryParse).OfType<AccessLine>().ToList();

    /// <summary>GET requests for blob <paramref name="sha256"/> of any repository.</summary>
    public IReadOnlyList<AccessLine> BlobRequests(string sha256, string method = "GET", int fromLine = 0) =>
        Requests(fromLine).Where(r => r.Method == method && r.Path.EndsWith("/blobs/sha256:" + sha256, StringComparison.Ordinal)).ToList();

    /// <summary>Waits until <paramref name="condition"/> holds for its lines (the log arrives through a pipe, after the response).</summary>
    public async Task<bool> WaitForAsync(Func<IReadOnlyList<string>, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition(Lines))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>
    /// Pushes the file at <paramref name="path"/> as a blob by the monolithic upload of the distribution spec
    /// (POST → Location, PUT Location&amp;digest=) and returns its hex SHA-256.
    /// </summary>
    public async Task<string> PushBlobAsync(string repository, string path)
    {
        string sha256;
        using (var stream = File.OpenRead(path))
        {
            sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream).ConfigureAwait(false));
        }

        using var start = await _client.PostAsync(new Uri(BaseAddress, $"v2/{repository}/blobs/uploads/"), new ByteArrayContent(Array.Empty<byte>())).ConfigureAwait(false);
        if (start.StatusCode != HttpStatusCode.Accepted || start.Headers.Location is not { } location)
        {
            throw new InvalidOperationException($"Upload start answered {(int)start.StatusCode}");
        }

        var target = new UriBuilder(location.IsAbsoluteUri ? location : new Uri(BaseAddress, location));
        target.Query = (target.Query.TrimStart('?') is { Length: > 0 } q ? q + "&" : string.Empty) + "digest=sha256%3A" + sha256;
        using var body = File.OpenRead(path);
        var content = new StreamContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.ContentLength = body.Length;
        using var done = await _client.PutAsync(target.Uri, content).ConfigureAwait(false);
        if (done.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"Upload answered {(int)done.StatusCode}: {await done.Content.ReadAsStringAsync().ConfigureAwait(false)}");
        }

        return sha256;
    }

    /// <summary>Pushes <paramref name="bytes"/> as a blob (through a file of its own folder, as the file overload does).</summary>
    public async Task<string> PushBlobAsync(string repository, byte[] bytes)
    {
        var file = _root.Combine("upload-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(file, bytes).ConfigureAwait(false);
        try
        {
            return await PushBlobAsync(repository, file).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// Pushes a one-layer OCI image manifest for blob <paramref name="layerSha256"/> (already pushed) under
    /// <paramref name="tag"/>, with an empty JSON config, as ORAS-style artifacts are; returns the manifest digest.
    /// </summary>
    public async Task<string> PushOneLayerArtifactAsync(string repository, string tag, string layerSha256, long layerSize, string title)
    {
        var config = "{}"u8.ToArray();
        var configSha = await PushBlobAsync(repository, config).ConfigureAwait(false);
        var manifest = $$$"""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
             "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{{{configSha}}}","size":{{{config.Length}}}},
             "layers":[{"mediaType":"application/octet-stream","digest":"sha256:{{{layerSha256}}}","size":{{{layerSize}}},
               "annotations":{"org.opencontainers.image.title":"{{{title}}}"}}]}
            """;
        var bytes = Encoding.UTF8.GetBytes(manifest);
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.oci.image.manifest.v1+json");
        using var response = await _client.PutAsync(new Uri(BaseAddress, $"v2/{repository}/manifests/{tag}"), content).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"Manifest upload answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
        }

        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lines)
        {
            _lines.Add(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _process.Dispose();
            _client.Dispose();
            _root.Dispose();
        }
    }

    /// <summary>One combined-format access log line: method, path, status and body bytes sent.</summary>
    public sealed partial record AccessLine(string Method, string Path, int Status, long Bytes, string UserAgent)
    {
        public static AccessLine? TryParse(string line)
        {
            var match = Pattern().Match(line);
            return match.Success
                ? new AccessLine(match.Groups["method"].Value, match.Groups["path"].Value, int.Parse(match.Groups["status"].Value, CultureInfo.InvariantCulture),
                    long.Parse(match.Groups["bytes"].Value, CultureInfo.InvariantCulture), match.Groups["agent"].Value)
                : null;
        }

        [GeneratedRegex("^\\S+ \\S+ \\S+ \\[[^\\]]*\\] \"(?<method>[A-Z]+) (?<path>\\S+) HTTP/[0-9.]+\" (?<status>[0-9]{3}) (?<bytes>[0-9]+) \"[^\"]*\" \"(?<agent>[^\"]*)\"")]
        private static partial Regex Pattern();
    }
}
