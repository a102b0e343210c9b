using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using ModelCache.Testing;

namespace ModelCache.PowerShell.Tests;

/// <summary>
/// Invoke-FaceDetect through the hosted engine, with the module imported from ModelCache.psd1 as
/// a user does. Models come from the fixture folder acting as a mirror, under the catalog names
/// of the fixture models; the default RetinaFace/MNET_V2 cannot be fetched here, so every call
/// names its model.
/// </summary>
public sealed class FaceDetectTests : IDisposable
{
    private const string Scrfd = "SCRFD/SCRFD_500M_KPS_CV";
    private const string ErrorSuffix = ",ModelCache.PowerShell.Cmdlets.InvokeFaceDetectCommand";
    private readonly PowerShellSession _ps = new();

    public FaceDetectTests()
    {
        // The session restores MODELCACHE_* on dispose.
        Environment.SetEnvironmentVariable("MODELCACHE_MIRROR", TestPaths.FixtureModels);
    }

    public void Dispose() => _ps.Dispose();

    private static string Image(string name) => Path.Combine(TestPaths.FixtureImages, name);

    private static string Quote(string s) => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";

    [Fact]
    public void FileInfo_objects_piped_in_give_one_result_per_image_in_order()
    {
        var files = new[] { "sample.jpg", "zidane.jpg", "portrait.jpg", "linzaer_10.jpg" };
        var script = "$files | ForEach-Object { [System.IO.FileInfo]::new($_) } | Invoke-FaceDetect -Model " + Scrfd;
        var result = _ps.Run(script, new Dictionary<string, object?> { ["files"] = files.Select(Image).ToArray() }).ThrowIfErrors();

        Assert.Equal(4, result.Output.Count);
        Assert.All(result.Output, o => Assert.Equal("ModelCache.Inference.FaceDetectionResult", o.BaseObject.GetType().FullName));
        Assert.Equal(files.Select(Image), result.Output.Select(o => (string)o.Properties["Path"].Value));
        Assert.Equal(new[] { 8, 2, 1, 19 }, result.Output.Select(o => (int)o.Properties["FaceCount"].Value));
        Assert.All(result.Output, o => Assert.Equal(Scrfd, o.Properties["Model"].Value));
        Assert.Equal(1024, result.Property<int>(0, "Width"));
        Assert.Equal(768, result.Property<int>(0, "Height"));

        // The model was saved into the session's cache on first use.
        Assert.True(File.Exists(Path.Combine(_ps.CacheRoot, "models", "SCRFD", "SCRFD_500M_KPS_CV", "scrfd_500m_kps.onnx")));
    }

    [Fact]
    public void Path_takes_wildcards_and_strings_from_the_pipeline()
    {
        var wildcard = _ps.Run($"Invoke-FaceDetect -Path {Quote(Path.Combine(TestPaths.FixtureImages, "linzaer_2[0-3].jpg"))} -Model {Scrfd}").ThrowIfErrors();
        Assert.Equal(new[] { "linzaer_20.jpg", "linzaer_22.jpg", "linzaer_23.jpg" }, wildcard.Output.Select(o => Path.GetFileName((string)o.Properties["Path"].Value)).OrderBy(n => n, StringComparer.Ordinal));

        var piped = _ps.Run($"{Quote(Image("zidane.jpg"))}, {Quote(Image("portrait.jpg"))} | Invoke-FaceDetect -Model {Scrfd}").ThrowIfErrors();
        Assert.Equal(new[] { 2, 1 }, piped.Output.Select(o => (int)o.Properties["FaceCount"].Value));

        var literal = _ps.Run($"Invoke-FaceDetect -LiteralPath {Quote(Image("zidane.jpg"))} -Model {Scrfd} -MaxFaces 1").ThrowIfErrors();
        Assert.Equal(1, literal.Property<int>(0, "FaceCount"));
    }

