using System;
using System.IO;
using System.Linq;
using ModelCache.Catalog;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Locations;
using ModelCache.Testing;
using Newtonsoft.Json.Linq;

namespace ModelCache.Core.Tests;

/// <summary>
/// Registered catalogs (Register-ModelCatalog): kept per settings scope, checked when registered, merged in a fixed
/// order (built-in, AllUsers, User, catalog.json, MODELCACHE_CATALOG, -CatalogPath; later wins), and a registered
/// file that later breaks is skipped and named while the rest load.
/// </summary>
public sealed class CatalogRegistryTests : IDisposable
{
    private const string BuiltInName = "RetinaFace/MNET_V2";
    private readonly TempDirectory _temp = new("modelcache-catalog-registry");
    private readonly FakeEnvironment _environment;

    public CatalogRegistryTests()
    {
        _environment = new FakeEnvironment(_temp.Combine("home"))
            .With(EnvironmentVariables.XdgConfigHome, _temp.Combine("config"))
            .With(EnvironmentVariables.MachineConfig, _temp.Combine("machine", "config.json"));
    }

    public void Dispose() => _temp.Dispose();

    private CatalogRegistry User => CatalogRegistry.For(SettingsScope.CurrentUser, _environment);

    private CatalogRegistry AllUsers => CatalogRegistry.For(SettingsScope.AllUsers, _environment);

    [Fact]
    public void Sources_merge_in_order_and_the_later_one_wins_a_shared_name()
    {
        // Every source defines Site/SHARED with its own hash, and one model of its own.
        var machine = Catalog("machine.json", ("Site", "SHARED", 'a'), ("Site", "MACHINE", 'b'));
        var user = Catalog("user.json", ("Site", "SHARED", 'c'), ("Site", "USER", 'd'));
        var userCatalog = UserCatalogFile.ForEnvironment(_environment).FilePath;
        Directory.CreateDirectory(Path.GetDirectoryName(userCatalog)!);
        File.WriteAllText(userCatalog, Json(("Site", "SHARED", 'e'), ("Site", "OWN", 'f')));
        var fromEnvironment = Catalog("env.json", ("Site", "SHARED", '1'), ("Site", "ENV", '2'));
        var fromParameter = Catalog("param.json", ("Site", "SHARED", '3'), ("Site", "PARAM", '4'));
        Assert.True(AllUsers.Register(machine));
        Assert.True(User.Register(user));

        var sources = CatalogSources.For(_environment, new[] { fromEnvironment }, new[] { fromParameter });
        var load = sources.Load();

        Assert.Equal(
            new[] { (CatalogSourceKind.BuiltIn, (string?)null, ModelDefinition.BuiltInOrigin), (CatalogSourceKind.Registered, "AllUsers", machine), (CatalogSourceKind.Registered, "CurrentUser", user),
                (CatalogSourceKind.UserCatalog, "CurrentUser", userCatalog), (CatalogSourceKind.Environment, "Process", fromEnvironment), (CatalogSourceKind.Parameter, "Process", fromParameter) },
            load.Sources.Select(s => (s.Kind, s.Scope, s.Path)));
        Assert.Equal(Enumerable.Range(1, 6), load.Sources.Select(s => s.Order));
        Assert.All(load.Sources, s => Assert.True(s.Loaded));
        Assert.Equal(new[] { 2, 2, 2, 2, 2 }, load.Sources.Skip(1).Select(s => s.ModelCount));
        Assert.Empty(load.Skipped);

        var shared = load.Catalog.Resolve("Site/SHARED");
        Assert.Equal(new string('3', 64), shared.Sha256);
        Assert.Equal(fromParameter, shared.Origin);
        foreach (var (member, origin) in new[] { ("MACHINE", machine), ("USER", user), ("OWN", userCatalog), ("ENV", fromEnvironment), ("PARAM", fromParameter) })
        {
            Assert.Equal(origin, load.Catalog.Resolve("Site/" + member).Origin);
        }

        // Without the command line, the environment's wins; without that, the user's catalog.json; and the user's registration beats the machine's.
        Assert.Equal(new string('1', 64), CatalogSources.For(_environment, new[] { fromEnvironment }, Array.Empty<string>()).Load().Catalog.Resolve("Site/SHARED").Sha256);
        Assert.Equal(new string('e', 64), CatalogSources.For(_environment, Array.Empty<string>(), Array.Empty<string>()).Load().Catalog.Resolve("Site/SHARED").Sha256);
        File.Delete(userCatalog);
        Assert.Equal(new string('c', 64), CatalogSources.For(_environment, Array.Empty<string>(), Array.Empty<string>()).Load().Catalog.Resolve("Site/SHARED").Sha256);
    }

