using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using ModelCache.Testing;
using Xunit.Abstractions;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// A bounded concurrency soak: three real pwsh processes on one cache root, each running for a fixed
/// wall time a seeded random mix of Save-Model (from a directory mirror), Clear-ModelCache,
/// Test-ModelHash (by name and piped from Get-ModelCache), Get-ModelCache and same-size bit flips of
/// cached model files. Each child prints one parseable line per operation; the test then checks
/// invariants that hold for any interleaving:
/// <list type="number">
/// <item>every error carries a ModelCache error id (never ModelCacheInternalError) and no raw .NET exception type;</item>
/// <item>no wrong success: Valid only for bytes that hash to the catalog SHA-256, never right after a flip
/// while the file still holds the flipped bytes, and at the end Valid exactly for the files that really match;</item>
/// <item>at the end the cache is consistent: no partial or temporary files, every listed model file exists;</item>
/// <item>each child stopped by itself after doing real work.</item>
/// </list>
/// Nothing contacts the network: the catalog URLs point at 127.0.0.1:9 and every save is -MirrorOnly.
/// </summary>
public sealed class SoakTests : IDisposable
{
    private const string Family = "Soak";
    private const int Processes = 3;
    private const int Seed = 20261201;

    /// <summary>Wall time of each child's loop; every loop is also bounded by <see cref="MaxOperations"/>.</summary>
    private const int LoopSeconds = 20;

    private const int MaxOperations = 3000;

    /// <summary>Fewer than this many operations in a child means the soak did not really run.</summary>
    private const int MinOperations = 20;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(LoopSeconds + 30);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Every error id ModelCache reports on purpose (src/ModelCache.Core and src/ModelCache.PowerShell), ModelCacheInternalError excluded.</summary>
    private static readonly HashSet<string> KnownErrorIds = new(StringComparer.Ordinal)
    {
        "LockTimeout", "CacheEntryVanished", "CacheIOError", "CacheAccessDenied", "PathTooLong", "CacheEntryNotRemovable",
        "CacheEntryOutsideRoot", "CacheRootNotWritable", "CacheWriteFailed", "ModelNotCached", "ModelNotFound", "AmbiguousModelName",
        "ModelFileMissing", "HashMismatch", "ExpectedHashUnknown", "DownloadFailed", "SourceFileNotFound", "SourceReadFailed",
        "SizeMismatch", "ResumedHashMismatch", "ContentTooLong", "NotARegularFile",
    };

    /// <summary>Exception types that mean a raw .NET failure reached the user.</summary>
    private static readonly string[] RawExceptionTypes =
    {
        "System.IO.IOException", "System.IO.FileNotFoundException", "System.IO.DirectoryNotFoundException", "System.IO.PathTooLongException",
        "System.UnauthorizedAccessException", "System.Text.Json.JsonException", "System.NullReferenceException", "System.ArgumentException",
        "System.ArgumentNullException", "System.ArgumentOutOfRangeException", "System.IndexOutOfRangeException", "System.FormatException",
        "System.ObjectDisposedException", "System.AggregateException", "System.Threading.Tasks.TaskCanceledException",
    };

    private static readonly (string Member, int Size)[] ModelShapes = { ("A", 200_003), ("B", 401_017), ("C", 600_011) };

    private readonly ITestOutputHelper _log;
    private readonly TempDirectory _temp = new("modelcache-soak");
    private readonly Dictionary<string, Model> _models = new(StringComparer.OrdinalIgnoreCase);

    public SoakTests(ITestOutputHelper log)
    {
        _log = log;
        var random = new Random(Seed);
        Directory.CreateDirectory(MirrorDirectory);
        foreach (var (member, size) in ModelShapes)
        {
            var content = new byte[size];
            random.NextBytes(content);
            var model = new Model(Family + "/" + member, "soak_" + member.ToLowerInvariant() + ".onnx", Convert.ToHexStringLower(SHA256.HashData(content)), size);
            File.WriteAllBytes(Path.Combine(MirrorDirectory, model.FileName), content);
            _models[model.Name] = model;
        }

        File.WriteAllText(CatalogPath, JsonSerializer.Serialize(new
        {
            models = _models.Values.Select(m => new
            {
                family = Family, member = m.Name.Split('/')[1], task = "face_detection", fileName = m.FileName,
                url = "http://127.0.0.1:9/never-contacted/" + m.FileName, sha256 = m.Sha256, size = m.Size, license = "test",
            }).ToArray(),
        }));
    }

    private string MirrorDirectory => _temp.Combine("mirror");

