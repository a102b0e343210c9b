using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using ModelCache.Testing;
using Xunit.Abstractions;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// Issue 19's "one job, many copies" check, counted with strace in a real pwsh: in one process,
/// <c>Save-Model X | Test-ModelHash</c> followed by <c>Invoke-FaceDetect -Model X</c> hashes the cached
/// model at most twice (Save-Model's check of the file already there, and Test-ModelHash's), because
/// every full hash records a fingerprint that vouches for the detection's use; the detection says it
/// hashed 0 bytes; and Save-Model does not write entry.json twice.
/// </summary>
public sealed class HashOnceTests : IDisposable
{
    private const string Model = "SCRFD/SCRFD_500M_KPS_CV";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private static readonly Regex TraceLine = new(@"^(?<tid>\d+)\s+(?<rest>.*)$", RegexOptions.CultureInvariant);
    // read(fd<path>, buf, count) and pread64(fd<path>, buf, count, offset), whole or split by strace into <unfinished ...> and resumed halves.
    private static readonly Regex ReadCall = new(@"^(?<call>read|pread64)\(\d+<(?<path>[^>]*)>, [^,]*, (?<count>\d+)(?:, \d+)?\)\s+=\s+(?<n>-?\d+)", RegexOptions.CultureInvariant);
    private static readonly Regex UnfinishedRead = new(@"^(?<call>read|pread64)\(\d+<(?<path>[^>]*)>,(?: [^,]*, (?<count>\d+))?.*<unfinished \.\.\.>$", RegexOptions.CultureInvariant);
    private static readonly Regex ResumedRead = new(@"^<\.\.\. (?:read|pread64) resumed>(?:[^,]*, )?(?<count>\d+)?.*\)\s+=\s+(?<n>-?\d+)", RegexOptions.CultureInvariant);
    private static readonly Regex OpenForWrite = new(@"^openat\(AT_FDCWD<[^>]*>, ""(?<path>[^""]*)"", (?<flags>[A-Z_|]+)", RegexOptions.CultureInvariant);
    private readonly ITestOutputHelper _log;
    private readonly TempDirectory _temp = new("modelcache-hashonce");

    public HashOnceTests(ITestOutputHelper log)
    {
        _log = log;
    }

    public void Dispose() => _temp.Dispose();

    private string Root => _temp.Combine("cache");

    [SkippableFact]
    public async Task Save_then_TestModelHash_then_detect_hashes_the_model_twice_and_the_detection_nothing()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/usr/bin/strace"), "reads are counted with strace(1), on Linux");

        // The model is cached first (another process), so Save-Model below checks the file that is there.
        using (var first = PwshProcess.StartCommand($"Import-Module {Quote(TestPaths.Manifest)} -ErrorAction Stop; Save-Model {Model} | Out-Null; 'SAVED'", Environment()))
        {
            var saved = await first.WaitForExitAsync(Timeout);
            Assert.True(saved.Succeeded, saved.ToString());
        }

        var modelPath = Directory.GetFiles(Root, "scrfd_500m_kps.onnx", SearchOption.AllDirectories).Single();
        var size = new FileInfo(modelPath).Length;
        var trace = _temp.Combine("trace.txt");

        // Opening this file marks where the detection starts in the trace.
        var marker = _temp.Combine("detection-starts");
        File.WriteAllText(marker, "marker");
        var launcher = new[] { "/usr/bin/strace", "-f", "-y", "-qq", "-s", "0", "-e", "trace=openat,read,pread64", "-o", trace, "--" };
        using var child = PwshProcess.StartCommandUnder(launcher, $$"""
            Import-Module {{Quote(TestPaths.Manifest)}} -ErrorAction Stop
            Save-Model {{Model}} | Test-ModelHash | ForEach-Object { 'HASH ' + $_.Status }
            $null = [System.IO.File]::ReadAllText({{Quote(marker)}})
            Invoke-FaceDetect -LiteralPath {{Quote(Path.Combine(TestPaths.FixtureImages, "portrait.jpg"))}} -Model {{Model}} -Verbose 4>&1 |
                Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object { 'VERBOSE ' + $_.Message }
            """, Environment());
        var result = await child.WaitForExitAsync(Timeout);
        Skip.If(!result.Succeeded && result.ErrorLines.Any(l => l.StartsWith("strace:", StringComparison.Ordinal) && l.Contains("ptrace", StringComparison.OrdinalIgnoreCase)),
            "strace may not trace here (no ptrace in this container): " + string.Join(" ", result.ErrorLines.Where(l => l.StartsWith("strace:", StringComparison.Ordinal))));
        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("HASH Valid", result.OutputLines);