    [Fact]
    public void Registering_is_idempotent_keeps_the_full_path_and_leaves_other_settings_alone()
    {
        var file = Catalog("fleet.json", ("Fleet", "A", 'a'));
        var settings = SettingsStore.ForUser(_environment);
        settings.WriteCacheRoot("/data/models");

        Assert.True(User.Register(file));
        Assert.False(User.Register(file));

        Assert.Equal(new[] { file }, User.Paths);
        Assert.Empty(AllUsers.Paths);
        Assert.Equal("/data/models", settings.ReadCacheRoot());
        Assert.Equal(new[] { file }, ((JArray)JObject.Parse(File.ReadAllText(settings.SettingsFile))[CatalogRegistry.Key]!).Select(t => (string)t!));

        Assert.True(User.Unregister(file));
        Assert.False(User.Unregister(file));
        Assert.Empty(User.Paths);
        Assert.Null(JObject.Parse(File.ReadAllText(settings.SettingsFile))[CatalogRegistry.Key]);
        Assert.Equal("/data/models", settings.ReadCacheRoot());
    }

    [Fact]
    public void An_invalid_missing_or_relative_catalog_is_refused_and_nothing_is_registered()
    {
        var bad = _temp.Combine("bad.json");
        File.WriteAllText(bad, "{ \"models\": [ { \"family\": \"A\", \"member\": \"B\", \"fileName\": \"../b.onnx\", \"sha256\": \"" + new string('a', 64) + "\" } ] }");

        Assert.Equal("CatalogInvalid", Assert.Throws<CatalogFormatException>(() => User.Register(bad)).ErrorId);
        Assert.Equal("CatalogInvalid", Assert.Throws<CatalogFormatException>(() => AllUsers.Register(_temp.Combine("absent.json"))).ErrorId);
        Assert.Equal("CatalogPathNotRooted", Assert.Throws<ModelCacheException>(() => User.Register("relative.json")).ErrorId);

        Assert.False(File.Exists(SettingsStore.ForUser(_environment).SettingsFile));
        Assert.False(File.Exists(SettingsStore.ForAllUsers(_environment).SettingsFile));
    }