    private string CatalogPath => _temp.Combine("catalog.json");

    private string CacheRoot => _temp.Combine("cache");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Soak_three_processes_saving_clearing_verifying_listing_and_flipping_bits_on_one_cache_keep_the_invariants()
    {
        var clock = Stopwatch.StartNew();
        var go = _temp.Combine("go");
        var children = Enumerable.Range(0, Processes).Select(i => PwshProcess.StartCommand(ChildScript(i, go), ChildEnvironment(), _temp.Path)).ToList();
        List<PwshResult> results;
        try
        {
            await Task.WhenAll(children.Select(c => c.WaitForOutputAsync(line => line == "READY", StartTimeout)));
            File.WriteAllText(go, string.Empty);
            results = (await Task.WhenAll(children.Select(c => c.WaitForExitAsync(ExitTimeout)))).ToList();
        }
        finally
        {
            foreach (var child in children)
            {
                child.Dispose();
            }
        }

        var soakTime = clock.Elapsed;
        var operations = results.SelectMany((r, i) => r.OutputLines.Where(l => l.StartsWith("OP|", StringComparison.Ordinal)).Select(l => Line.Parse(i, l))).ToList();
        Report(results, operations, soakTime);

        // 4. Each child stopped by itself, did real work, and printed a line for every operation it started.
        for (var i = 0; i < results.Count; i++)
        {
            var result = results[i];
            Assert.False(result.Killed, result.ToString());
            // Save-Model's warnings (a corrupt cached file downloaded again) are expected; anything else on stderr is not.
            Assert.True(result.ExitCode == 0 && result.ErrorLines.All(l => l.StartsWith("WARNING: ", StringComparison.Ordinal)), "Child " + i + " failed outside its operations:" + Environment.NewLine + result);
            var done = Assert.Single(result.OutputLines, l => l.StartsWith("DONE|", StringComparison.Ordinal));
            var count = int.Parse(done.Split('|')[1], CultureInfo.InvariantCulture);
            var seen = operations.Where(o => o.Process == i).Select(o => o.Number).Distinct().Count();
            Assert.True(count == seen, $"Child {i} ran {count} operations but reported {seen}.{Environment.NewLine}{result}");
            Assert.True(count >= MinOperations, $"Child {i} ran only {count} operations (at least {MinOperations} expected).{Environment.NewLine}{result}");
        }

        // 1. No raw exception and no internal error: every error has a ModelCache id and exception type.
        var badErrors = operations.Where(o => o.Outcome == "ERROR" && !IsModelCacheError(o)).ToList();
        Assert.True(badErrors.Count == 0, "Errors that are not ModelCache errors:" + Environment.NewLine + Transcript(badErrors, operations));

        // A harness step that did not complete (the flip raced a Clear-ModelCache) is not a product result, but it must be rare.
        Assert.DoesNotContain(operations, o => o.Outcome == "HARNESS" && !o.Fields[0].StartsWith("System.IO.", StringComparison.Ordinal));

        // 2. No wrong success during the soak: a save's result and a Valid check name the catalog hash,
        // and Test-ModelHash never called a file Valid while it still held the bytes just flipped.
        var wrong = operations.Where(o =>
                (o.Outcome == "OK" && o.Op == "save" && (o.Fields[1] != "True" || o.Fields[2] != _models[o.Model].Sha256)) ||
                (o.Outcome == "STATUS" && o.Fields[0] == "Valid" && (o.Fields[1] != _models[o.Model].Sha256 || o.Fields[2] != _models[o.Model].Sha256)) ||
                (o.Outcome == "STATUS" && o.Fields[0] != "Valid" && o.Fields[1] == _models[o.Model].Sha256 && o.Fields[0] != "Missing") ||
                o.Outcome == "WRONGVALID")
            .ToList();
        Assert.True(wrong.Count == 0, "Wrong results reported as success:" + Environment.NewLine + Transcript(wrong, operations));
        Assert.Contains(operations, o => o.Op == "flip" && o.Outcome == "OK");

        // 2 and 3 at rest: one model saved, then one byte of it flipped (same size, same time stamp) by the test.
        var save = await RunAsync($"Save-Model {Quote(Family + "/A")} -Mirror {Quote(MirrorDirectory)} -MirrorOnly | ForEach-Object {{ 'SAVED|' + $_.Sha256 }}");
        Assert.True(save.Succeeded, save.ToString());
        var flipped = _models[Family + "/A"];
        FlipOneByte(CachePath(flipped));
        Assert.NotEqual(flipped.Sha256, HashFile(CachePath(flipped)));

        var final = await RunAsync("""
            Get-ModelCache | ForEach-Object { 'ENTRY|{0}|{1}' -f $_.Name, $_.Path }
            Test-ModelHash -ErrorAction SilentlyContinue | ForEach-Object { 'HASH|{0}|{1}|{2}' -f $_.Name, $_.Status, $_.Path }
            Get-ModelCache | Test-ModelHash -ErrorAction SilentlyContinue | ForEach-Object { 'PIPED|{0}|{1}|{2}' -f $_.Name, $_.Status, $_.Path }
            """);
        Assert.True(final.ExitCode == 0 && final.ErrorLines.Count == 0, final.ToString());
        var entries = final.OutputLines.Where(l => l.StartsWith("ENTRY|", StringComparison.Ordinal)).Select(l => l.Split('|')).ToList();
        var checks = final.OutputLines.Where(l => l.StartsWith("HASH|", StringComparison.Ordinal) || l.StartsWith("PIPED|", StringComparison.Ordinal)).Select(l => l.Split('|')).ToList();
        _log.WriteLine("At rest: " + string.Join(", ", checks.Select(c => $"{c[0]} {c[1]} {c[2]}")));

        Assert.Contains(entries, e => e[1] == flipped.Name);
        Assert.All(entries, e => Assert.True(File.Exists(e[2]), "Get-ModelCache lists a file that does not exist: " + string.Join("|", e) + Environment.NewLine + final));
        Assert.Equal(entries.Count * 2, checks.Count);
        Assert.All(checks, c =>
        {
            var reallyValid = File.Exists(c[3]) && HashFile(c[3]) == _models[c[1]].Sha256;
            Assert.True(c[2] == (reallyValid ? "Valid" : File.Exists(c[3]) ? "Mismatch" : "Missing"), $"Test-ModelHash said {string.Join("|", c)}; the file really {(reallyValid ? "matches" : "does not match")} the catalog.");
        });
        Assert.Contains(checks, c => c[1] == flipped.Name && c[2] == "Mismatch");

        // 3. Nothing half-written is left once every process has exited.
        var leftovers = Directory.EnumerateFiles(CacheRoot, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".partial", StringComparison.Ordinal) || f.EndsWith(".partial.json", StringComparison.Ordinal) || f.EndsWith(".tmp", StringComparison.Ordinal) || f.Contains(".tmp", StringComparison.Ordinal))
            .ToList();
        Assert.True(leftovers.Count == 0, "Left in the cache after every process exited: " + string.Join(", ", leftovers));

