using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelCache.Testing;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// A FIFO, socket or folder where a cache, mirror, partial, uniface or hub file should be: every cmdlet that meets one
/// reports NotARegularFile for that item, never opens it (an open of a FIFO blocks forever) and goes on with the rest.
/// Every run is bounded (<see cref="SpecialFiles.Bounded{T}"/>), so a regression fails instead of hanging.
/// </summary>
public sealed class NonRegularFileTests : IDisposable
{
    private const string Yolo = "YOLOv8Face/YOLOV8_LITE_T";
    private const string YoloFile = "yolov8-lite-t-face.onnx";
    private const string Slim = "UltraFace/SLIM_320";
    private const string NotRegular = "NotARegularFile,";
    private readonly PowerShellSession _ps = new();

    public NonRegularFileTests()
    {
        Environment.SetEnvironmentVariable("MODELCACHE_OFFLINE", "1");
        Environment.SetEnvironmentVariable("MODELCACHE_MIRROR", TestPaths.FixtureModels);
    }

    public void Dispose() => _ps.Dispose();

    private string YoloPath => Path.Combine(_ps.CacheRoot, "models", "YOLOv8Face", "YOLOV8_LITE_T", YoloFile);

    private string SlimFolder => Path.Combine(_ps.CacheRoot, "models", "UltraFace", "SLIM_320");

    private PowerShellResult Run(string script) => SpecialFiles.Bounded(_ps.Temp.Path, () => _ps.Run(script));

    private void SaveBoth() => Run($"$null = Save-Model {Yolo}, {Slim}").ThrowIfErrors();

    private static List<string> Names(PowerShellResult result) => result.Output.Select(o => o.Properties["Name"].Value?.ToString() ?? string.Empty).ToList();

    private static void AssertNotRegular(PowerShellResult result, string path)
    {
        var error = Assert.Single(result.Errors, e => e.FullyQualifiedErrorId.StartsWith(NotRegular, StringComparison.Ordinal));
        Assert.Equal("InvalidData", error.CategoryInfo.Category.ToString());
        Assert.True(error.Exception.Message.Contains(path) || Equals(error.TargetObject, path), $"{error.Exception.Message} (target {error.TargetObject}) names '{path}'");
        Assert.Contains("not a regular file", error.Exception.Message);
        Assert.False(string.IsNullOrEmpty(error.ErrorDetails?.RecommendedAction));
        Assert.Null(result.Terminating);
    }

    [Theory]
    [InlineData("fifo")]
    [InlineData("socket")]
    public void Get_ModelCache_lists_summarises_and_verifies_the_rest_when_a_model_file_is_not_a_regular_file(string kind)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        SaveBoth();
        using var socket = Plant(kind, YoloPath);

        var listed = Run("Get-ModelCache");
        Assert.Equal(new[] { Slim }, Names(listed));
        AssertNotRegular(listed, YoloPath);

        var verified = Run("Get-ModelCache -Verify");
        Assert.Equal(new[] { Slim }, Names(verified));
        AssertNotRegular(verified, YoloPath);

        var summary = Run("Get-ModelCache -Summary");
        Assert.Single(summary.Output);
        AssertNotRegular(summary, YoloPath);

        var hashed = Run("Test-ModelHash");
        Assert.Equal(new[] { Slim }, Names(hashed));
        AssertNotRegular(hashed, YoloPath);

        var byName = Run($"Test-ModelHash {Yolo}");
        Assert.Empty(byName.Output);
        AssertNotRegular(byName, YoloPath);

        var byPath = Run($"Test-ModelHash -LiteralPath '{YoloPath}'");
        Assert.Empty(byPath.Output);
        AssertNotRegular(byPath, YoloPath);

        var optimized = Run("Optimize-ModelCache -Confirm:$false");
        AssertNotRegular(optimized, YoloPath);

