using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ModelCache.Testing;
using Xunit.Abstractions;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// Save-Model across real pwsh processes (<see cref="PwshProcess"/>) against a real nginx on 127.0.0.1:
/// several processes saving one model at once, and kill -9 at random points of a download. The
/// model is a generated file registered through a user catalog; nginx throttles it so transfers
/// last long enough to overlap or to be killed. Only 127.0.0.1 is contacted (the catalog URL points
/// at 127.0.0.1:9 and every Save-Model is -MirrorOnly), every wait has a timeout, and request counts
/// are bounded by assertions on nginx's access log.
/// </summary>
public sealed class MultiProcessTests : IDisposable
{
    private const string Family = "MultiProcess";
    private const string Member = "SLOW_NET";
    private const string ModelName = Family + "/" + Member;
    private const string FileName = "multiprocess_slow_net.onnx";

    /// <summary>Not a multiple of any buffer size, so the last read is a short one.</summary>
    private const int ModelSize = (3 << 20) + 12_345;

    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ProgressTimeout = TimeSpan.FromSeconds(30);

    private readonly ITestOutputHelper _log;
    private readonly TempDirectory _temp = new("modelcache-mp");
    private readonly Dictionary<string, string?> _savedEnvironment;
    private readonly byte[] _content;
    private readonly string _sha256;