        // The detection's own account: the use was vouched for by the fingerprints the save and the test recorded.
        var verified = result.OutputLines.Single(l => l.StartsWith("VERBOSE Verified by", StringComparison.Ordinal));
        Assert.EndsWith("; 0 bytes hashed.", verified, StringComparison.Ordinal);

        var lines = File.ReadAllLines(trace);
        var split = Array.FindIndex(lines, l => l.Contains("\"" + marker + "\"", StringComparison.Ordinal));
        Assert.True(split > 0, "The marker's open is not in the trace.");
        var (saveAndTest, detection) = (lines.Take(split).ToList(), lines.Skip(split).ToList());
        var hashed = HashReads(saveAndTest, modelPath) + HashReads(detection, modelPath);
        _log.WriteLine($"{modelPath} ({size} bytes): hashed {(double)hashed / size:0.##} times in full, read {(double)BytesRead(lines, modelPath, _ => true) / size:0.##} times in all (ONNX Runtime's load and the admission check included)");

        Assert.True(hashed <= 2 * size, $"{modelPath} was hashed {(double)hashed / size:0.##} times in full; at most twice (Save-Model's check and Test-ModelHash's) was expected.");
        Assert.Equal(0, HashReads(detection, modelPath));

        // Each cmdlet writes the entry's metadata at most once: the save's check, the test's record, the use's LastUsed.
        Assert.True(EntryWrites(saveAndTest) <= 2, $"entry.json was written {EntryWrites(saveAndTest)} times by Save-Model | Test-ModelHash.");
        Assert.True(EntryWrites(detection) <= 1, $"entry.json was written {EntryWrites(detection)} times by Invoke-FaceDetect.");
    }

    /// <summary>
    /// Bytes the hash read: .NET reads files with pread64 and hashes through a 1 MiB buffer, while the admission check
    /// reads 64 KiB pieces and ONNX Runtime loads the file with read(2).
    /// </summary>
    private static long HashReads(IEnumerable<string> lines, string path) => BytesRead(lines, path, call => call.Syscall == "pread64" && call.Requested >= 1 << 20);

    private static int EntryWrites(IEnumerable<string> lines) => lines.Select(l => TraceLine.Match(l)).Where(m => m.Success)
        .Select(m => OpenForWrite.Match(m.Groups["rest"].Value))
        .Count(m => m.Success && m.Groups["flags"].Value.Contains("O_WRONLY", StringComparison.Ordinal)
            && Path.GetFileName(m.Groups["path"].Value).StartsWith("entry.json", StringComparison.Ordinal));

    /// <summary>Bytes returned by the read calls that <paramref name="counted"/> picks on file descriptors strace -y shows as <paramref name="path"/>.</summary>
    private static long BytesRead(IEnumerable<string> lines, string path, Func<(string Syscall, long Requested), bool> counted)
    {
        var pending = new Dictionary<string, (string Syscall, long Requested)>(StringComparer.Ordinal);
        long total = 0;
        foreach (var line in lines)
        {
            var m = TraceLine.Match(line);
            if (!m.Success)
            {
                continue;
            }

            var tid = m.Groups["tid"].Value;
            var rest = m.Groups["rest"].Value;
            if (ReadCall.Match(rest) is { Success: true } call)
            {
                var what = (call.Groups["call"].Value, long.Parse(call.Groups["count"].Value));
                total += call.Groups["path"].Value == path && counted(what) ? Math.Max(0, long.Parse(call.Groups["n"].Value)) : 0;
            }
            else if (UnfinishedRead.Match(rest) is { Success: true } started && started.Groups["path"].Value == path)
            {
                pending[tid] = (started.Groups["call"].Value, started.Groups["count"].Success ? long.Parse(started.Groups["count"].Value) : 0);
            }
            else if (ResumedRead.Match(rest) is { Success: true } resumed && pending.Remove(tid, out var what))
            {
                // The count argument may only show in the resumed half.
                var requested = what.Requested > 0 ? what.Requested : long.Parse(resumed.Groups["count"].Value);
                total += counted((what.Syscall, requested)) ? Math.Max(0, long.Parse(resumed.Groups["n"].Value)) : 0;
            }
        }

        return total;
    }

    private Dictionary<string, string?> Environment() => new()
    {
        ["MODELCACHE_HOME"] = Root,
        ["MODELCACHE_MIRROR"] = TestPaths.FixtureModels,
        ["MODELCACHE_MACHINE_CONFIG"] = _temp.Combine("machine.json"),
        ["XDG_CONFIG_HOME"] = _temp.Combine("config"),
        ["XDG_CACHE_HOME"] = _temp.Combine("xdg-cache"),
    };

    private static string Quote(string s) => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";
}
