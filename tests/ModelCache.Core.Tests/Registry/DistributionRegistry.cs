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

/// <summary>How a <see cref="DistributionRegistry"/> is configured beyond anonymous plain HTTP (files are PEM / htpasswd paths).</summary>
public sealed record RegistryConfig
{
    /// <summary>TLS: the server certificate (PEM, may hold its chain) and its private key (PEM).</summary>
    public string? CertificateFile { get; init; }

    public string? KeyFile { get; init; }

    /// <summary>htpasswd basic auth: the file of bcrypt entries.</summary>
    public string? HtpasswdFile { get; init; }

    /// <summary>Token auth: auth.token.{realm, service, issuer, rootcertbundle}.</summary>
    public (string Realm, string Service, string Issuer, string RootCertBundle)? Token { get; init; }

    /// <summary>The test's own check of the registry's certificate (the test CA is never installed).</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? TrustedCertificate { get; init; }
}

/// <summary>
/// The CNCF distribution registry (Debian's docker-registry) on a free 127.0.0.1 port with its own storage folder:
/// anonymous plain HTTP, or as <see cref="RegistryConfig"/> says (TLS, htpasswd, token auth). Tests skip when the binary
/// is missing (a CI run fails instead).
/// </summary>
public sealed class DistributionRegistry : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly TempDirectory _root;
    private readonly HttpClient _client;

    private DistributionRegistry(Process process, TempDirectory root, int port, RegistryConfig config)
    {
        _process = process;
        _root = root;
        Port = port;
        Config = config;
        var handler = new HttpClientHandler();
        if (config.TrustedCertificate is { } trusted)
        {
            handler.ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate?.Thumbprint == trusted.Thumbprint;
        }

        _client = new HttpClient(handler);
    }

    public int Port { get; }

    public RegistryConfig Config { get; }

    public Uri BaseAddress => new($"{(Config.CertificateFile is null ? "http" : "https")}://127.0.0.1:{Port}/");

    /// <summary>Sent with the test's own pushes to a registry that needs a sign-in.</summary>
    public AuthenticationHeaderValue? PushAuthorization { get; set; }

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
    public static async Task<DistributionRegistry> StartAsync(string binary, RegistryConfig? config = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(binary, config ?? new RegistryConfig());
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
        }
    }

    private static async Task<DistributionRegistry> StartOnceAsync(string binary, RegistryConfig settings)
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
            """ + Extra(settings));
        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add(config);
        var process = Process.Start(info) ?? throw new InvalidOperationException("Cannot start " + binary);
        var registry = new DistributionRegistry(process, root, port, settings);
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
                // A registry that needs a sign-in answers 401, with the same header.
                if (response.Headers.Contains("Docker-Distribution-Api-Version"))
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
        using var post = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseAddress, $"v2/{repository}/blobs/uploads/")) { Content = new ByteArrayContent(Array.Empty<byte>()) };
        post.Headers.Authorization = PushAuthorization;
        using var start = await _client.SendAsync(post);
        if (start.StatusCode != HttpStatusCode.Accepted || start.Headers.Location is not { } location)
        {
            throw new InvalidOperationException($"Upload start answered {(int)start.StatusCode}");
        }

        var target = location.IsAbsoluteUri ? location : new Uri(BaseAddress, location);
        var put = new UriBuilder(target);
        put.Query = (put.Query.TrimStart('?') is { Length: > 0 } q ? q + "&" : string.Empty) + "digest=" + Uri.EscapeDataString(digest);
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var putRequest = new HttpRequestMessage(HttpMethod.Put, put.Uri) { Content = content };
        putRequest.Headers.Authorization = PushAuthorization;
        using var done = await _client.SendAsync(putRequest);
        if (done.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"Upload answered {(int)done.StatusCode}: {await done.Content.ReadAsStringAsync()}");
        }
    }

    private static string Extra(RegistryConfig settings)
    {
        var yaml = new StringBuilder();
        if (settings.CertificateFile is not null)
        {
            yaml.Append($"\n  tls:\n    certificate: {settings.CertificateFile}\n    key: {settings.KeyFile}");
        }

        if (settings.HtpasswdFile is not null)
        {
            yaml.Append($"\nauth:\n  htpasswd:\n    realm: modelcache-test\n    path: {settings.HtpasswdFile}");
        }
        else if (settings.Token is { } token)
        {
            yaml.Append($"\nauth:\n  token:\n    realm: {token.Realm}\n    service: {token.Service}\n    issuer: {token.Issuer}\n    rootcertbundle: {token.RootCertBundle}");
        }

        return yaml.Append('\n').ToString();
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