    [Fact]
    public void A_registered_catalog_that_breaks_later_is_skipped_and_named_while_the_rest_load()
    {
        var broken = Catalog("broken.json", ("Broken", "A", 'a'));
        var vanished = Catalog("vanished.json", ("Vanished", "A", 'b'));
        var fine = Catalog("fine.json", ("Fine", "A", 'c'));
        AllUsers.Register(vanished);
        User.Register(broken);
        User.Register(fine);
        File.WriteAllText(broken, "{ \"models\": [ { \"family\": ");
        File.Delete(vanished);

        var load = CatalogSources.For(_environment, Array.Empty<string>(), Array.Empty<string>()).Load();

        Assert.Equal(new[] { vanished, broken }, load.Skipped.Select(s => s.File));
        Assert.All(load.Skipped, s => Assert.Equal("CatalogInvalid", s.ErrorId));
        Assert.True(load.Catalog.TryGet("Fine/A", out _));
        Assert.True(load.Catalog.TryGet(BuiltInName, out _));
        Assert.False(load.Catalog.TryGet("Broken/A", out _));
        var listed = load.Sources.Where(s => s.Kind == CatalogSourceKind.Registered).ToList();
        Assert.Equal(new[] { false, false, true }, listed.Select(s => s.Loaded));
        Assert.Equal(new[] { 0, 0, 1 }, listed.Select(s => s.ModelCount));
        Assert.Contains("broken.json", listed[1].Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_broken_catalog_the_user_named_still_stops_loading_unless_only_listing()
    {
        var bad = _temp.Combine("param.json");
        File.WriteAllText(bad, "not json");

        var error = Assert.Throws<CatalogFormatException>(() => CatalogSources.For(_environment, Array.Empty<string>(), new[] { bad }).Load());
        Assert.Equal(bad, error.File);

        var listing = CatalogSources.For(_environment, Array.Empty<string>(), new[] { bad }).Load(skipAnyUnreadable: true);
        var source = listing.Sources.Last();
        Assert.Equal((CatalogSourceKind.Parameter, false), (source.Kind, source.Loaded));
        Assert.Equal(bad, Assert.Single(listing.Skipped).File);
        Assert.False(listing.Sources.Single(s => s.Kind == CatalogSourceKind.UserCatalog).Loaded);
    }

    [Fact]
    public void A_registered_catalog_redefining_a_built_in_model_with_another_hash_wins_by_the_merge_rules_and_says_where_from()
    {
        var builtIn = ModelCatalog.ReadBuiltIn().Single(m => m.Name == BuiltInName);
        var file = Catalog("override.json", ("RetinaFace", "MNET_V2", 'f'));
        AllUsers.Register(file);

        var load = CatalogSources.For(_environment, Array.Empty<string>(), Array.Empty<string>()).Load();

        var model = load.Catalog.Resolve("MNET_V2");
        Assert.NotEqual(builtIn.Sha256, model.Sha256);
        Assert.Equal(new string('f', 64), model.Sha256);
        Assert.Equal(file, model.Origin);
        Assert.False(model.IsBuiltIn);
        Assert.Equal(ModelCatalog.ReadBuiltIn().Count, load.Catalog.Models.Count);
        Assert.Equal(file, new ModelCatalogEntry(model, isCached: false).Origin);
    }

    [Fact]
    public void The_machine_wide_list_in_a_place_that_cannot_be_written_is_SettingsNotWritable_with_the_hint()
    {
        var blocker = _temp.Combine("not-a-folder");
        File.WriteAllText(blocker, "a file where the machine config folder should be");
        var environment = new FakeEnvironment(_temp.Combine("home")).With(EnvironmentVariables.MachineConfig, Path.Combine(blocker, "config.json"));
        var file = Catalog("fleet.json", ("Fleet", "A", 'a'));

        var error = Assert.Throws<ModelCacheException>(() => CatalogRegistry.For(SettingsScope.AllUsers, environment).Register(file));

        Assert.Equal("SettingsNotWritable", error.ErrorId);
        Assert.Contains("-Scope CurrentUser", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Empty(CatalogRegistry.For(SettingsScope.AllUsers, environment).Paths);
    }

    private string Catalog(string name, params (string Family, string Member, char Hash)[] models)
    {
        var path = _temp.Combine(name);
        File.WriteAllText(path, Json(models));
        return path;
    }

    private static string Json(params (string Family, string Member, char Hash)[] models) => new JObject
    {
        ["models"] = new JArray(models.Select(m => new JObject
        {
            ["family"] = m.Family, ["member"] = m.Member, ["task"] = "face_detection",
            ["fileName"] = $"{m.Family}-{m.Member}-{m.Hash}.onnx".ToLowerInvariant(), ["sha256"] = new string(m.Hash, 64),
        })),
    }.ToString();
}
