using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading.Tasks;
using ModelCache.Testing;
using Xunit.Abstractions;

namespace ModelCache.PowerShell.Tests.Registry;

/// <summary>
/// A real distribution registry in pull-through (proxy) mode in front of another, both on 127.0.0.1 with their own
/// storage: Save-Model -Mirror oci://&lt;proxy&gt;/… gets a model the upstream holds, and once the proxy holds the blob,
/// several savers at once (real pwsh processes and parallel runspaces, each with its own cache root) cause no
/// upstream fetch, counted in the upstream's access log. Lives here, not beside the Core registry tests, because it
/// drives the built module (ModelCache.psd1) in-process and in separate pwsh processes.
/// </summary>
public sealed class ProxyRegistryTests : IDisposable
{
    private const string Repository = "fleet/models";
    private const string ModelName = "Proxy/BLOB";
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(90);

    private readonly ITestOutputHelper _output;
    private readonly PowerShellSession _ps = new();
    private readonly string? _savedDockerConfig = Environment.GetEnvironmentVariable("DOCKER_CONFIG");

    public ProxyRegistryTests(ITestOutputHelper output)
    {
        _output = output;

        // Never the machine's own ~/.docker/config.json: the registries here are anonymous.
        Environment.SetEnvironmentVariable("DOCKER_CONFIG", _ps.Temp.Combine("docker"));
    }

    [SkippableFact]
    public async Task Once_the_proxy_holds_the_blob_concurrent_pulls_through_it_fetch_nothing_upstream()
    {
        var binary = LoopbackRegistry.Binary();
        if (binary is null)
        {
            // On CI the registry is a dependency (.ci/run installs it): its absence is a failure, not a skip.
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "docker-registry is not installed (apt-get install docker-registry).");
            Skip.If(true, "docker-registry is not installed (apt-get install docker-registry).");
        }

        await using var upstream = await LoopbackRegistry.StartAsync(binary!, parentDirectory: _ps.Temp.Path);
        await using var proxy = await LoopbackRegistry.StartAsync(binary!, upstream.BaseAddress, _ps.Temp.Path);
        var bytes = new byte[2_000_000];
        new Random(21).NextBytes(bytes);
        var sha256 = await upstream.PushBlobAsync(Repository, bytes);
        var catalog = _ps.Temp.Combine("catalog.json");
        File.WriteAllText(catalog, $$"""
            { "models": [ { "family": "Proxy", "member": "BLOB", "task": "face_detection", "fileName": "blob.onnx",
              "url": "http://127.0.0.1:9/never-contacted/blob.onnx", "sha256": "{{sha256}}", "size": {{bytes.Length}} } ] }
            """);
        var mirror = $"oci://127.0.0.1:{proxy.Port}/{Repository}";
        // cacheRoot is a PowerShell expression: a quoted path, or a path built inside a parallel runspace.
        string Save(string cacheRoot) =>
            $"Save-Model {ModelName} -CatalogPath {Quote(catalog)} -CachePath {cacheRoot} -Mirror {Quote(mirror)} -MirrorOnly | " +
            "ForEach-Object { 'RESULT|{0}|{1}|{2}' -f $_.Source, $_.LastCheck, $_.Path }";

