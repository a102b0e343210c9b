using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Threading.Tasks;
using ModelCache.Testing;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// Start-ModelCacheServer in a real child pwsh on 127.0.0.1, sandboxed under a test's temporary folder (its own cache,
/// settings and a catalog of one Site/* model), ready once it has printed its address. Disposing ends the process.
/// </summary>
internal sealed class SiteServerProcess : IDisposable
{
    private SiteServerProcess(PwshProcess process, Uri uri)
    {
        Process = process;
        Uri = uri;
    }

    public PwshProcess Process { get; }

    /// <summary>The server's base address.</summary>
    public Uri Uri { get; }

    /// <summary>The cache the server uses (MODELCACHE_HOME).</summary>
    public static string CacheOf(TempDirectory temp) => temp.Combine("cache");

    /// <param name="temp">The test's folder: cache, settings and catalog.json go under it.</param>
    /// <param name="member">The model is Site/<paramref name="member"/>, saved as <paramref name="fileName"/> from <paramref name="url"/>.</param>
    /// <param name="arguments">Start-ModelCacheServer's arguments after -Port 0.</param>
    /// <param name="environment">More variables for the server (null removes one).</param>
    /// <param name="ready">How long the server may take to print its address.</param>
    public static async Task<SiteServerProcess> StartAsync(TempDirectory temp, string member, string fileName, Uri url, string sha256, long size, string arguments,
        IReadOnlyDictionary<string, string?>? environment, TimeSpan ready)
    {
        var catalog = temp.Combine("catalog.json");
        File.WriteAllText(catalog, JsonSerializer.Serialize(new
        {
            models = new[] { new { family = "Site", member, task = "face_detection", fileName, url = url.ToString(), sha256, size } },
        }));
        var variables = new Dictionary<string, string?>
        {
            ["MODELCACHE_HOME"] = CacheOf(temp),
            ["MODELCACHE_CATALOG"] = catalog,
            ["XDG_CONFIG_HOME"] = temp.Combine("config"),
            ["XDG_CACHE_HOME"] = temp.Combine("xdg"),
            ["MODELCACHE_MACHINE_CONFIG"] = temp.Combine("machine.json"),
            ["MODELCACHE_MIRROR"] = null,
            ["MODELCACHE_OFFLINE"] = null,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            variables[name] = value;
        }

        var process = PwshProcess.StartCommand(
            $"Import-Module '{TestPaths.Manifest}' -ErrorAction Stop; Start-ModelCacheServer -Port 0 {arguments} | ForEach-Object {{ 'LISTENING|' + $_.Uri }}", variables);
        try
        {
            var listening = await process.WaitForOutputAsync(line => line.StartsWith("LISTENING|", StringComparison.Ordinal), ready);
            return new SiteServerProcess(process, new Uri(listening.Substring("LISTENING|".Length).Trim()));
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>Where the server serves <paramref name="fileName"/>.</summary>
    public Uri ModelUrl(string fileName) => new(Uri, "models/" + fileName);

    public void Dispose() => Process.Dispose();
}
