using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;

namespace ModelCache.FaceLoopBench;

/// <summary>
/// Invoke-FaceDetect as a user runs it: a child `dotnet pwsh` (the repository's tool) imports ModelCache.psd1,
/// makes untimed warm-up passes (a fresh pwsh still compiles its own engine code at tier 1 in the background during
/// its first folder passes, 0.6–1 s of CPU per pass on 2 cores), then times inside pwsh: the best of the folder passes,
/// each on its own fresh copies; the median of the single-image calls, each on its own fresh copy, after one untimed
/// single-image call on another image (a call known to be one image runs on a session of its own, with every core);
/// and -Tile on the large photo, after one untimed -Tile call on another copy. The cache, settings and
/// mirror are a sandbox under the bench's temp folder (offline, the fixture models as the mirror), so the
/// user's profile is never read or written.
/// </summary>
internal sealed class CmdletRunner
{
    private const string Script = """
        param([string] $Module, [string] $Model, [string] $WarmDir, [int] $WarmPasses, [string] $TimedRoot, [string] $OneRoot, [string] $OneWarm, [string] $Big, [string] $BigWarm)
        $ErrorActionPreference = 'Stop'
        Import-Module $Module
        $warm = @(Get-ChildItem -LiteralPath $WarmDir -File | Sort-Object Name | ForEach-Object FullName)
        $passes = @(Get-ChildItem -LiteralPath $TimedRoot -Directory | Sort-Object Name | ForEach-Object { ,@(Get-ChildItem -LiteralPath $_.FullName -File | Sort-Object Name | ForEach-Object FullName) })
        foreach ($n in 1..$WarmPasses) { $null = Invoke-FaceDetect -LiteralPath $warm -Model $Model }
        $clock = [System.Diagnostics.Stopwatch]::new()
        $folder = [double]::MaxValue
        $count = 0
        foreach ($timed in $passes) {
            $clock.Restart()
            $results = @(Invoke-FaceDetect -LiteralPath $timed -Model $Model)
            $ms = $clock.Elapsed.TotalMilliseconds
            if ($ms -lt $folder) { $folder = $ms; $count = $results.Count }
        }
        $null = Invoke-FaceDetect -LiteralPath $OneWarm -Model $Model
        $calls = foreach ($one in @(Get-ChildItem -LiteralPath $OneRoot -File -Recurse | Sort-Object FullName | ForEach-Object FullName)) {
            $clock.Restart()
            $null = Invoke-FaceDetect -LiteralPath $one -Model $Model | Select-Object -First 1
            $clock.Elapsed.TotalMilliseconds
        }
        $sorted = @($calls | Sort-Object)
        $first = $sorted[[int][math]::Floor($sorted.Count / 2)]
        $null = Invoke-FaceDetect -LiteralPath $BigWarm -Model $Model -Tile
        $clock.Restart()
        $tiled = @(Invoke-FaceDetect -LiteralPath $Big -Model $Model -Tile)
        $tile = $clock.Elapsed.TotalMilliseconds
        [string]::Format([cultureinfo]::InvariantCulture, 'RESULT {0} {1} {2} {3} {4}', $folder, $count, $first, $tile, $tiled[0].FaceCount)
        """;

    private readonly string _repo;
    private readonly string _module;
    private readonly string _mirror;
    private readonly string _sandbox;
    private readonly string _scriptPath;

    public CmdletRunner(string repo, string module, string mirror, string work)
    {
        _repo = repo;
        _module = module;
        _mirror = mirror;
        _sandbox = Path.Combine(work, "sandbox");
        Directory.CreateDirectory(_sandbox);
        _scriptPath = Path.Combine(work, "invoke-facedetect.ps1");
        File.WriteAllText(_scriptPath, Script);
    }

    /// <summary>The best folder pass in ms (one per subfolder of <paramref name="timedRoot"/>), its result count, the median time to a single image's first result in ms (one call per file under <paramref name="oneRoot"/>), and -Tile on the large photo (ms, faces).</summary>
    public (double FolderMs, int Count, double FirstMs, double TileMs, int TileFaces) Run(string model, string warmDir, int warmPasses, string timedRoot, string oneRoot, string oneWarm, string big, string bigWarm)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = _repo,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-File", _scriptPath, "-Module", _module, "-Model", model, "-WarmDir", warmDir, "-WarmPasses", warmPasses.ToString(CultureInfo.InvariantCulture), "-TimedRoot", timedRoot, "-OneRoot", oneRoot, "-OneWarm", oneWarm, "-Big", big, "-BigWarm", bigWarm })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var name in new[] { "MODELCACHE_CATALOG", "MODELCACHE_TOKEN", "MODELCACHE_MIRROR_ONLY", "HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_ENDPOINT", "HF_TOKEN", "UNIFACE_CACHE_DIR" })
        {
            start.Environment.Remove(name);
        }

        start.Environment["MODELCACHE_HOME"] = Path.Combine(_sandbox, "cache");
        start.Environment["MODELCACHE_OFFLINE"] = "1";
        start.Environment["MODELCACHE_MIRROR"] = _mirror;
        start.Environment["MODELCACHE_MACHINE_CONFIG"] = Path.Combine(_sandbox, "machine", "config.json");
        start.Environment["XDG_CONFIG_HOME"] = Path.Combine(_sandbox, "config");
        start.Environment["XDG_CACHE_HOME"] = Path.Combine(_sandbox, "xdg-cache");
        start.Environment["HF_HUB_OFFLINE"] = "1";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet pwsh.");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(600_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"Invoke-FaceDetect with {model} did not finish in 10 minutes.");
        }

        var line = stdout.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        if (process.ExitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"dotnet pwsh exited with {process.ExitCode} for {model}:\n{stdout}\n{stderr.Result}");
        }

        var parts = line.Split(' ');
        return (double.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture), double.Parse(parts[3], CultureInfo.InvariantCulture),
            double.Parse(parts[4], CultureInfo.InvariantCulture), int.Parse(parts[5], CultureInfo.InvariantCulture));
    }
}
