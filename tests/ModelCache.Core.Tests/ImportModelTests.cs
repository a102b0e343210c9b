using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Bundles;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Primitives;
using ModelCache.Store;
using ModelCache.Testing;
using ModelCache.Transfer;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests;

/// <summary>
/// Import-Model's core: a file becomes Family/Member through the saver's verified path and an entry in the user's
/// catalog.json, without a url; names and file names are checked as a catalog's are, and a name or file name another
/// model holds with other bytes is refused before anything is written.
/// </summary>
public sealed class ImportModelTests : IDisposable
{
    private static readonly byte[] Bytes = TestModels.RandomBytes(250_000, seed: 41);
    private static readonly byte[] Other = TestModels.RandomBytes(250_000, seed: 42);
    private readonly TempDirectory _temp = new("modelcache-import-model");

    public void Dispose() => _temp.Dispose();

    private CacheStore Store => new(_temp.Combine("cache"));

    private UserCatalogFile UserCatalog => new(_temp.Combine("config"));

    [Fact]
    public async Task A_file_is_placed_verified_and_kept_by_name_without_a_url_and_importing_it_again_is_skipped()
    {
        var file = Write("site_a.onnx", Bytes);

        var plan = await Importer().PlanAsync(file, "MyDetectors/SITE_A", "face_detection", null, "internal", default);
        Assert.True(plan.WritesCatalogEntry);
        var entry = await Import(plan);

        Assert.Equal(TransferSource.File, entry.Source);
        Assert.Equal(Bytes, File.ReadAllBytes(Store.GetModelPath(plan.Model)));
        Assert.EndsWith(Path.Combine("MyDetectors", "SITE_A", "site_a.onnx"), entry.Path, StringComparison.Ordinal);
        var kept = Assert.Single(CatalogReader.ReadFile(UserCatalog.FilePath));
        Assert.Equal(("MyDetectors/SITE_A", "site_a.onnx", TestModels.Sha256Of(Bytes), (long?)Bytes.Length, "internal", "face_detection"),
            (kept.Name, kept.FileName, kept.Sha256, kept.Size, kept.License, kept.Task));
        Assert.Null(kept.Url);
        Assert.Null(JObject.Parse(File.ReadAllText(UserCatalog.FilePath))["models"]![0]!["url"]);

        // Again, now that the catalog knows it: the same bytes under the same name are skipped and written nowhere.
        var catalog = ModelCatalog.Load(UserCatalog.FilesToMerge);
        var again = await new ModelFileImporter(catalog, UserCatalog).PlanAsync(file, "mydetectors/site_a", null, null, null, default);
        Assert.False(again.WritesCatalogEntry);
        Assert.Equal(TransferSource.Cache, (await Import(again, catalog)).Source);
        Assert.Single(CatalogReader.ReadFile(UserCatalog.FilePath));
    }

    [Fact]
    public async Task A_built_in_or_user_name_held_with_other_bytes_is_refused_before_anything_is_written()
    {
        var builtIn = ModelCatalog.ReadBuiltIn().First(m => m.Name == "RetinaFace/MNET_V2");
        var file = Write("mine.onnx", Bytes);

        var error = await Assert.ThrowsAsync<ModelCacheException>(() => Importer().PlanAsync(file, "RetinaFace/MNET_V2", null, null, null, default));
        Assert.Equal("ModelNameConflict", error.ErrorId);
        Assert.Contains(builtIn.Sha256, error.Message, StringComparison.Ordinal);

        await Import(await Importer().PlanAsync(Write("first.onnx", Other), "Site/X", null, null, null, default));
        var known = ModelCatalog.Load(UserCatalog.FilesToMerge);
        error = await Assert.ThrowsAsync<ModelCacheException>(() => new ModelFileImporter(known, UserCatalog).PlanAsync(file, "site/x", null, null, null, default));
        Assert.Equal("ModelNameConflict", error.ErrorId);
        Assert.Contains(UserCatalog.FilePath, error.Message, StringComparison.Ordinal);

        Assert.Equal(Other, File.ReadAllBytes(Store.GetModelPath(known.Resolve("Site/X"))));
        Assert.False(Directory.Exists(Path.Combine(Store.Root, "models", "RetinaFace")));
        Assert.Single(CatalogReader.ReadFile(UserCatalog.FilePath));
    }