        _log.WriteLine($"Whole test: {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>
    /// One child: imports the module, says READY, waits for the go file, then loops (bounded by time and count)
    /// over operations drawn from System.Random(Seed + index), printing OP|proc|n|op|model|outcome|fields...
    /// </summary>
    private string ChildScript(int index, string go) => $$"""
        Import-Module {{Quote(TestPaths.Manifest)}} -ErrorAction Stop
        $mirror = {{Quote(MirrorDirectory)}}
        $files = @{ {{string.Join("; ", _models.Values.Select(m => Quote(m.Name) + " = " + Quote(CachePath(m))))}} }
        $models = @({{string.Join(", ", _models.Values.Select(m => Quote(m.Name)))}})
        $rng = [System.Random]::new({{Seed + index}})
        'READY'
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not [System.IO.File]::Exists({{Quote(go)}})) { if ([DateTime]::UtcNow -gt $deadline) { throw 'no go signal' }; [System.Threading.Thread]::Sleep(5) }

        function Out-Op([string] $op, [string] $model, [string] $outcome, [string[]] $fields) {
            [Console]::Out.WriteLine((@('OP', {{index}}, $script:n, $op, $model, $outcome) + $fields) -join '|')
        }
        function Out-Error([string] $op, [string] $model, $record) {
            $inner = if ($record.Exception.InnerException) { $record.Exception.InnerException.GetType().FullName } else { '-' }
            $message = "$($record.Exception.Message)" -replace '[\r\n|]', ' '
            Out-Op $op $model 'ERROR' @($record.FullyQualifiedErrorId, $record.Exception.GetType().FullName, $inner, $message)
        }
        function Out-Check([string] $op, [string] $model, $results, $errors) {
            foreach ($r in @($results)) { Out-Op $op $r.Name 'STATUS' @("$($r.Status)", "$($r.Actual)", "$($r.Expected)", $r.Path) }
            foreach ($e in @($errors)) { Out-Error $op $model $e }
            Out-Op $op $model 'OK' @("checked=$(@($results).Count)")
        }
        function Get-Sha256([byte[]] $bytes) { [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData($bytes)).ToLowerInvariant() }

        $script:n = 0
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        while ($script:n -lt {{MaxOperations}} -and $clock.Elapsed.TotalSeconds -lt {{LoopSeconds}}) {
            $script:n++
            $model = $models[$rng.Next($models.Count)]
            $roll = $rng.Next(100)
            $offset = $rng.Next(1073741824)
            $mask = [byte](1 -shl $rng.Next(8))
            $force = $rng.Next(5) -eq 0
            $op = '?'
            try {
                $ErrorActionPreference = 'Stop'
                if ($roll -lt 25) {
                    $op = 'save'
                    foreach ($e in @(Save-Model $model -Mirror $mirror -MirrorOnly -Force:$force)) { Out-Op $op $e.Name 'OK' @("$($e.Source)", "$($e.LastCheck -eq 'Passed')", "$($e.Sha256)") }
                } elseif ($roll -lt 40) {
                    $op = 'clear'
                    $removed = @(Clear-ModelCache $model -Confirm:$false -PassThru)
                    Out-Op $op $model 'OK' @("removed=$($removed.Count)")
                } elseif ($roll -lt 60) {
                    $op = 'hashname'
                    $ev = $null
                    $results = @(Test-ModelHash $model -ErrorAction SilentlyContinue -ErrorVariable ev)
                    Out-Check $op $model $results $ev
                } elseif ($roll -lt 70) {
                    $op = 'hashpipe'
                    $ev = $null
                    $results = @(Get-ModelCache | Test-ModelHash -ErrorAction SilentlyContinue -ErrorVariable ev)
                    Out-Check $op '*' $results $ev
                } elseif ($roll -lt 88) {
                    $op = 'list'
                    $listed = @(Get-ModelCache)
                    Out-Op $op '*' 'OK' @("count=$($listed.Count)")
                } else {
                    # A same-size bit flip of the cached file, its time stamp kept; then Test-ModelHash must not call it Valid
                    # while it still holds the flipped bytes (another process may legitimately have saved it again meanwhile).
                    $op = 'flip'
                    $path = $files[$model]
                    if (-not [System.IO.File]::Exists($path)) { Out-Op $op $model 'SKIP' @('not cached'); continue }
                    $flippedHash = $null
                    try {
                        $stamp = [System.IO.File]::GetLastWriteTimeUtc($path)
                        $stream = [System.IO.FileStream]::new($path, 'Open', 'ReadWrite', 'ReadWrite')
                        try {
                            $bytes = [byte[]]::new($stream.Length)
                            $read = 0
                            while ($read -lt $bytes.Length) { $got = $stream.Read($bytes, $read, $bytes.Length - $read); if ($got -le 0) { break }; $read += $got }
                            $at = $offset % [Math]::Max(1, $read)
                            $bytes[$at] = $bytes[$at] -bxor $mask
                            $stream.Position = $at
                            $stream.WriteByte($bytes[$at])
                            $stream.Flush()
                        } finally { $stream.Dispose() }
                        [System.IO.File]::SetLastWriteTimeUtc($path, $stamp)
                        $flippedHash = Get-Sha256 $bytes
                    } catch {
                        # The file vanished under the harness (a Clear-ModelCache): not a product result.
                        $x = $_.Exception.GetBaseException()
                        Out-Op $op $model 'HARNESS' @($x.GetType().FullName, ("$($x.Message)" -replace '[\r\n|]', ' '))
                        continue
                    }
                    Out-Op $op $model 'OK' @("at=$at", $flippedHash)
                    $op = 'flipcheck'
                    $ev = $null
                    $results = @(Test-ModelHash $model -ErrorAction SilentlyContinue -ErrorVariable ev)
                    Out-Check $op $model $results $ev
                    if (@($results | Where-Object Status -eq 'Valid').Count -gt 0) {
                        $now = try { Get-Sha256 ([System.IO.File]::ReadAllBytes($path)) } catch { 'gone' }
                        if ($now -eq $flippedHash) { Out-Op $op $model 'WRONGVALID' @("Valid while the file still holds the flipped bytes $flippedHash") }
                        else { Out-Op $op $model 'REPAIRED' @($now) }
                    }
                }
            } catch {
                Out-Error $op $model $_
            } finally {
                $ErrorActionPreference = 'Continue'
            }
        }
        'DONE|' + $script:n
        """;

    private bool IsModelCacheError(Line line)
    {
        var id = line.Fields[0].Split(',')[0];
        return KnownErrorIds.Contains(id) && !RawExceptionTypes.Contains(line.Fields[1], StringComparer.Ordinal);
    }

    private async Task<PwshResult> RunAsync(string command)
    {
        using var child = PwshProcess.StartCommand($"Import-Module {Quote(TestPaths.Manifest)} -ErrorAction Stop{Environment.NewLine}{command}", ChildEnvironment(), _temp.Path);
        return await child.WaitForExitAsync(CommandTimeout);
    }

    private void Report(IReadOnlyList<PwshResult> results, IReadOnlyList<Line> operations, TimeSpan soakTime)
    {
        var warnings = results.Sum(r => r.ErrorLines.Count(l => l.StartsWith("WARNING: ", StringComparison.Ordinal)));
        _log.WriteLine($"Soak: {Processes} processes, {soakTime.TotalSeconds:0.0} s from start to last exit, seed {Seed}+i.");
        for (var i = 0; i < results.Count; i++)
        {
            var mine = operations.Where(o => o.Process == i).ToList();
            _log.WriteLine($"  process {i}: {mine.Select(o => o.Number).Distinct().Count()} operations, exit {results[i].ExitCode}");
        }

        foreach (var group in operations.GroupBy(o => o.Op).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var outcomes = group.GroupBy(o => o.Outcome switch
            {
                "ERROR" => "ERROR " + o.Fields[0].Split(',')[0],
                "STATUS" => o.Fields[0],
                "OK" when o.Op == "save" => "OK from " + o.Fields[0],
                "HARNESS" => "HARNESS " + o.Fields[0],
                _ => o.Outcome,
            }).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}");
            _log.WriteLine($"  {group.Key,-10} {string.Join(", ", outcomes)}");
        }

        foreach (var error in operations.Where(o => o.Outcome == "ERROR").GroupBy(o => $"{o.Op} {o.Fields[0].Split(',')[0]} {o.Fields[1]} (inner {o.Fields[2]})"))
        {
            _log.WriteLine($"  error: {error.Key} x{error.Count()}, e.g. {error.First().Fields[3]}");
        }

        _log.WriteLine($"  warnings on stderr: {warnings}");
    }