        // Two real pwsh processes import the module while the first miss runs, then wait for the go file.
        var go = _ps.Temp.Combine("go");
        var children = Enumerable.Range(1, 2).Select(i => PwshProcess.StartCommand($$"""
            Import-Module {{Quote(TestPaths.Manifest)}} -ErrorAction Stop
            'READY'
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not [System.IO.File]::Exists({{Quote(go)}})) { if ([DateTime]::UtcNow -gt $deadline) { throw 'no go signal' }; [System.Threading.Thread]::Sleep(5) }
            {{Save(Quote(_ps.Temp.Combine("process-" + i)))}}
            """, new Dictionary<string, string?> { ["DOCKER_CONFIG"] = _ps.Temp.Combine("docker") }, _ps.Temp.Path)).ToList();
        try
        {
            // 1. The first miss: the proxy fetches from the upstream (the 2.x proxy fetches more than once; reported).
            var first = _ps.Run(Save(Quote(_ps.Temp.Combine("first")))).ThrowIfErrors();
            AssertSavedFromMirror(Assert.Single(first.Output).ToString(), sha256);
            var held = Path.Combine(proxy.StorageDirectory, "docker", "registry", "v2", "blobs", "sha256", sha256[..2], sha256, "data");
            Assert.True(await WaitUntilAsync(() => File.Exists(held) && new FileInfo(held).Length == bytes.Length, TimeSpan.FromSeconds(15)), "the proxy never stored the blob");

            // The proxy's own background copy may still be logging: take the count once it stays put.
            var firstMissGets = await SettledCountAsync(() => upstream.BlobRequests(sha256).Count);
            var firstMissHeads = upstream.BlobRequests(sha256, "HEAD").Count;
            _output.WriteLine($"first miss through the proxy: {firstMissGets} upstream blob GET(s), {firstMissHeads} HEAD(s)");
            Assert.True(firstMissGets >= 1, string.Join(Environment.NewLine, upstream.Lines));
            var mark = upstream.Lines.Count;

            // 2. Warm: two pwsh processes and four parallel runspaces pull at once, each into its own cache root.
            await Task.WhenAll(children.Select(c => c.WaitForOutputAsync(line => line == "READY", ProcessTimeout)));
            File.WriteAllText(go, string.Empty);
            var inProcess = Task.Run(() => _ps.Run($$"""
                1..4 | ForEach-Object -ThrottleLimit 4 -Parallel {
                    Import-Module $using:manifest -ErrorAction Stop
                    {{Save("([System.IO.Path]::Combine($using:roots, \"runspace-$_\"))")}}
                }
                """, new Dictionary<string, object?> { ["manifest"] = TestPaths.Manifest, ["roots"] = _ps.Temp.Path }));
            var results = await Task.WhenAll(children.Select(c => c.WaitForExitAsync(ProcessTimeout)));
            var parallel = (await inProcess).ThrowIfErrors();

            foreach (var result in results)
            {
                Assert.True(result.Succeeded, result.ToString());
                AssertSavedFromMirror(Assert.Single(result.OutputLines, l => l.StartsWith("RESULT|", StringComparison.Ordinal)), sha256);
            }

            Assert.Equal(4, parallel.Output.Count);
            Assert.All(parallel.Output, o => AssertSavedFromMirror(o.ToString(), sha256));

            // Every pull reached the proxy (seven full blob GETs); none of them reached the upstream.
            Assert.True(await proxy.WaitForAsync(_ => proxy.BlobRequests(sha256).Count(r => r.Status == 200 && r.Bytes == bytes.Length) == 7, TimeSpan.FromSeconds(10)),
                string.Join(Environment.NewLine, proxy.Lines));
            await Task.Delay(500);
            var after = upstream.Requests(mark).Where(r => r.Path.Contains("/blobs/", StringComparison.Ordinal)).ToList();
            _output.WriteLine($"six concurrent pulls of the held blob: {after.Count} upstream blob request(s); proxy egress {proxy.BlobRequests(sha256).Sum(r => r.Bytes)} bytes in all");
            Assert.True(after.Count == 0, "upstream was asked again: " + string.Join(Environment.NewLine, after));
        }
        finally
        {
            foreach (var child in children)
            {
                child.Dispose();
            }
        }
    }

    public void Dispose()
    {
        _ps.Dispose();
        Environment.SetEnvironmentVariable("DOCKER_CONFIG", _savedDockerConfig);
    }

    private static void AssertSavedFromMirror(string line, string sha256)
    {
        var parts = line.Split('|');
        Assert.True(parts.Length == 4 && parts[0] == "RESULT", line);
        Assert.Equal("Mirror", parts[1]);
        Assert.Equal("Passed", parts[2]);
        using var stream = File.OpenRead(parts[3]);
        Assert.Equal(sha256, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }

    private static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    /// <summary>The value once it has not changed for half a second (at most 5 s).</summary>
    private static async Task<int> SettledCountAsync(Func<int> count)
    {
        var value = count();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        for (var stable = 0; stable < 10 && DateTime.UtcNow < deadline; )
        {
            await Task.Delay(50);
            var next = count();
            stable = next == value ? stable + 1 : 0;
            value = next;
        }

        return value;
    }

    private static string Quote(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";
}