    public MultiProcessTests(ITestOutputHelper log)
    {
        _log = log;

        // The in-process runs below pass -Path, -CatalogPath and -Mirror explicitly; clear the rest so
        // a developer's own MODELCACHE_* settings cannot leak in (restored on dispose).
        _savedEnvironment = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("MODELCACHE_", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(k => k, Environment.GetEnvironmentVariable);
        foreach (var name in _savedEnvironment.Keys)
        {
            Environment.SetEnvironmentVariable(name, null);
        }

        var served = ServedFile.Write(ServedDirectory, FileName, ModelSize, seed: 20261123);
        (_content, _sha256) = (served.Content, served.Sha256);
        File.WriteAllText(CatalogPath, JsonSerializer.Serialize(new
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

    private string ServedDirectory => _temp.Combine("served");

    private string CatalogPath => _temp.Combine("catalog.json");

    private string CacheRoot => _temp.Combine("cache");

    private string FinalPath => Path.Combine(CacheRoot, "models", Family, Member, FileName);

    private string PartialPath => FinalPath + ".partial";

    /// <summary>After a save: the model and its metadata, no partial file or partial metadata left behind.</summary>
    private static string[] ExpectedModelDirectory => new[] { "entry.json", FileName };

    private string[] ModelDirectoryListing() =>
        Directory.GetFiles(Path.GetDirectoryName(FinalPath)!).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToArray();

    public void Dispose()
    {
        foreach (var pair in _savedEnvironment)
        {
            Environment.SetEnvironmentVariable(pair.Key, pair.Value);
        }

        _temp.Dispose();
    }

    [Fact]
    public async Task The_nginx_fixture_serves_ranges_with_validators_and_logs_every_request()
    {
        using var nginx = NginxServer.Start(new NginxServerOptions(ServedDirectory) { ThrottledLocations = { ["/slow/"] = "8m" } });
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        using var full = await client.GetAsync(nginx.Url(FileName));
        var body = await full.Content.ReadAsByteArrayAsync();
        var etag = full.Headers.ETag;
        using var request = new HttpRequestMessage(HttpMethod.Get, nginx.Url("slow/tag-a/deeper/" + FileName));
        request.Headers.Range = new RangeHeaderValue(1000, null);
        request.Headers.IfRange = new RangeConditionHeaderValue(etag!);
        using var partial = await client.SendAsync(request);
        var tail = await partial.Content.ReadAsByteArrayAsync();
        using var missing = await client.GetAsync(nginx.Url("slow/tag-b/absent.onnx"));

        Assert.Equal(200, (int)full.StatusCode);
        Assert.Equal(_content, body);
        Assert.NotNull(etag);
        Assert.Equal(206, (int)partial.StatusCode);
        Assert.Equal(_content.AsSpan(1000).ToArray(), tail);
        Assert.Equal(404, (int)missing.StatusCode);
        var log = nginx.WaitForAccessLog(entries => entries.Count >= 3, TimeSpan.FromSeconds(10));
        Assert.Equal(3, log.Count);
        Assert.True(log[0].IsFullTransfer(ModelSize), log[0].ToString());
        Assert.Null(log[0].Range);
        Assert.Equal("/slow/tag-a/deeper/" + FileName, log[1].Uri);
        Assert.Equal(206, log[1].Status);
        Assert.Equal("bytes=1000-", log[1].Range);
        Assert.Equal(etag!.ToString(), log[1].IfRange);
        Assert.Equal($"bytes 1000-{ModelSize - 1}/{ModelSize}", log[1].ContentRange);
        Assert.Equal(ModelSize - 1000, log[1].BytesSent);
        Assert.Equal(404, log[2].Status);
    }

    [Fact]
    public async Task Eight_processes_saving_one_model_at_once_cause_one_transfer_and_all_get_the_verified_entry()
    {
        const int processes = 8;

        // ~1.5 s per transfer at 2 MB/s: long enough that every process asks while the first one downloads.
        using var nginx = NginxServer.Start(new NginxServerOptions(ServedDirectory) { ThrottledLocations = { ["/slow/"] = "2m" } });
        var mirror = nginx.Url("slow/eight/").ToString();
        var go = _temp.Combine("go");

        // Each process imports the module, says READY and waits for the go file, so all eight call
        // Save-Model within milliseconds of each other however long their start-up took.
        var script = $$"""
            Import-Module {{Quote(TestPaths.Manifest)}} -ErrorAction Stop
            'READY'
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not [System.IO.File]::Exists({{Quote(go)}})) { if ([DateTime]::UtcNow -gt $deadline) { throw 'no go signal' }; [System.Threading.Thread]::Sleep(5) }
            {{SaveAndReport(mirror)}}
            """;
        var children = Enumerable.Range(0, processes).Select(_ => PwshProcess.StartCommand(script, ChildEnvironment(), _temp.Path)).ToList();
        try
        {
            await Task.WhenAll(children.Select(c => c.WaitForOutputAsync(line => line == "READY", ProcessTimeout)));
            File.WriteAllText(go, string.Empty);
            var results = await Task.WhenAll(children.Select(c => c.WaitForExitAsync(ProcessTimeout)));

            foreach (var result in results)
            {
                Assert.True(result.Succeeded, result.ToString());
                Assert.Empty(result.ErrorIds);
            }

            var reports = results.Select(r => SaveReport.Parse(Assert.Single(r.OutputLines, l => l.StartsWith("RESULT|", StringComparison.Ordinal)))).ToList();
            Assert.All(reports, report =>
            {
                Assert.Equal(ModelName, report.Name);
                Assert.True(report.Verified);
                Assert.Equal(_sha256, report.Sha256);
                Assert.Equal(FinalPath, report.Path);
            });

            // One process downloaded; the other seven waited for its lock and got the verified file.
            Assert.Equal(1, reports.Count(r => r.Source == "Mirror"));
            Assert.Equal(processes - 1, reports.Count(r => r.Source == "Cache"));
            Assert.Equal((long)ModelSize, reports.Single(r => r.Source == "Mirror").BytesTransferred);

            var requests = nginx.RequestsFor(FileName);
            var transfer = Assert.Single(requests);
            Assert.True(transfer.IsFullTransfer(ModelSize), transfer.ToString());
            Assert.Null(transfer.Range);
            Assert.Equal(_sha256, HashFile(FinalPath));
            Assert.Equal(ExpectedModelDirectory, ModelDirectoryListing());
        }
        finally
        {
            foreach (var child in children)
            {
                child.Dispose();
            }
        }
    }

    [Fact]
    public async Task Kill_9_at_random_offsets_never_leaves_an_unverified_model_and_the_next_save_completes()
    {
        const int rounds = 20;
        var random = new Random(4242);

        // ~1 s per full transfer at 3 MB/s: slow enough that most kills land mid-transfer on a loaded machine.
        using var nginx = NginxServer.Start(new NginxServerOptions(ServedDirectory) { ThrottledLocations = { ["/slow/"] = "3m" } });
        using var shell = new HostedModule(_temp.Path);
        var outcomes = new List<RoundOutcome>();
        var clock = Stopwatch.StartNew();

        // Each round's process is started during the previous round and waits for its go file, so
        // its start-up (a second or two: starting pwsh and importing the module) overlaps the previous round.
        var next = StartWaitingSave(nginx, 1);
        try
        {
            for (var round = 1; round <= rounds; round++)
            {
                using var child = next ?? throw new InvalidOperationException("no process for round " + round);
                next = round < rounds ? StartWaitingSave(nginx, round + 1) : null;
                var outcome = new RoundOutcome(round, RoundTag(round), random.NextInt64(0, ModelSize + 1));
                outcomes.Add(outcome);
                var phase = Stopwatch.StartNew();
                await child.WaitForOutputAsync(line => line == "READY", ProcessTimeout);
                outcome.Timings.Add(("ready", phase.Elapsed));
                File.WriteAllText(_temp.Combine("go-" + outcome.Tag), string.Empty);

                // Kill once the partial file holds at least Target bytes (0: as soon as it exists).
                var waited = Stopwatch.StartNew();
                while (true)
                {
                    if (child.HasExited)
                    {
                        outcome.ExitedBeforeKill = true;
                        break;
                    }

                    var length = FileLength(PartialPath);
                    if (length >= outcome.Target || File.Exists(FinalPath))
                    {
                        outcome.PartialAtKill = length;
                        break;
                    }

                    if (waited.Elapsed > ProgressTimeout)
                    {
                        Assert.Fail($"Round {round}: no partial file of {outcome.Target} bytes at '{PartialPath}' after {ProgressTimeout.TotalSeconds:0} s (seen {length}).{Environment.NewLine}{child.Transcript()}");
                    }

                    await Task.Delay(1);
                }

                outcome.Timings.Add(("progress", phase.Elapsed));
                child.Kill();
                var ended = await child.WaitForExitAsync(ProcessTimeout);
                outcome.Timings.Add(("killed", phase.Elapsed));
                if (outcome.ExitedBeforeKill)
                {
                    Assert.True(ended.Succeeded, $"Round {round}: the save ended on its own but failed.{Environment.NewLine}{ended}");
                }

                // Whatever the moment of the kill: no final file unless it is complete and verified...
                outcome.PartialAfterKill = FileLength(PartialPath);
                outcome.FinalAfterKill = File.Exists(FinalPath);
                if (outcome.FinalAfterKill)
                {
                    Assert.Equal(_sha256, HashFile(FinalPath));
                }

                // ...and the cache as Test-ModelHash sees it holds nothing invalid.
                var check = shell.Run($"Test-ModelHash -CachePath {Quote(CacheRoot)} -CatalogPath {Quote(CatalogPath)}", CommandTimeout);
                Assert.True(check.Terminating is null && check.Errors.Count == 0, $"Round {round} ({outcome}): Test-ModelHash reported {string.Join(", ", check.ErrorIds)}: {string.Join("; ", check.Errors)}");
                Assert.All(check.Output, result => Assert.Equal("Valid", result.Properties["Status"].Value.ToString()));
                Assert.Equal(outcome.FinalAfterKill ? 1 : 0, check.Output.Count);

                outcome.Timings.Add(("checked", phase.Elapsed));

                // The next Save-Model (in this process) completes, resuming the partial when there is one.
                var save = shell.Run($"Save-Model {ModelName} -CachePath {Quote(CacheRoot)} -CatalogPath {Quote(CatalogPath)} -Mirror {Quote(RoundMirror(nginx, round))} -MirrorOnly", CommandTimeout);
                Assert.True(save.Terminating is null && save.Errors.Count == 0, $"Round {round} ({outcome}): Save-Model failed: {string.Join("; ", save.Errors.Select(e => e.FullyQualifiedErrorId + ": " + e))}{save.Terminating}");
                var entry = Assert.Single(save.Output);
                Assert.Equal("Passed", entry.Properties["LastCheck"].Value.ToString());
                Assert.Equal(_sha256, entry.Properties["Sha256"].Value);
                var transfer = entry.Properties["Transfer"].Value is PSObject wrapped ? wrapped : (entry.Properties["Transfer"].Value is { } raw ? PSObject.AsPSObject(raw) : null);
                outcome.Source = entry.Properties["Source"].Value?.ToString();
                outcome.Resumed = transfer?.Properties["Resumed"]?.Value is true;
                Assert.Equal(_sha256, HashFile(FinalPath));
                Assert.False(File.Exists(PartialPath), $"Round {round} ({outcome}): a partial file is left beside the saved model.");
                outcome.LeftOver = string.Join(", ", ModelDirectoryListing().Except(ExpectedModelDirectory));

                outcome.Timings.Add(("saved", phase.Elapsed));

                // Start the next round from an empty cache.
                shell.Run($"Clear-ModelCache -Name {ModelName} -CachePath {Quote(CacheRoot)} -CatalogPath {Quote(CatalogPath)} -Confirm:$false", CommandTimeout).ThrowIfErrors();
                Assert.False(File.Exists(FinalPath));
                outcome.Timings.Add(("cleared", phase.Elapsed));
            }
        }
        finally
        {
            next?.Dispose();
        }

        var log = nginx.ReadAccessLog().Where(e => e.FileName == FileName).ToList();
        foreach (var outcome in outcomes)
        {
            var requests = log.Where(e => e.Uri.StartsWith($"/slow/{outcome.Tag}/", StringComparison.Ordinal)).ToList();
            outcome.Requests = requests.Count;
            outcome.RangeRequests = requests.Count(e => e.Status == 206);
            outcome.Log = string.Join(" ", requests.Select(e => $"{e.Status}:{e.BytesSent}{(e.Range is null ? string.Empty : "@" + e.Range)}"));
        }

        var table = string.Join(Environment.NewLine, outcomes.Select(o => o.ToString()));
        _log.WriteLine($"{rounds} rounds in {clock.Elapsed.TotalSeconds:0.0} s; nginx saw {log.Count} requests{Environment.NewLine}{table}");

        // Bounded traffic: the killed request plus the resuming (or restarting) one, with slack for a HEAD.
        Assert.All(outcomes, o => Assert.InRange(o.Requests, 1, 4));

        // The kills must land mid-transfer often enough for the test to mean something.
        var interrupted = outcomes.Where(o => !o.FinalAfterKill && o.PartialAfterKill > 0 && o.PartialAfterKill < ModelSize).ToList();
        Assert.True(interrupted.Count >= rounds / 4, $"Only {interrupted.Count} of {rounds} kills left a partial file mid-transfer.{Environment.NewLine}{table}");

        // A Save-Model that says it resumed did send a Range request that nginx answered with 206,
        // or found the killed process's partial already complete and promoted it with no request at all...
        Assert.All(outcomes.Where(o => o.Resumed), o => Assert.True(
            o.RangeRequests > 0 || (o.PartialAfterKill == ModelSize && o.Requests == 1),
            $"{o} claims a resume nginx never saw."));

        // ...and most interrupted downloads are resumed rather than fetched again (issue 4: resume).
        var resumed = interrupted.Count(o => o.RangeRequests > 0);
        Assert.True(resumed >= Math.Max(1, interrupted.Count / 2),
            $"Only {resumed} of {interrupted.Count} interrupted downloads were resumed with a Range request.{Environment.NewLine}{table}");
    }

    private static string RoundTag(int round) => "round" + round.ToString("00", CultureInfo.InvariantCulture);

    /// <summary>Each round has its own mirror path (nginx ignores the tag), so the access log tells rounds apart.</summary>
    private static string RoundMirror(NginxServer nginx, int round) => nginx.Url($"slow/{RoundTag(round)}/").ToString();

    /// <summary>A child that imports the module, prints READY, and runs Save-Model once go-&lt;tag&gt; exists.</summary>
    private PwshProcess StartWaitingSave(NginxServer nginx, int round)
    {
        var go = _temp.Combine("go-" + RoundTag(round));
        var script = $$"""
            Import-Module {{Quote(TestPaths.Manifest)}} -ErrorAction Stop
            'READY'
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            while (-not [System.IO.File]::Exists({{Quote(go)}})) { if ([DateTime]::UtcNow -gt $deadline) { throw 'no go signal' }; [System.Threading.Thread]::Sleep(2) }
            {{SaveAndReport(RoundMirror(nginx, round))}}
            """;
        return PwshProcess.StartCommand(script, ChildEnvironment(), _temp.Path);
    }

    private static string Quote(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static long FileLength(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? info.Length : -1;
        }
        catch (IOException)
        {
            return -1;
        }
    }

    private static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Save-Model in a child process, printing one parseable line per entry.</summary>
    private static string SaveAndReport(string mirror) =>
        $"Save-Model {ModelName} -Mirror {Quote(mirror)} -MirrorOnly | ForEach-Object {{ 'RESULT|{{0}}|{{1}}|{{2}}|{{3}}|{{4}}|{{5}}' -f $_.Name, ($_.LastCheck -eq 'Passed'), $_.Sha256, $_.Source, $_.Transfer.BytesTransferred, $_.Path }}";

    /// <summary>What a child process needs: its cache root, the user catalog, private settings.</summary>
    private Dictionary<string, string?> ChildEnvironment() => new()
    {
        ["MODELCACHE_HOME"] = CacheRoot,
        ["MODELCACHE_CATALOG"] = CatalogPath,
        ["XDG_CONFIG_HOME"] = _temp.Combine("config"),
        ["XDG_CACHE_HOME"] = _temp.Combine("xdg-cache"),
    };

    private sealed record SaveReport(string Name, bool Verified, string Sha256, string Source, long BytesTransferred, string Path)
    {
        public static SaveReport Parse(string line)
        {
            var parts = line.Split('|');
            Assert.True(parts.Length == 7, "Unexpected result line: " + line);
            return new SaveReport(parts[1], bool.Parse(parts[2]), parts[3], parts[4],
                long.TryParse(parts[5], NumberStyles.Integer, CultureInfo.InvariantCulture, out var bytes) ? bytes : -1, parts[6]);
        }
    }

    private sealed class RoundOutcome
    {
        public RoundOutcome(int round, string tag, long target)
        {
            Round = round;
            Tag = tag;
            Target = target;
        }

        public int Round { get; }

        public string Tag { get; }

        /// <summary>Kill once the partial file holds this many bytes.</summary>
        public long Target { get; }

        public bool ExitedBeforeKill { get; set; }

        public long PartialAtKill { get; set; } = -1;

        public long PartialAfterKill { get; set; } = -1;

        public bool FinalAfterKill { get; set; }

        public string? Source { get; set; }

        public bool Resumed { get; set; }

        public int Requests { get; set; }

        public int RangeRequests { get; set; }

        /// <summary>Files other than the model and entry.json in its directory after the save (reported, not asserted).</summary>
        public string LeftOver { get; set; } = string.Empty;

        /// <summary>Elapsed time at the end of each phase of the round (diagnostics only).</summary>
        public List<(string Phase, TimeSpan At)> Timings { get; } = new();

        /// <summary>status:bytes[@range] of each request nginx logged for this round.</summary>
        public string Log { get; set; } = string.Empty;

        public override string ToString() =>
            $"round {Round,2}: kill at >= {Target,8} B, partial {PartialAtKill,8} -> {PartialAfterKill,8} B, final {(FinalAfterKill ? "yes" : "no ")}, " +
            $"{(ExitedBeforeKill ? "finished before the kill, " : string.Empty)}next save: {Source} resumed={Resumed}; nginx: {Log};{(LeftOver.Length > 0 ? " left over: " + LeftOver + ";" : string.Empty)} {string.Join(" ", Timings.Select(t => $"{t.Phase} {t.At.TotalMilliseconds:0}"))} ms";
    }

    /// <summary>
    /// The module imported into a runspace of this process, with a timeout on every command: a
    /// command still running at its deadline is stopped (StopProcessing cancels Save-Model) and the
    /// test fails.
    /// </summary>
    private sealed class HostedModule : IDisposable
    {
        private readonly Runspace _runspace;

        public HostedModule(string workingDirectory)
        {
            var state = InitialSessionState.CreateDefault2();
            if (OperatingSystem.IsWindows())
            {
                state.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Bypass;
            }

            _runspace = RunspaceFactory.CreateRunspace(state);
            _runspace.Open();
            _runspace.SessionStateProxy.Path.SetLocation(workingDirectory);
            Run($"Import-Module {Quote(TestPaths.Manifest)} -ErrorAction Stop", CommandTimeout).ThrowIfErrors();
        }

        public PowerShellResult Run(string script, TimeSpan timeout)
        {
            using var shell = System.Management.Automation.PowerShell.Create();
            shell.Runspace = _runspace;
            shell.AddScript(script);
            var output = new PSDataCollection<PSObject>();
            var pending = shell.BeginInvoke<PSObject, PSObject>(null, output);
            if (!pending.AsyncWaitHandle.WaitOne(timeout))
            {
                var stopping = shell.BeginStop(null, null);
                stopping.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(10));
                throw new TimeoutException($"'{script}' did not finish within {timeout.TotalSeconds:0} s.");
            }

            RuntimeException? terminating = null;
            try
            {
                shell.EndInvoke(pending);
            }
            catch (RuntimeException ex)
            {
                terminating = ex;
            }

            return new PowerShellResult(output.ToList(), shell.Streams.Error.ToList(), shell.Streams.Warning.Select(w => w.Message).ToList(), terminating);
        }

        public void Dispose()
        {
            try
            {
                Run("Remove-Module ModelCache -ErrorAction SilentlyContinue", CommandTimeout);
            }
            finally
            {
                _runspace.Dispose();
            }
        }
    }
}
