using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Integrity;
using ModelCache.Locations;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;

namespace ModelCache.Core.Tests;

/// <summary>
/// A real process running a whole-root move (tests/ModelCache.MoveProbe) is killed with SIGKILL right after a step;
/// every model must then be verified in at least one of the roots, and the same move run again must finish.
/// </summary>
public sealed class MoveKillTests : IDisposable
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);
    private static readonly string[] Names = { "UltraFace/RFB_320", "UltraFace/SLIM_320", "YOLOv8Face/YOLOV8_LITE_T" };
    private readonly TempDirectory _temp = new("modelcache-move-kill");
    private readonly ModelCatalog _catalog = new(ModelCatalog.ReadBuiltIn());

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("copied UltraFace/RFB_320")]
    [InlineData("copied YOLOv8Face/YOLOV8_LITE_T")]
    [InlineData("switched")]
    [InlineData("deleted UltraFace/RFB_320")]
    [InlineData("deleted YOLOv8Face/YOLOV8_LITE_T")]
    public async Task Killed_right_after_a_step_the_move_loses_nothing_and_running_it_again_finishes_it(string killAfter)
    {
        var source = new CacheStore(_temp.Combine("old"));
        var destination = new CacheStore(_temp.Combine("new"));
        var settings = new SettingsStore(_temp.Combine("config", "settings.json"));
        settings.WriteCacheRoot(source.Root);
        using (var planner = new SourcePlanner(new[] { TestPaths.FixtureModels }, mirrorOnly: true, offline: true))
        {
            foreach (var name in Names)
            {
                await new ModelSaver(source, planner).SaveAsync(_catalog.Resolve(name), false, null, null, default);
            }
        }

        var seen = await RunProbeAsync(settings, destination, killAfter);
        Assert.Equal(killAfter, seen.Last());
        foreach (var name in Names)
        {
            var model = _catalog.Resolve(name);
            var valid = await IsValid(source, model) || await IsValid(destination, model);
            Assert.True(valid, $"{name} must be verified in at least one root after a kill after '{killAfter}'");
            foreach (var store in new[] { source, destination })
            {
                // Nothing under a final name that is not complete and verified.
                Assert.True(!File.Exists(store.GetModelPath(model)) || await IsValid(store, model), $"{store.GetModelPath(model)} is under its final name but does not verify");
            }
        }

        var rerun = await RunProbeAsync(settings, destination, killAfter: null);

        Assert.StartsWith("done ", rerun.Last(), StringComparison.Ordinal);
        foreach (var name in Names)
        {
            Assert.True(await IsValid(destination, _catalog.Resolve(name)), name);
        }

        Assert.False(Directory.Exists(source.Root), "the old root is gone once the move finished");
        Assert.Equal(destination.Root, settings.ReadCacheRoot());
        Assert.False(File.Exists(new MoveJournal(settings.UserDirectory).JournalFile));
    }

    private static async Task<bool> IsValid(CacheStore store, ModelDefinition model) =>
        (await HashVerifier.VerifyAsync(model.Name, store.GetModelPath(model), model.Sha256)).IsValid;

    /// <summary>Runs the probe, answering each step until <paramref name="killAfter"/> is printed, then kills it; null runs it to the end.</summary>
    private static async Task<string[]> RunProbeAsync(SettingsStore settings, CacheStore destination, string? killAfter)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "ModelCache.MoveProbe.dll"), settings.SettingsFile, destination.Root })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var lines = new System.Collections.Generic.List<string>();
        try
        {
            if (killAfter is null)
            {
                process.StandardInput.Close(); // End of input: the probe goes on after every step.
            }

            while (await process.StandardOutput.ReadLineAsync().WaitAsync(StepTimeout) is { } line)
            {
                lines.Add(line);
                if (line == killAfter)
                {
                    process.Kill(); // SIGKILL on Unix: no finally block, no flush, no cleanup in the probe.
                    await process.WaitForExitAsync().WaitAsync(StepTimeout);
                    return lines.ToArray();
                }

                if (killAfter is not null)
                {
                    await process.StandardInput.WriteLineAsync();
                    await process.StandardInput.FlushAsync();
                }
            }

            await process.WaitForExitAsync().WaitAsync(StepTimeout);
            Assert.True(killAfter is null, $"the probe ended before '{killAfter}': {string.Join(" | ", lines)} {await stderr}");
            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {string.Join(" | ", lines)} {await stderr}");
            return lines.ToArray();
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
