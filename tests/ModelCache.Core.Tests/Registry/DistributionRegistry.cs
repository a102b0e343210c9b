using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using ModelCache.Testing;

namespace ModelCache.Core.Tests.Registry;

/// <summary>
/// The CNCF distribution registry (Debian's docker-registry) on a free 127.0.0.1 port with its own storage folder,
/// anonymous. Null from <see cref="TryStartAsync"/> when the binary is missing (a CI run fails instead).
/// </summary>
public sealed class DistributionRegistry : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly TempDirectory _root;
    private readonly HttpClient _client = new();

    private DistributionRegistry(Process process, TempDirectory root, int port)
    {
        _process = process;
        _root = root;
        Port = port;
    }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static string? Binary()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            var candidate = Path.Combine(dir, "docker-registry");
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public async Task<bool> WaitForLogAsync(string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!Log.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    /// <summary>Starts it; a free port taken by someone else between choosing and binding is tried again on another.</summary>
    public static async Task<DistributionRegistry> StartAsync(string binary)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(binary);
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
        }
    }

    private static async Task<DistributionRegistry> StartOnceAsync(string binary)
    {
        var root = new TempDirectory("modelcache-registry");
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var config = Path.Combine(root.Path, "config.yml");
        File.WriteAllText(config, $"""
            version: 0.1
            log:
              level: warn
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: {Path.Combine(root.Path, "storage")}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{port}
            """);
        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add(config);
        var process = Process.Start(info) ?? throw new InvalidOperationException("Cannot start " + binary);
        var registry = new DistributionRegistry(process, root, port);
        process.OutputDataReceived += (_, e) => registry.Append(e.Data);
        process.ErrorDataReceived += (_, e) => registry.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                using var response = await registry._client.GetAsync(new Uri(registry.BaseAddress, "v2/"));
                if (response.IsSuccessStatusCode && response.Headers.Contains("Docker-Distribution-Api-Version"))
                {
                    return registry;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
            }

            if (DateTime.UtcNow >= deadline || process.HasExited || IsSomeoneElse(registry))
            {
                var log = registry.Log;
                await registry.DisposeAsync();
                throw new InvalidOperationException("docker-registry did not come up: " + log);
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Pushes <paramref name="bytes"/> as a blob by the monolithic upload: POST → Location, PUT ?digest=.</summary>
    public async Task PushBlobAsync(string repository, byte[] bytes)
    {
        var digest = "sha256:" + TestModels.Sha256Of(bytes);
        using var start = await _client.PostAsync(new Uri(BaseAddress, $"v2/{repository}/blobs/uploads/"), new ByteArrayContent(Array.Empty<byte>()));
        if (start.StatusCode != HttpStatusCode.Accepted || start.Headers.Location is not { } location)
        {
            throw new InvalidOperationException($"Upload start answered {(int)start.StatusCode}");
        }

        var target = location.IsAbsoluteUri ? location : new Uri(BaseAddress, location);
        var put = new UriBuilder(target);
        put.Query = (put.Query.TrimStart('?') is { Length: > 0 } q ? q + "&" : string.Empty) + "digest=" + Uri.EscapeDataString(digest);
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var done = await _client.PutAsync(put.Uri, content);
        if (done.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"Upload answered {(int)done.StatusCode}: {await done.Content.ReadAsStringAsync()}");
        }
    }

    // Another server got the port first: this registry cannot bind it.
    private static bool IsSomeoneElse(DistributionRegistry registry) => registry.Log.Contains("address already in use", StringComparison.Ordinal);

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        finally
        {
            _process.Dispose();
            _client.Dispose();
            _root.Dispose();
        }
    }
}
