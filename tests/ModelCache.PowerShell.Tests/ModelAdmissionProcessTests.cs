using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelCache.Testing;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// Hostile model files through the cmdlets, in a real pwsh whose peak resident memory is measured: a model arrives
/// with Import-Model, then Invoke-FaceDetect and Optimize-ModelCache -Precompile meet it.
/// </summary>
public sealed class ModelAdmissionProcessTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private const long TensorLimit = 2048 * MiB; // ModelAdmission.DefaultTensorMemoryLimit, as help states it
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void The_166_byte_constant_of_shape_model_is_refused_by_invoke_face_detect_and_precompile_without_allocating_it()
    {
        // ConstantOfShape of an int64 shape initializer [1000,1000,250] feeding ReduceSum: 1e9 bytes once folded.
        var model = new OnnxModelWriter()
            .Int64Initializer("shape", 1000, 1000, 250)
            .Node("ConstantOfShape", new[] { "shape" }, new[] { "big" })
            .Node("ReduceSum", new[] { "big" }, new[] { "out" }, OnnxModelWriter.IntAttribute("keepdims", 0))
            .Output("out", OnnxModelWriter.Float)
            .Save(_temp.Combine("bomb.onnx"));

        var (ids, peak, output) = Run(model, "-Task face_detection");

        Assert.Equal(new[]
        {
            "UnsupportedModelLayout,ModelCache.PowerShell.Cmdlets.InvokeFaceDetectCommand",
            "UnsupportedModelLayout,ModelCache.PowerShell.Cmdlets.OptimizeModelCacheCommand",
        }, ids);
        Assert.True(peak < 400 * MiB, $"peak {peak / MiB} MiB\n{output}");
    }

    [Fact]
    public void A_detector_shaped_model_whose_run_needs_gigabytes_is_imported_as_a_detector_precompiled_and_stopped_at_the_limit()
    {
        // RetinaFace's inputs and outputs; Run concatenates the 3072 input values with themselves 18 times (3 GiB).
        var writer = new OnnxModelWriter()
            .Input("input", OnnxModelWriter.Float, 1, 3, 32, 32)
            .Int64Initializer("flat", 1, 3072)
            .Node("Reshape", new[] { "input", "flat" }, new[] { "x0" });
        for (var i = 0; i < 18; i++)
        {
            writer.Node("Concat", new[] { "x" + i, "x" + i }, new[] { "x" + (i + 1) }, OnnxModelWriter.IntAttribute("axis", 1));
        }

        var model = writer.Node("ReduceSum", new[] { "x18" }, new[] { "s" }, OnnxModelWriter.IntAttribute("keepdims", 0))
            .Int64Initializer("s4", 1, 42, 4).Int64Initializer("s2", 1, 42, 2).Int64Initializer("s10", 1, 42, 10)
            .Node("Expand", new[] { "s", "s4" }, new[] { "loc" })
            .Node("Expand", new[] { "s", "s2" }, new[] { "conf" })
            .Node("Expand", new[] { "s", "s10" }, new[] { "landmarks" })
            .Output("loc", OnnxModelWriter.Float, 1, 42, 4).Output("conf", OnnxModelWriter.Float, 1, 42, 2).Output("landmarks", OnnxModelWriter.Float, 1, 42, 10)
            .Save(_temp.Combine("runbomb.onnx"));

        // No -Task: recognised as a face detector from its own inputs and outputs, so it is precompiled (loading
        // allocates nothing); its Run is stopped at the tensor limit.
        var (ids, peak, output) = Run(model, string.Empty, precompileFirst: true);

        Assert.Contains("TASK|face_detection", output, StringComparison.Ordinal);
        Assert.Contains("PRECOMPILED|Evil/BOMB", output, StringComparison.Ordinal);
        Assert.Equal(new[] { "ModelMemoryLimitExceeded,ModelCache.PowerShell.Cmdlets.InvokeFaceDetectCommand" }, ids);
        Assert.True(peak < TensorLimit + (400 * MiB), $"peak {peak / MiB} MiB\n{output}");
    }

    private (string[] Ids, long Peak, string Output) Run(string model, string taskArgument, bool precompileFirst = false)
    {
        var image = System.IO.Path.Combine(TestPaths.FixtureImages, "zidane.jpg");
        var detect = $"try {{ Invoke-FaceDetect -LiteralPath {Quote(image)} -Model Evil/BOMB -ErrorAction Stop | Out-Null }} catch {{ $failures += $_ }}";
        var precompile = "Optimize-ModelCache -Precompile -ErrorAction SilentlyContinue -ErrorVariable precompileFailures | ForEach-Object { 'PRECOMPILED|' + $_.Name }; $failures += $precompileFailures";
        var script = $$"""
            Import-Module {{Quote(TestPaths.Manifest)}} -ErrorAction Stop
            $failures = @()
            $entry = Import-Model -LiteralPath {{Quote(model)}} -Name Evil/BOMB {{taskArgument}} -ErrorAction Stop
            'TASK|' + $entry.Task
            {{(precompileFirst ? precompile : detect)}}
            {{(precompileFirst ? detect : precompile)}}
            'IDS|' + (@($failures | ForEach-Object FullyQualifiedErrorId) -join ';')
            'PEAK|' + ((Get-Content /proc/self/status | Where-Object { $_ -like 'VmHWM:*' }) -replace '\D', '')
            """;
        using var child = PwshProcess.StartCommand(script, new Dictionary<string, string?>
        {
            ["MODELCACHE_HOME"] = _temp.Combine("cache"),
            ["XDG_CONFIG_HOME"] = _temp.Combine("config"),
            ["XDG_CACHE_HOME"] = _temp.Combine("xdg-cache"),
        }, _temp.Path);
        var result = child.WaitForExit(Timeout);
        var output = result.ToString();
        Assert.True(result.Succeeded, output);
        var ids = result.OutputLines.Single(l => l.StartsWith("IDS|", StringComparison.Ordinal)).Substring(4)
            .Split(';', StringSplitOptions.RemoveEmptyEntries);
        var peak = long.Parse(result.OutputLines.Single(l => l.StartsWith("PEAK|", StringComparison.Ordinal)).Substring(5), CultureInfo.InvariantCulture) * 1024;
        return (ids, peak, output);
    }

    private static string Quote(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";
}