    [Fact]
    public void AsFace_emits_faces_with_their_image_path_for_filtering()
    {
        var script = $"[System.IO.FileInfo]::new({Quote(Image("sample.jpg"))}), [System.IO.FileInfo]::new({Quote(Image("zidane.jpg"))}) | Invoke-FaceDetect -Model {Scrfd} -AsFace | Where-Object Confidence -gt 0.5";
        var result = _ps.Run(script).ThrowIfErrors();
        Assert.Equal(10, result.Output.Count);
        Assert.All(result.Output, o => Assert.Equal("ModelCache.Inference.Face", o.BaseObject.GetType().FullName));
        Assert.Equal(8, result.Output.Count(o => (string)o.Properties["Path"].Value == Image("sample.jpg")));
        var box = result.Output[0].Properties["BoundingBox"].Value;
        Assert.NotNull(box);
        var landmarks = (PSObject)PSObject.AsPSObject(result.Output[0].Properties["Landmarks"].Value);
        Assert.NotNull(landmarks.Properties["LeftEye"].Value);
    }

    [Fact]
    public void AnnotatedPath_and_CropPath_write_decodable_images()
    {
        var annotated = _ps.Temp.Combine("annotated");
        var crops = _ps.Temp.Combine("crops");
        var script = $"[System.IO.FileInfo]::new({Quote(Image("sample.jpg"))}), [System.IO.FileInfo]::new({Quote(Image("gorilla.png"))}) | Invoke-FaceDetect -Model {Scrfd} -AnnotatedPath {Quote(annotated)} -CropPath {Quote(crops)} -CropMargin 0.1";
        _ps.Run(script).ThrowIfErrors();

        var written = Directory.GetFiles(annotated).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { "gorilla.png", "sample.jpg" }, written);
        Assert.Equal(9, Directory.GetFiles(crops).Length); // 8 children + the gorilla SCRFD fires on
        Assert.True(File.Exists(Path.Combine(crops, "sample_face1.jpg")));
        Assert.True(File.Exists(Path.Combine(crops, "gorilla_face1.png")));