        var exported = Run($"Export-ModelCache -Path '{_ps.Temp.Combine("out.zip")}'");
        Assert.Equal(new[] { Slim }, exported.Property<string[]>(0, "Models"));
        AssertNotRegular(exported, YoloPath);

        var moved = Run($"Move-ModelCache -Destination '{_ps.Temp.Combine("moved")}' -Confirm:$false");
        Assert.Contains(Slim, Names(moved));
        Assert.Contains(moved.Errors, e => e.FullyQualifiedErrorId.StartsWith(NotRegular, StringComparison.Ordinal));
        Assert.Null(moved.Terminating);
    }

    [Fact]
    public void An_entry_json_that_is_a_fifo_is_reported_not_read_and_the_model_still_listed()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        SaveBoth();
        var metadata = Path.Combine(SlimFolder, "entry.json");
        SpecialFiles.MakeFifo(metadata);

        var listed = Run("Get-ModelCache");

        Assert.Equal(new[] { Slim, Yolo }, Names(listed).OrderBy(n => n, StringComparer.Ordinal));
        AssertNotRegular(listed, metadata);
    }

    [Fact]
    public void Save_Model_reports_a_fifo_in_the_mirror_and_a_fifo_partial_and_saves_once_the_partial_is_gone()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mirror = _ps.Temp.Combine("mirror");
        SpecialFiles.MakeFifo(Path.Combine(mirror, YoloFile));
        var fromMirror = Run($"Save-Model {Yolo} -Mirror '{mirror}' -MirrorOnly");
        Assert.Empty(fromMirror.Output);
        AssertNotRegular(fromMirror, Path.Combine(mirror, YoloFile));

        var partial = YoloPath + ".partial";
        SpecialFiles.MakeFifo(partial);
        var overPartial = Run($"Save-Model {Yolo}");
        Assert.Empty(overPartial.Output);
        AssertNotRegular(overPartial, partial);
        Assert.False(File.Exists(partial), "the FIFO partial is a leftover the failed save removes (unlinked, never opened)");

        Assert.Equal(new[] { Yolo }, Names(Run($"Save-Model {Yolo}").ThrowIfErrors()));
    }

    [Fact]
    public void A_folder_where_the_model_file_should_be_is_reported_as_a_folder_by_Save_Test_and_Clear()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        Directory.CreateDirectory(YoloPath);
        File.WriteAllText(Path.Combine(YoloPath, "keep.txt"), "not the cache's");

        var saved = Run($"Save-Model {Yolo}, {Slim}");
        Assert.Equal(new[] { Slim }, Names(saved));
        AssertNotRegular(saved, YoloPath);
        Assert.Contains("a directory", saved.Errors[0].Exception.Message);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(YoloPath)!, "*.partial"));

        var tested = Run($"Test-ModelHash -LiteralPath '{YoloPath}'");
        Assert.Empty(tested.Output);
        AssertNotRegular(tested, YoloPath);
        Assert.DoesNotContain(tested.Errors, e => e.FullyQualifiedErrorId.StartsWith("ModelFileMissing,", StringComparison.Ordinal));

        var whatIf = Run($"Clear-ModelCache {Yolo} -WhatIf");
        AssertNotRegular(whatIf, YoloPath);
        Assert.DoesNotContain(whatIf.ErrorIds, id => id.StartsWith("ModelNotCached,", StringComparison.Ordinal));

        var cleared = Run($"Clear-ModelCache {Yolo} -Confirm:$false");
        AssertNotRegular(cleared, YoloPath);
        Assert.DoesNotContain(cleared.ErrorIds, id => id.StartsWith("ModelNotCached,", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(YoloPath, "keep.txt")), "a folder the cache did not write is reported, not deleted");
    }

    [Fact]
    public void A_fifo_in_a_uniface_folder_is_reported_and_the_other_models_listed_and_checked()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var uniface = _ps.Temp.Combine("uniface");
        var saved = Environment.GetEnvironmentVariable("UNIFACE_CACHE_DIR");
        Environment.SetEnvironmentVariable("UNIFACE_CACHE_DIR", uniface);
        try
        {
            Run($"$null = Save-Model {Yolo}, {Slim} -Layout Uniface").ThrowIfErrors();
            var fifo = Path.Combine(uniface, YoloFile);
            SpecialFiles.MakeFifo(fifo);

            var listed = Run("Get-ModelCache -Layout Uniface");
            Assert.Equal(new[] { Slim }, Names(listed));
            AssertNotRegular(listed, fifo);

            var hashed = Run("Test-ModelHash -Layout Uniface");
            Assert.Equal(new[] { Slim }, Names(hashed));
            AssertNotRegular(hashed, fifo);
        }
        finally
        {
            Environment.SetEnvironmentVariable("UNIFACE_CACHE_DIR", saved);
        }
    }

    [Fact]
    public void A_fifo_refs_file_in_a_hub_cache_is_reported_and_the_snapshot_still_listed()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var hub = _ps.Temp.Combine("hub");
        var repo = Path.Combine(hub, "models--org--faces");
        const string commit = "0123456789abcdef0123456789abcdef01234567";
        var bytes = File.ReadAllBytes(Path.Combine(TestPaths.FixtureModels, YoloFile));
        var blobId = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes)).ToLowerInvariant();
        Directory.CreateDirectory(Path.Combine(repo, "blobs"));
        File.WriteAllBytes(Path.Combine(repo, "blobs", blobId), bytes);
        Directory.CreateDirectory(Path.Combine(repo, "snapshots", commit));
        File.CreateSymbolicLink(Path.Combine(repo, "snapshots", commit, YoloFile), $"../../blobs/{blobId}");
        var refs = Path.Combine(repo, "refs", "main");
        SpecialFiles.MakeFifo(refs);

        var listed = Run($"Get-ModelCache -Layout HuggingFace -CachePath '{hub}'");
        Assert.Single(listed.Output);
        AssertNotRegular(listed, refs);

        var hashed = Run($"Test-ModelHash -Layout HuggingFace -CachePath '{hub}'");
        Assert.Equal("Valid", hashed.Property<string>(0, "Status"));
        AssertNotRegular(hashed, refs);
    }

    [Fact]
    public void Importing_a_folder_skips_a_fifo_named_like_a_model_and_imports_the_rest()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var folder = _ps.Temp.Combine("loose");
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(TestPaths.FixtureModels, "version-slim-320.onnx"), Path.Combine(folder, "version-slim-320.onnx"));
        SpecialFiles.MakeFifo(Path.Combine(folder, YoloFile));

        var imported = Run($"Import-ModelCache -LiteralPath '{folder}' -Verbose 4>&1");

        Assert.Contains(imported.Output, o => o.Properties["Name"]?.Value?.ToString() == Slim);
        Assert.Contains(imported.Output, o => o.BaseObject is System.Management.Automation.VerboseRecord v && v.Message.Contains(YoloFile) && v.Message.Contains("not a regular file"));
        Assert.Null(imported.Terminating);
    }

    [Fact]
    public void Invoke_FaceDetect_reports_a_fifo_image_and_detects_in_the_next_one()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        Run($"$null = Save-Model {Slim}").ThrowIfErrors();
        var fifo = _ps.Temp.Combine("images", "pipe.jpg");
        SpecialFiles.MakeFifo(fifo);
        var real = Path.Combine(TestPaths.FixtureImages, "zidane.jpg");

        var detected = Run($"Invoke-FaceDetect -LiteralPath '{fifo}', '{real}' -Model {Slim}");

        Assert.Single(detected.Output);
        AssertNotRegular(detected, fifo);
    }

    private static IDisposable? Plant(string kind, string path)
    {
        if (kind == "socket")
        {
            return SpecialFiles.MakeSocket(path);
        }

        SpecialFiles.MakeFifo(path);
        return null;
    }
}