    [Fact]
    public async Task Another_models_file_name_is_refused_but_the_same_bytes_under_a_known_name_reuse_its_entry()
    {
        var builtIn = ModelCatalog.ReadBuiltIn().First(m => m.Name == "RetinaFace/MNET_V2");
        var error = await Assert.ThrowsAsync<ModelCacheException>(() => Importer().PlanAsync(Write(builtIn.FileName, Bytes), "Site/RENAMED", null, null, null, default));
        Assert.Equal("ModelFileNameConflict", error.ErrorId);
        Assert.Contains("RetinaFace/MNET_V2", error.Message, StringComparison.Ordinal);

        var known = TestModels.Define(Bytes, new Uri("https://example.invalid/k.onnx"), member: "KNOWN", fileName: "known.onnx");
        var plan = await new ModelFileImporter(new ModelCatalog(new[] { known }), UserCatalog).PlanAsync(Write("copy.onnx", Bytes), "Test/KNOWN", null, null, null, default);
        Assert.Same(known, plan.Model);
        Assert.False(plan.WritesCatalogEntry);
    }

    [Theory]
    [InlineData("Family")]
    [InlineData("A/B/C")]
    [InlineData("../B")]
    [InlineData("A/..")]
    [InlineData("/B")]
    [InlineData("A/")]
    [InlineData("A\\B")]
    [InlineData("A/.hidden")]
    [InlineData("A/B C")]
    [InlineData("C:/B")]
    public async Task A_name_that_is_not_Family_Member_is_refused(string name)
    {
        var error = await Assert.ThrowsAsync<ModelCacheException>(() => Importer().PlanAsync(Write("x.onnx", Bytes), name, null, null, null, default));

        Assert.Equal("ModelNameInvalid", error.ErrorId);
        Assert.Equal(ModelCacheErrorKind.InvalidArgument, error.Kind);
        Assert.False(Directory.Exists(Store.Root));
        Assert.False(File.Exists(UserCatalog.FilePath));
    }

    [Theory]
    [InlineData("entry.json")]
    [InlineData("model.onnx.partial")]
    [InlineData("model.onnx.partial.json")]
    [InlineData("model.tmp")]
    [InlineData("..\\escape.onnx")]
    [InlineData("a\\b.onnx")]
    public async Task A_file_whose_name_cannot_be_a_plain_model_file_name_is_refused(string fileName)
    {
        if (fileName.Contains('\\', StringComparison.Ordinal) && Path.DirectorySeparatorChar == '\\')
        {
            return; // Such a name cannot exist on Windows.
        }

        var error = await Assert.ThrowsAsync<ModelCacheException>(() => Importer().PlanAsync(Write(fileName, Bytes), "Site/X", null, null, null, default));

        Assert.Equal("ModelFileNameInvalid", error.ErrorId);
        Assert.False(Directory.Exists(Store.Root));
        Assert.False(File.Exists(UserCatalog.FilePath));
    }

    [Fact]
    public async Task A_link_a_missing_file_and_a_url_that_is_not_http_or_file_are_refused()
    {
        var real = Write("real.onnx", Bytes);
        var link = _temp.Combine("link.onnx");
        File.CreateSymbolicLink(link, real);

        Assert.Equal("CacheFolderIsLink", (await Assert.ThrowsAsync<ModelCacheException>(() => Importer().PlanAsync(link, "Site/X", null, null, null, default))).ErrorId);
        Assert.Equal("ImportSourceNotFound", (await Assert.ThrowsAsync<ModelCacheException>(() => Importer().PlanAsync(_temp.Combine("absent.onnx"), "Site/X", null, null, null, default))).ErrorId);
        Assert.Equal("ModelUrlInvalid", (await Assert.ThrowsAsync<ModelCacheException>(() => Importer().PlanAsync(real, "Site/X", null, new Uri("ftp://example.invalid/x.onnx"), null, default))).ErrorId);

        var withUrl = await Importer().PlanAsync(real, "Site/X", null, new Uri("https://models.example.invalid/real.onnx"), null, default);
        Assert.Equal("https://models.example.invalid/real.onnx", withUrl.Model.Url!.ToString());
        Assert.Equal("unknown", withUrl.Model.Task);
    }

