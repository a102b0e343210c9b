using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Tasks;
using ModelCache.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// A segmented Save-Model in a real pwsh, killed with SIGKILL mid-download against nginx with a per-connection
/// limit_rate; the next Save-Model fetches only the missing ranges: nginx's access log counts less than 1.2× the file.
/// </summary>
public sealed class SegmentedKillTests : IDisposable
{
    private const string Family = "Segmented";
    private const string Member = "KILL";
    private const string FileName = "segmented_kill.onnx";
    private const int ModelSize = (40 << 20) + 777;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly ITestOutputHelper _log;
    private readonly TempDirectory _temp = new("modelcache-seg");
    private readonly string _sha256;

    public SegmentedKillTests(ITestOutputHelper log)
    {
        _log = log;
        _sha256 = ServedFile.Write(_temp.Combine("served"), FileName, ModelSize, seed: 2312).Sha256;
        File.WriteAllText(_temp.Combine("catalog.json"), JsonSerializer.Serialize(new
        {
            models = new[]
            {
                new
                {
                    family = Family, member = Member, task = "face_detection", fileName = FileName,
                    url = "http://127.0.0.1:9/never-contacted/" + FileName, sha256 = _sha256, size = ModelSize, license = "test",
                },
            },
        }));
    }

    private string CacheRoot => _temp.Combine("cache");

    private string FinalPath => Path.Combine(CacheRoot, "models", Family, Member, FileName);

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Kill_9_mid_download_then_a_rerun_fetches_only_the_missing_ranges()
    {
        using var nginx = NginxServer.Start(new NginxServerOptions(_temp.Combine("served")) { ThrottledLocations = { ["/slow/"] = "2m" } });
        var mirror = nginx.Url("slow/kill/").ToString();

        using (var child = PwshProcess.StartCommand(Script(mirror), ChildEnvironment(), _temp.Path))
        {
            // Killed once the partial's state records at least a third of the file in several ranges.
            var state = FinalPath + ".partial.json";
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (HeldBytes(state) < ModelSize / 3)
            {
                Assert.False(child.HasExited, "Save-Model ended before it was killed." + Environment.NewLine + child.Transcript());
                Assert.True(waited.Elapsed < Timeout, "No segmented progress in time." + Environment.NewLine + child.Transcript());
                await Task.Delay(20);
            }

            child.Kill();
            await child.WaitForExitAsync(Timeout);
        }

        Assert.False(File.Exists(FinalPath), "nothing is promoted before it verifies");
        var held = HeldBytes(FinalPath + ".partial.json");
        using (var rerun = PwshProcess.StartCommand(Script(mirror), ChildEnvironment(), _temp.Path))
        {
            var result = await rerun.WaitForExitAsync(Timeout);
            Assert.True(result.Succeeded, result.ToString());
            var line = Assert.Single(result.OutputLines, l => l.StartsWith("RESULT|", StringComparison.Ordinal));
            var parts = line.Split('|');
            Assert.Equal("True", parts[1]);
            Assert.Equal(_sha256, parts[2]);
            Assert.Equal("True", parts[3]); // resumed
        }

        Assert.Equal(_sha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(FinalPath))));
        var log = nginx.RequestsFor(FileName, atLeast: 2);
        var sent = log.Sum(e => e.BytesSent);
        _log.WriteLine($"held at kill {held}; nginx sent {sent} for {ModelSize} ({(double)sent / ModelSize:0.00}x) in {log.Count} requests; " +
            string.Join(" ", log.Select(e => $"{e.Status}:{e.BytesSent}")));
        Assert.True(log.Count(e => e.Status == 206) >= 4, "segments were fetched as ranges");
        Assert.True(sent < ModelSize * 1.2, $"nginx sent {sent} bytes for a {ModelSize}-byte model");
    }

    private static string Script(string mirror) =>
        $"Import-Module {Quote(TestPaths.Manifest)} -ErrorAction Stop; " +
        $"Save-Model {Family}/{Member} -Mirror {Quote(mirror)} -MirrorOnly | ForEach-Object {{ 'RESULT|{{0}}|{{1}}|{{2}}' -f ($_.LastCheck -eq 'Passed'), $_.Sha256, $_.Transfer.Resumed }}";

    private static string Quote(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>The bytes a segmented partial's state records as complete (0 while there is none).</summary>
    private static long HeldBytes(string statePath)
    {
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllText(statePath));
            return json.RootElement.TryGetProperty("done", out var done)
                ? done.EnumerateArray().Sum(r => r[1].GetInt64() - r[0].GetInt64())
                : 0;
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private Dictionary<string, string?> ChildEnvironment() => new()
    {
        ["MODELCACHE_HOME"] = CacheRoot,
        ["MODELCACHE_CATALOG"] = _temp.Combine("catalog.json"),
        ["XDG_CONFIG_HOME"] = _temp.Combine("config"),
        ["XDG_CACHE_HOME"] = _temp.Combine("xdg-cache"),
    };
}