        // Decodable: the module itself reads the annotated copy back, same size, faces still there.
        var again = _ps.Run($"Invoke-FaceDetect -LiteralPath {Quote(Path.Combine(annotated, "sample.jpg"))} -Model {Scrfd}").ThrowIfErrors();
        Assert.Equal((1024, 768), (again.Property<int>(0, "Width"), again.Property<int>(0, "Height")));
        Assert.InRange(again.Property<int>(0, "FaceCount"), 6, 8);
        var crop = _ps.Run($"Invoke-FaceDetect -LiteralPath {Quote(Path.Combine(crops, "sample_face1.jpg"))} -Model {Scrfd}").ThrowIfErrors();
        Assert.InRange(crop.Property<int>(0, "Width"), 100, 300); // a face box of ~110–150 px plus 10 % each side
        Assert.InRange(crop.Property<int>(0, "Height"), 100, 300);
    }

    [Fact]
    public void A_corrupt_jpeg_gives_one_error_naming_it_and_the_batch_goes_on()
    {
        var corrupt = _ps.Temp.Combine("corrupt.jpg");
        File.WriteAllBytes(corrupt, new byte[] { 0xFF, 0xD8, 0xFF, 0xE0 }.Concat(Enumerable.Repeat((byte)0x5A, 5000)).ToArray());
        var files = new[] { Image("zidane.jpg"), corrupt, Image("portrait.jpg") };
        var result = _ps.Run($"$files | ForEach-Object {{ [System.IO.FileInfo]::new($_) }} | Invoke-FaceDetect -Model {Scrfd} -ThrottleLimit 2",
            new Dictionary<string, object?> { ["files"] = files });

        Assert.Null(result.Terminating);
        var error = Assert.Single(result.Errors);
        Assert.Equal("ImageDecodeFailed" + ErrorSuffix, error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
        Assert.Contains(corrupt, error.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(corrupt, error.TargetObject);
        Assert.Equal(new[] { Image("zidane.jpg"), Image("portrait.jpg") }, result.Output.Select(o => (string)o.Properties["Path"].Value));
    }

    [Fact]
    public void A_missing_file_is_a_non_terminating_ImageNotFound()
    {
        var result = _ps.Run($"Invoke-FaceDetect -Path {Quote(_ps.Temp.Combine("nope.jpg"))}, {Quote(Image("portrait.jpg"))} -Model {Scrfd}");
        Assert.Equal(new[] { "ImageNotFound" + ErrorSuffix }, result.ErrorIds);
        Assert.Single(result.Output);
    }

    [Theory]
    [InlineData("RetinaFace/MNET_025_BIUBUG6")]
    [InlineData("SCRFD/SCRFD_2_5G_KPS")]
    [InlineData("YOLOv5Face/YOLOV5N_0_5")]
    [InlineData("YOLOv8Face/YOLOV8_LITE_T")]
    [InlineData("BlazeFace/FRONT_128")]
    [InlineData("BlazeFace/BACK_256")]
    [InlineData("UltraFace/RFB_320")]
    [InlineData("UltraFace/SLIM_320")]
    public void Every_fixture_family_runs_by_catalog_name(string model)
    {
        var result = _ps.Run($"Invoke-FaceDetect -LiteralPath {Quote(Image("portrait.jpg"))}, {Quote(Image("linzaer_2.jpg"))} -Model {model}").ThrowIfErrors();
        Assert.Equal(new[] { 1, 4 }, result.Output.Select(o => (int)o.Properties["FaceCount"].Value));
    }

    [Fact]
    public void Offline_without_a_cached_model_is_a_terminating_error()
    {
        // A local mirror directory still counts as available offline, so take it away.
        Environment.SetEnvironmentVariable("MODELCACHE_MIRROR", null);
        var result = _ps.Run($"Invoke-FaceDetect -LiteralPath {Quote(Image("portrait.jpg"))} -Model {Scrfd} -Offline");
        Assert.Equal(new[] { "ModelNotAvailableOffline" + ErrorSuffix }, result.ErrorIds);
        Assert.Empty(result.Output);
    }

    [Fact]
    public void A_model_that_is_not_a_face_detector_is_refused()
    {
        var result = _ps.Run($"Invoke-FaceDetect -LiteralPath {Quote(Image("portrait.jpg"))} -Model ArcFace/MNET");
        Assert.Equal(new[] { "NotAFaceDetector" + ErrorSuffix }, result.ErrorIds);
    }

    [Fact]
    public void Thresholds_and_input_size_reach_the_detector()
    {
        var strict = _ps.Run($"Invoke-FaceDetect -LiteralPath {Quote(Image("sample.jpg"))} -Model {Scrfd} -ConfidenceThreshold 0.99").ThrowIfErrors();
        Assert.Equal(0, strict.Property<int>(0, "FaceCount"));
        var wrongSize = _ps.Run($"Invoke-FaceDetect -LiteralPath {Quote(Image("sample.jpg"))} -Model {Scrfd} -InputSize 1280");
        Assert.Equal(new[] { "InputSizeNotSupported" + ErrorSuffix }, wrongSize.ErrorIds);
    }

    [Fact]
    public void Importing_the_module_loads_no_native_library_until_the_first_detection()
    {
        // A process of its own, so nothing earlier in this test run has loaded ONNX Runtime or Skia.
        var script = $$"""
            Import-Module {{Quote(TestPaths.Manifest)}} -ErrorAction Stop
            function Natives { @([System.Diagnostics.Process]::GetCurrentProcess().Modules | Where-Object { $_.ModuleName -match 'onnxruntime|SkiaSharp' }).Count }
            'BEFORE ' + (Natives)
            $r = Invoke-FaceDetect -LiteralPath {{Quote(Image("portrait.jpg"))}} -Model {{Scrfd}} -ErrorAction Stop
            'FACES ' + $r.FaceCount
            'AFTER ' + (Natives)
            """;
        using var child = PwshProcess.StartCommand(script, new Dictionary<string, string?>
        {
            ["MODELCACHE_HOME"] = _ps.Temp.Combine("child-cache"),
            ["MODELCACHE_MIRROR"] = TestPaths.FixtureModels,
        });
        var result = child.WaitForExit(TimeSpan.FromMinutes(2));
        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("BEFORE 0", result.OutputLines);
        Assert.Contains("FACES 1", result.OutputLines);
        Assert.Contains(result.OutputLines, l => l.StartsWith("AFTER ", StringComparison.Ordinal) && l != "AFTER 0");
    }
}
