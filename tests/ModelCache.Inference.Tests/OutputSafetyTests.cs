using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Errors;
using ModelCache.Inference;
using ModelCache.Testing;

namespace ModelCache.Inference.Tests;

/// <summary>Annotated copies and crops never overwrite a source image or an existing file, and never collide.</summary>
[Collection(DetectorCollection.Name)]
public sealed class OutputSafetyTests : IDisposable
{
    private readonly DetectorFixture _fixture;
    private readonly TempDirectory _dir = new();

    public OutputSafetyTests(DetectorFixture fixture) => _fixture = fixture;

    public void Dispose() => _dir.Dispose();

    private string Photo(string relative)
    {
        var path = _dir.Combine("photos", relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Copy(DetectorFixture.Image("linzaer_13.jpg"), path);
        return path;
    }

    private FaceDetectionResult Detect(string path) => _fixture.Detector(DetectorFixture.UltraSlim).Detect(path);

    [Fact]
    public void An_output_folder_equal_to_the_photos_folder_is_refused_and_the_photo_is_untouched()
    {
        var photo = Photo("a.jpg");
        var before = File.ReadAllBytes(photo);
        foreach (var force in new[] { false, true })
        {
            var planner = new FaceOutputPlanner(Path.GetDirectoryName(photo), null, force);
            var ex = Assert.Throws<ModelCacheException>(() => planner.Reserve(photo));
            Assert.Equal("OutputWouldOverwriteSource", ex.ErrorId);
            Assert.Equal(ModelCacheErrorKind.WriteError, ex.Kind);
            Assert.Contains(photo, ex.Message, StringComparison.Ordinal);
            Assert.Contains("another folder", ex.RecommendedAction, StringComparison.Ordinal);
        }

        // The legacy overloads refuse it too.
        var legacy = Assert.Throws<ModelCacheException>(() => FaceImageWriter.WriteAnnotated(Detect(photo), photo));
        Assert.Equal("OutputWouldOverwriteSource", legacy.ErrorId);
        Assert.Equal(before, File.ReadAllBytes(photo));
    }

    [Fact]
    public void A_source_registered_ahead_is_never_an_output_even_with_force()
    {
        var first = Photo("x.jpg");
        var second = Photo(Path.Combine("sub", "x.jpg"));
        var before = File.ReadAllBytes(second);

        // first's output under photos/sub would be photos/sub/x.jpg, which is the second input.
        var planner = new FaceOutputPlanner(Path.GetDirectoryName(second), null, force: true);
        planner.AddSources(new[] { first, second });
        var ex = Assert.Throws<ModelCacheException>(() => planner.Reserve(first));
        Assert.Equal("OutputWouldOverwriteSource", ex.ErrorId);
        Assert.Equal(before, File.ReadAllBytes(second));
    }

    [Fact]
    public void An_existing_file_is_kept_unless_force_and_force_replaces_it()
    {
        var photo = Photo("a.jpg");
        var outDir = _dir.Combine("out");
        Directory.CreateDirectory(outDir);
        var existing = Path.Combine(outDir, "a.jpg");
        File.WriteAllText(existing, "keep me");

        var ex = Assert.Throws<ModelCacheException>(() => new FaceOutputPlanner(outDir, null).Reserve(photo));
        Assert.Equal("OutputExists", ex.ErrorId);
        Assert.Contains(existing, ex.Message, StringComparison.Ordinal);
        Assert.Contains(photo, ex.Message, StringComparison.Ordinal);
        Assert.Contains("-Force", ex.RecommendedAction, StringComparison.Ordinal);
        Assert.Equal("keep me", File.ReadAllText(existing));

        var plan = new FaceOutputPlanner(outDir, null, force: true).Reserve(photo);
        Assert.Equal(existing, FaceImageWriter.WriteAnnotated(Detect(photo), plan));
        Assert.NotEqual("keep me", File.ReadAllText(existing));
        Assert.Empty(Directory.GetFiles(outDir, "*.tmp"));
    }

    [Fact]
    public void A_file_created_after_planning_is_not_overwritten_by_the_create_new_write()
    {
        var photo = Photo("a.jpg");
        var cropDir = _dir.Combine("crops");
        var planner = new FaceOutputPlanner(_dir.Combine("ann"), cropDir);
        var plan = planner.Reserve(photo);
        var result = Detect(photo);
        Assert.True(result.FaceCount > 0);
        Directory.CreateDirectory(Path.GetDirectoryName(plan.AnnotatedPath!)!);
        File.WriteAllText(plan.AnnotatedPath!, "raced");
        Directory.CreateDirectory(cropDir);
        File.WriteAllText(plan.CropStem + "_face1.jpg", "raced");

        Assert.Equal("OutputExists", Assert.Throws<ModelCacheException>(() => FaceImageWriter.WriteAnnotated(result, plan)).ErrorId);
        Assert.Equal("OutputExists", Assert.Throws<ModelCacheException>(() => FaceImageWriter.WriteCrops(result, plan)).ErrorId);
        Assert.Equal("raced", File.ReadAllText(plan.AnnotatedPath!));
        Assert.Equal("raced", File.ReadAllText(plan.CropStem + "_face1.jpg"));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void Same_names_from_different_folders_and_repeats_get_distinct_stable_names()
    {
        var a = Photo(Path.Combine("2023", "img.jpg"));
        var b = Photo(Path.Combine("2024", "img.jpg"));
        var outDir = _dir.Combine("out");

        // Flat (no base): a suffix; repeats -2, -3 in the same way on every run.
        string[] Names()
        {
            var planner = new FaceOutputPlanner(outDir, outDir + "-crops");
            return new[] { planner.Reserve(a, 0), planner.Reserve(b, 0), planner.Reserve(a, 1), planner.Reserve(a, 2) }
                .Select(p => Path.GetRelativePath(outDir, p.AnnotatedPath!)).ToArray();
        }

        var names = Names();
        Assert.Equal(new[] { "img.jpg", "img-2.jpg", "img-3.jpg", "img-4.jpg" }, names);
        Assert.Equal(names, Names());

        // With a base: the relative folders are kept, so nothing collides and no suffix is needed.
        var based = new FaceOutputPlanner(outDir, null, baseDirectory: FaceOutputPlanner.CommonBase(new[] { a, b }));
        Assert.Equal(Path.Combine(outDir, "2023", "img.jpg"), based.Reserve(a).AnnotatedPath);
        Assert.Equal(Path.Combine(outDir, "2024", "img.jpg"), based.Reserve(b).AnnotatedPath);
        Assert.Equal(Path.Combine(outDir, "2023", "img-2.jpg"), based.Reserve(a, 1).AnnotatedPath);
        Assert.Same(based.Reserve(a, 1), based.Reserve(a, 1));
        Assert.Equal(_dir.Combine("photos"), FaceOutputPlanner.CommonBase(new[] { a, b }));
    }

    [Fact]
    public void Concurrent_writes_of_same_named_inputs_all_land_in_distinct_files()
    {
        var sources = Enumerable.Range(0, 8).Select(i => Photo(Path.Combine("d" + i, "same.jpg"))).ToArray();
        var outDir = _dir.Combine("out");
        var cropDir = _dir.Combine("crops");
        var planner = new FaceOutputPlanner(outDir, cropDir);
        var results = sources.Select(Detect).ToArray();
        var crops = 0;
        Parallel.For(0, sources.Length * 2, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k =>
        {
            var i = k % sources.Length;
            var plan = planner.Reserve(sources[i], k / sources.Length);
            Assert.NotNull(FaceImageWriter.WriteAnnotated(results[i], plan));
            System.Threading.Interlocked.Add(ref crops, FaceImageWriter.WriteCrops(results[i], plan, 0.1f).Count);
        });

        Assert.Equal(16, Directory.GetFiles(outDir).Length);
        Assert.Equal(2 * results.Sum(r => r.FaceCount), crops);
        Assert.Equal(crops, Directory.GetFiles(cropDir).Length);
        Assert.All(Directory.GetFiles(outDir), f => Assert.NotNull(SkiaSharp.SKBitmap.Decode(f)));
    }
}
