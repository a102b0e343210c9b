using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using ModelCache.Testing;

namespace ModelCache.FirstCallBench;

/// <summary>
/// First-call latency of Invoke-FaceDetect in a fresh pwsh process with a big cached model: "before",
/// no fingerprint (fingerprints.json deleted, so the file is hashed, as every fresh process did before
/// VerifiedModelOpener), vs "after", this user's fingerprint recorded by an earlier process (no hash);
/// sha256sum of the same file for reference. Each run is a real <c>dotnet pwsh.dll</c> process
/// (<see cref="PwshProcess"/>) that imports ModelCache.psd1 and detects faces in one photo.
/// </summary>
internal static class Program
{
    private const string Family = "BenchFirstCall";
    private const string Member = "PADDED";
    private const string ModelName = Family + "/" + Member;
    private const string FileName = "benchfirstcall_padded.onnx";
    private static readonly TimeSpan ChildTimeout = TimeSpan.FromMinutes(5);

    public static int Main(string[] args)
    {
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(BenchOptions.Usage);
            return 2;
        }

        if (options.Help)
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
            Console.Error.WriteLine("Stopping after the current process; temp files are removed on the way out.");
        };

        try
        {
            Run(options, cancel.Token);
            return 0;
        }
        catch (Exception ex) when (ex is OperationCanceledException || cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine("Cancelled.");
            return 130;
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException or UnauthorizedAccessException)
        {
            // Caught here so the temp directory has been removed on the way out.
            Console.Error.WriteLine(ex);
            return 1;
        }
    }

    private static void Run(BenchOptions options, CancellationToken cancellationToken)
    {
        var baseModel = Path.Combine(TestPaths.FixtureModels, options.BaseModel);
        var image = Path.GetFullPath(options.Image ?? Path.Combine(TestPaths.FixtureImages, "portrait.jpg"));
        var sha256sum = ExternalTool.Find("sha256sum");
        Console.WriteLine($"ModelCache first-call benchmark — {DateTime.Now:yyyy-MM-dd HH:mm}, {Environment.ProcessorCount} CPUs, {RuntimeInfo()}");
        Console.WriteLine($"pwsh {PwshProcess.PwshAssemblyPath}");
        Console.WriteLine($"model {options.BaseModel} + one unused {options.PadMiB} MiB initializer; photo {Path.GetFileName(image)}; median of {options.Repeat} runs");
        Console.WriteLine();

        using var work = options.WorkDirectory is null ? new TempDirectory("modelcache-firstcall") : new TempDirectory(Path.Combine(options.WorkDirectory, "modelcache-firstcall"));
        var served = Directory.CreateDirectory(work.Combine("served")).FullName;
        var clock = Stopwatch.StartNew();
        var (sha, size) = PaddedModel.Write(baseModel, Path.Combine(served, FileName), (long)options.PadMiB << 20, seed: 20261201);
        var catalog = work.Combine("catalog.json");
        File.WriteAllText(catalog, JsonSerializer.Serialize(new
        {
            models = new[]
            {
                new
                {
                    family = Family, member = Member, task = "face_detection", fileName = FileName,
                    url = "http://127.0.0.1:9/never-contacted/" + FileName, sha256 = sha, size, license = "bench",
                },
            },
        }));
        Console.WriteLine($"Generated {FileName} ({size:N0} bytes, sha256 {sha}) in {clock.Elapsed.TotalSeconds:0.0} s under {work.Path}");

        var config = work.Combine("config");
        var environment = new Dictionary<string, string?>
        {
            ["MODELCACHE_HOME"] = work.Combine("cache"),
            ["MODELCACHE_CATALOG"] = catalog,
            ["XDG_CONFIG_HOME"] = config,
            ["XDG_CACHE_HOME"] = work.Combine("xdg-cache"),
        };
        var fingerprints = Path.Combine(config, "modelcache", "fingerprints.json");

        // Into the cache from the local folder (a mirror of plain files); nothing else is contacted.
        var save = RunChild($"Import-Module {Quote(TestPaths.Manifest)} -ErrorAction Stop; Save-Model {Quote(ModelName)} -Mirror {Quote(served)} -MirrorOnly -CatalogPath {Quote(catalog)} | ForEach-Object {{ 'SAVED|' + $_.LastCheck + '|' + $_.Path }}", environment, work.Path);
        if (!save.Succeeded || save.OutputLines.FirstOrDefault(l => l.StartsWith("SAVED|Passed|", StringComparison.Ordinal)) is not { } saved)
        {
            throw new InvalidOperationException("Save-Model did not save and verify the padded model:" + Environment.NewLine + save);
        }

        var cached = saved.Split('|', 3)[2];
        Console.WriteLine($"Saved into {cached}");

        // Warm-up: pwsh, the module and ONNX Runtime from disk into the page cache; checks that ORT
        // loads the padded model and finds the expected faces. Not measured.
        DeleteIfPresent(fingerprints);
        var warm = FirstCall(environment, work.Path, image, options.Faces);
        Console.WriteLine($"Warm-up: {warm.Faces} face(s); {warm.Verified}");
        Console.WriteLine();

        var before = new List<FirstCallResult>();
        var after = new List<FirstCallResult>();
        var hashes = new List<TimeSpan>();
        for (var i = 0; i < options.Repeat; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();

            // before: no fingerprint, so this fresh process hashes the file (and records the fingerprint).
            DeleteIfPresent(fingerprints);
            before.Add(FirstCall(environment, work.Path, image, options.Faces));

            // after: the previous process recorded the fingerprint.
            cancellationToken.ThrowIfCancellationRequested();
            if (!File.Exists(fingerprints))
            {
                Console.WriteLine($"  note: no {fingerprints} after a hashing run; the 'after' run will hash too.");
            }

            after.Add(FirstCall(environment, work.Path, image, options.Faces));
            if (sha256sum is not null)
            {
                hashes.Add(ExternalTool.Run(sha256sum, cached));
            }

            Console.WriteLine($"  run {i + 1}: before {before[^1].Wall.TotalSeconds:0.000} s (call {before[^1].Call.TotalSeconds:0.000} s), after {after[^1].Wall.TotalSeconds:0.000} s (call {after[^1].Call.TotalSeconds:0.000} s)" +
                (hashes.Count > 0 ? $", sha256sum {hashes[^1].TotalSeconds:0.000} s" : string.Empty));
        }

        var mib = size / (1024.0 * 1024.0);
        Console.WriteLine();
        Console.WriteLine($"Fresh pwsh process, first Invoke-FaceDetect on a {mib:0} MiB model (medians of {options.Repeat}):");
        Console.WriteLine($"  {"mode",-44} {"start → end of call",20} {"the call alone",16} {"process exit",14}");
        Row("before: no fingerprint (hashes the file)", before);
        Row("after: fingerprint from an earlier process", after);
        if (hashes.Count > 0)
        {
            Console.WriteLine($"  {"sha256sum of the file (process time)",-44} {Median(hashes).TotalSeconds,18:0.000} s");
        }
        else
        {
            Console.WriteLine("  sha256sum not on PATH: reference skipped.");
        }

        Console.WriteLine();
        Console.WriteLine($"  before/after, start → end of first call  {Ratio(before.Select(r => r.Wall), after.Select(r => r.Wall)),6:0.00}x");
        Console.WriteLine($"  before/after, the call alone             {Ratio(before.Select(r => r.Call), after.Select(r => r.Call)),6:0.00}x");
        Console.WriteLine($"  saved per first call                     {(Median(before.Select(r => r.Wall)) - Median(after.Select(r => r.Wall))).TotalSeconds,6:0.000} s");
        Console.WriteLine();
        Console.WriteLine("What the children said (-Verbose), runs per line:");
        foreach (var (label, runs) in new[] { ("before", before), ("after", after) })
        {
            foreach (var group in runs.GroupBy(r => r.Verified))
            {
                Console.WriteLine($"  {label,-7} {group.Count()}× {group.Key}");
            }
        }

        var unexpected = before.Any(r => !r.Verified.StartsWith("Verified by Hash;", StringComparison.Ordinal)) ||
            after.Any(r => !r.Verified.StartsWith("Verified by UserFingerprint;", StringComparison.Ordinal));
        if (unexpected)
        {
            Console.WriteLine("  NOTE: some runs were not verified the way their mode intends (before: Hash, after: UserFingerprint); their numbers do not compare the two paths.");
        }
    }

    /// <summary>
    /// One fresh pwsh: imports the module and runs Invoke-FaceDetect once with -Verbose. Wall time is from
    /// just before the process is started to the end of the call (the child's clock read right after the
    /// call; both read the same system clock); the call alone is timed by a Stopwatch inside the child.
    /// </summary>
    private static FirstCallResult FirstCall(IReadOnlyDictionary<string, string?> environment, string workingDirectory, string image, int expectedFaces)
    {
        var command = $$"""
            Import-Module {{Quote(TestPaths.Manifest)}} -ErrorAction Stop
            $watch = [System.Diagnostics.Stopwatch]::StartNew()
            $out = @(Invoke-FaceDetect -LiteralPath {{Quote(image)}} -Model {{Quote(ModelName)}} -Offline -Verbose -ErrorAction Stop 4>&1)
            $watch.Stop()
            $end = [DateTime]::UtcNow.Ticks
            'END|' + $end
            'CALL|' + $watch.Elapsed.Ticks
            'FACES|' + @($out | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }).Count
            $out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object { 'VERBOSE|' + $_.Message }
            """;
        var started = DateTime.UtcNow;
        var exitWatch = Stopwatch.StartNew();
        var result = RunChild(command, environment, workingDirectory);
        var exited = exitWatch.Elapsed;
        string Value(string key) => result.OutputLines.FirstOrDefault(l => l.StartsWith(key + "|", StringComparison.Ordinal))?.Substring(key.Length + 1)
            ?? throw new InvalidOperationException($"The child printed no {key} line:{Environment.NewLine}{result}");
        if (!result.Succeeded)
        {
            throw new InvalidOperationException("Invoke-FaceDetect failed in the child:" + Environment.NewLine + result);
        }

        var faces = int.Parse(Value("FACES"), CultureInfo.InvariantCulture);
        if (faces != expectedFaces)
        {
            throw new InvalidOperationException($"Expected {expectedFaces} face(s), the child found {faces}:{Environment.NewLine}{result}");
        }

        var verified = result.OutputLines.Where(l => l.StartsWith("VERBOSE|Verified by ", StringComparison.Ordinal)).Select(l => l.Substring("VERBOSE|".Length)).FirstOrDefault() ?? "(no 'Verified by' line)";
        var wall = new DateTime(long.Parse(Value("END"), CultureInfo.InvariantCulture), DateTimeKind.Utc) - started;
        return new FirstCallResult(wall, TimeSpan.FromTicks(long.Parse(Value("CALL"), CultureInfo.InvariantCulture)), exited, faces, verified);
    }

    private static void DeleteIfPresent(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    private static PwshResult RunChild(string command, IReadOnlyDictionary<string, string?> environment, string workingDirectory)
    {
        using var child = PwshProcess.StartCommand(command, environment, workingDirectory);
        return child.WaitForExit(ChildTimeout);
    }

    private static void Row(string label, IReadOnlyList<FirstCallResult> runs) =>
        Console.WriteLine($"  {label,-44} {Median(runs.Select(r => r.Wall)).TotalSeconds,18:0.000} s {Median(runs.Select(r => r.Call)).TotalSeconds,14:0.000} s {Median(runs.Select(r => r.Exited)).TotalSeconds,12:0.000} s");

    private static double Ratio(IEnumerable<TimeSpan> baseline, IEnumerable<TimeSpan> ours) => Median(baseline).TotalSeconds / Median(ours).TotalSeconds;

    private static TimeSpan Median(IEnumerable<TimeSpan> times)
    {
        var sorted = times.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Quote(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string RuntimeInfo() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription + " on " + System.Runtime.InteropServices.RuntimeInformation.OSDescription;

    private sealed record FirstCallResult(TimeSpan Wall, TimeSpan Call, TimeSpan Exited, int Faces, string Verified);
}

/// <summary>Command-line options.</summary>
internal sealed class BenchOptions
{
    public const string Usage = """
        usage: dotnet run -c Release --project bench/ModelCache.FirstCallBench -- [options]
          --pad-mb N        size of the unused initializer added to the model (default 128)
          --base-model F    fixture detector to pad, in ../shared/fixtures/models (default yolov8-lite-t-face.onnx)
          --image F         photo to detect faces in (default ../shared/fixtures/images/portrait.jpg)
          --faces N         faces the photo must give (default 1)
          --repeat N        runs per mode; the median is reported (default 5)
          --work-dir DIR    where the temp directory goes (default: the system temp dir)
        """;

    public int PadMiB { get; private set; } = 128;

    public string BaseModel { get; private set; } = "yolov8-lite-t-face.onnx";

    public string? Image { get; private set; }

    public int Faces { get; private set; } = 1;

    public int Repeat { get; private set; } = 5;

    public string? WorkDirectory { get; private set; }

    public bool Help { get; private set; }

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        var reader = new CommandLineReader(args);
        while (reader.Next(out var option))
        {
            switch (option)
            {
                case "--pad-mb": options.PadMiB = reader.PositiveNumber(); break;
                case "--base-model": options.BaseModel = reader.Value(); break;
                case "--image": options.Image = reader.Value(); break;
                case "--faces": options.Faces = reader.PositiveNumber(); break;
                case "--repeat": options.Repeat = reader.PositiveNumber(); break;
                case "--work-dir": options.WorkDirectory = Path.GetFullPath(reader.Value()); break;
                case "-h" or "--help": options.Help = true; break;
                default: throw reader.Unknown();
            }
        }

        return options;
    }
}