    /// <summary>The offending lines, each with the lines of every process around it.</summary>
    private static string Transcript(IEnumerable<Line> offending, IReadOnlyList<Line> all)
    {
        var text = new StringBuilder();
        foreach (var line in offending.Take(10))
        {
            text.AppendLine(">>> " + line.Raw);
            foreach (var context in all.Where(o => o.Process == line.Process && Math.Abs(o.Number - line.Number) <= 3))
            {
                text.AppendLine("      " + context.Raw);
            }
        }

        return text.ToString();
    }

    private string CachePath(Model model) => Path.Combine(CacheRoot, "models", Family, model.Name.Split('/')[1], model.FileName);

    /// <summary>XORs one byte in the middle of the file, keeping its size and time stamp.</summary>
    private static void FlipOneByte(string path)
    {
        var stamp = File.GetLastWriteTimeUtc(path);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = stream.Length / 2;
            var value = stream.ReadByte();
            stream.Position = stream.Length / 2;
            stream.WriteByte((byte)(value ^ 0x10));
        }

        File.SetLastWriteTimeUtc(path, stamp);
    }

    private static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static string Quote(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    private Dictionary<string, string?> ChildEnvironment() => new()
    {
        ["MODELCACHE_HOME"] = CacheRoot,
        ["MODELCACHE_CATALOG"] = CatalogPath,
        ["XDG_CONFIG_HOME"] = _temp.Combine("config"),
        ["XDG_CACHE_HOME"] = _temp.Combine("xdg-cache"),
    };

    private sealed record Model(string Name, string FileName, string Sha256, int Size);

    /// <summary>OP|process|n|op|model|outcome|fields...</summary>
    private sealed record Line(int Process, int Number, string Op, string Model, string Outcome, string[] Fields, string Raw)
    {
        public static Line Parse(int process, string raw)
        {
            var parts = raw.Split('|');
            Assert.True(parts.Length >= 6, "Unparseable line: " + raw);
            var fields = parts.Skip(6).ToArray();
            if (parts[5] is "ERROR" or "STATUS" or "HARNESS" or "OK")
            {
                Assert.True(fields.Length >= (parts[5] switch { "ERROR" => 4, "STATUS" => 4, "HARNESS" => 2, _ => 1 }), "Short line: " + raw);
            }

            return new Line(process, int.Parse(parts[2], CultureInfo.InvariantCulture), parts[3], parts[4], parts[5], fields, $"[p{process}] {raw}");
        }
    }
}
