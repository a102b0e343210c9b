using System;
using System.Diagnostics;
using System.IO;
using System.Linq;

namespace ModelCache.Testing;

/// <summary>External tools (curl, sha256sum, openssl) for the benchmarks' baselines, timed from process start to exit, output discarded.</summary>
public static class ExternalTool
{
    /// <summary>The tool's full path from PATH, or null when it is not installed.</summary>
    public static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>Runs the tool to completion (at most 10 minutes) and returns how long it took; throws when it fails.</summary>
    public static TimeSpan Run(string tool, params string[] arguments)
    {
        var info = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("Cannot start " + tool);
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} {string.Join(" ", arguments)} took more than 10 minutes.");
        }

        var elapsed = watch.Elapsed;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(" ", arguments)} failed ({process.ExitCode}): {error.Result}");
        }

        return elapsed;
    }
}
