using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ModelCache.Catalog;
using ModelCache.Errors;
using ModelCache.Testing;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests;

/// <summary>The user's catalog.json: entries learned from bundles are appended, read back by the catalog, and never changed by a conflicting one.</summary>
public sealed class UserCatalogFileTests : IDisposable
{
    private static readonly ModelDefinition Custom = new("Site", "C", "face_detection", "c.onnx", new Uri("https://models.example.invalid/c.onnx"),
        new string('a', 64), 1234, license: "internal", origin: "bundle");

    private readonly TempDirectory _temp = new("modelcache-user-catalog");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Entries_are_appended_once_and_read_back_after_the_built_in_catalog()
    {
        var file = new UserCatalogFile(_temp.Combine("config"));
        Assert.Empty(file.FilesToMerge);

        Assert.Single(await file.AddAsync(new[] { Custom }, default));
        Assert.Empty(await file.AddAsync(new[] { Custom }, default));

        var catalog = ModelCatalog.Load(file.FilesToMerge);
        Assert.True(catalog.TryGet("Site/C", out var read));
        Assert.Equal(Custom.Sha256, read!.Sha256);
        Assert.Equal(1234, read.Size);
        Assert.Equal(file.FilePath, read.Origin);
        Assert.Equal(ModelCatalog.ReadBuiltIn().Count + 1, catalog.Models.Count);
    }

    [Fact]
    public async Task A_conflicting_entry_is_refused_and_the_file_and_the_users_own_fields_stay_as_they_were()
    {
        var file = new UserCatalogFile(_temp.Path);
        File.WriteAllText(file.FilePath, "{ \"models\": [ { \"family\": \"Site\", \"member\": \"C\", \"fileName\": \"c.onnx\", \"url\": \"https://x.invalid/c.onnx\", \"sha256\": \""
            + new string('b', 64) + "\", \"notes\": \"mine\" } ] }");
        var before = File.ReadAllText(file.FilePath);

        var error = await Assert.ThrowsAsync<ModelCacheException>(() => file.AddAsync(new[] { Custom }, default));
        Assert.Equal("UserCatalogConflict", error.ErrorId);
        Assert.Contains("Site/C", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(file.FilePath));

        var other = new ModelDefinition("Site", "D", "face_detection", "d.onnx", new Uri("https://x.invalid/d.onnx"), new string('d', 64), 10);
        await file.AddAsync(new[] { other }, default);
        var models = (JArray)JObject.Parse(File.ReadAllText(file.FilePath))["models"]!;
        Assert.Equal(new[] { "C", "D" }, models.Select(m => (string)m["member"]!));
        Assert.Equal("mine", (string?)models[0]["notes"]);
        Assert.Empty(Directory.GetFiles(_temp.Path, "*.tmp"));
    }
}