    [Fact]
    public void Url_less_entries_are_read_and_written_back_without_a_url()
    {
        var sha = TestModels.Sha256Of(Bytes);
        var models = CatalogReader.Read("{ \"models\": [ { \"family\": \"Site\", \"member\": \"NOURL\", \"fileName\": \"n.onnx\", \"sha256\": \"" + sha + "\" } ] }", "test", "test");

        var model = Assert.Single(models);
        Assert.Null(model.Url);
        Assert.Null(new ModelCatalogEntry(model, false).Url);
        var entry = CatalogWriter.ToEntry(model);
        Assert.False(entry.ContainsKey("url"));
        var back = CatalogReader.ReadEntry(entry, "round trip", "round trip");
        Assert.Equal((model.Name, model.FileName, model.Sha256, (Uri?)null), (back.Name, back.FileName, back.Sha256, back.Url));

        // A url that is there is still checked.
        Assert.Throws<CatalogFormatException>(() => CatalogReader.Read("{ \"models\": [ { \"family\": \"Site\", \"member\": \"BAD\", \"fileName\": \"n.onnx\", \"url\": \"ftp://x.invalid/n\", \"sha256\": \"" + sha + "\" } ] }", "test", "test"));
    }

    [Fact]
    public async Task A_url_less_model_missing_from_the_cache_is_saved_from_a_mirror_only_and_otherwise_says_it_has_no_source()
    {
        var model = new ModelDefinition("Site", "NOURL", "face_detection", "nourl.onnx", null, TestModels.Sha256Of(Bytes), Bytes.Length, origin: "catalog.json");

        using (var online = new SourcePlanner(Array.Empty<string>(), mirrorOnly: false, offline: false))
        {
            Assert.Empty(online.Plan(model));
            var error = await Assert.ThrowsAsync<ModelCacheException>(() => new ModelSaver(Store, online).SaveAsync(model, false, null, null, default));
            Assert.Equal("ModelHasNoSource", error.ErrorId);
            Assert.Contains("no url", error.Message, StringComparison.Ordinal);
        }

        var emptyMirror = Directory.CreateDirectory(_temp.Combine("empty-mirror")).FullName;
        using (var planner = new SourcePlanner(new[] { emptyMirror }, mirrorOnly: false, offline: false))
        {
            var error = await Assert.ThrowsAsync<ModelCacheException>(() => new ModelSaver(Store, planner).SaveAsync(model, false, null, null, default));
            Assert.Equal("ModelHasNoSource", error.ErrorId);
            Assert.Equal("SourceFileNotFound", Assert.IsAssignableFrom<ModelCacheException>(error.InnerException).ErrorId);
        }

        var mirror = Directory.CreateDirectory(_temp.Combine("mirror")).FullName;
        File.WriteAllBytes(Path.Combine(mirror, "nourl.onnx"), Bytes);
        using (var planner = new SourcePlanner(new[] { mirror }, mirrorOnly: false, offline: true))
        {
            Assert.Equal(TransferSource.Mirror, (await new ModelSaver(Store, planner).SaveAsync(model, false, null, null, default)).Source);
        }

        using (var none = new SourcePlanner(Array.Empty<string>(), mirrorOnly: false, offline: true))
        {
            Assert.Equal(TransferSource.Cache, (await new ModelSaver(Store, none).SaveAsync(model, false, null, null, default)).Source);
        }
    }

    private ModelFileImporter Importer() => new(new ModelCatalog(ModelCatalog.ReadBuiltIn()), UserCatalog);

    private async Task<ModelCacheEntry> Import(ModelFilePlan plan, ModelCatalog? catalog = null)
    {
        using var planner = new SourcePlanner(Array.Empty<string>(), mirrorOnly: true, offline: true);
        return await new ModelFileImporter(catalog ?? new ModelCatalog(ModelCatalog.ReadBuiltIn()), UserCatalog)
            .ImportAsync(plan, new ModelSaver(Store, planner), null, null, default);
    }

    private string Write(string name, byte[] bytes)
    {
        var folder = Directory.CreateDirectory(_temp.Combine("files", Guid.NewGuid().ToString("n"))).FullName;
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
