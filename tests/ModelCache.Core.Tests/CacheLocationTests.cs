using System.IO;
using ModelCache.Configuration;
using ModelCache.Locations;
using ModelCache.Testing;

namespace ModelCache.Core.Tests;

public class CacheLocationTests
{
    [Fact]
    public void Each_level_wins_over_the_ones_below_it()
    {
        using var temp = new TempDirectory();
        var environment = new FakeEnvironment(temp.Combine("home"));
        var settings = new SettingsStore(temp.Combine("config", "settings.json"));
        var machine = new SettingsStore(temp.Combine("etc", "config.json"), SettingsScope.AllUsers);

        CacheLocation Resolve(string? explicitPath = null, string? process = null) =>
            new CacheLocationResolver(environment, settings, process, machine).Resolve(explicitPath);

        Assert.Equal(CacheLocationSource.PlatformDefault, Resolve().Source);
        Assert.Equal(Path.Combine(temp.Path, "home", ".cache", "modelcache"), Resolve().Path);

        environment.With(EnvironmentVariables.XdgCacheHome, temp.Combine("xdg"));
        Assert.Equal(CacheLocationSource.XdgCacheHome, Resolve().Source);
        Assert.Equal(temp.Combine("xdg", "modelcache"), Resolve().Path);

        environment.With(EnvironmentVariables.Home, temp.Combine("env"));
        Assert.Equal(CacheLocationSource.EnvironmentVariable, Resolve().Source);
        Assert.Equal(temp.Combine("env"), Resolve().Path);

        machine.WriteCacheRoot(temp.Combine("machine"));
        Assert.Equal(CacheLocationSource.AllUsersSetting, Resolve().Source);
        Assert.Equal(temp.Combine("machine"), Resolve().Path);
        Assert.Contains(machine.SettingsFile, Resolve().Detail);

        settings.WriteCacheRoot(temp.Combine("user"));
        Assert.Equal(CacheLocationSource.UserSetting, Resolve().Source);
        Assert.Equal(temp.Combine("user"), Resolve().Path);

        Assert.Equal(CacheLocationSource.ProcessSetting, Resolve(process: temp.Combine("process")).Source);
        Assert.Equal(temp.Combine("process"), Resolve(process: temp.Combine("process")).Path);

        var explicitLocation = Resolve(temp.Combine("explicit"), temp.Combine("process"));
        Assert.Equal(CacheLocationSource.Parameter, explicitLocation.Source);
        Assert.Equal(temp.Combine("explicit"), explicitLocation.Path);

        settings.WriteCacheRoot(null);
        Assert.Equal(CacheLocationSource.AllUsersSetting, Resolve().Source);
        machine.WriteCacheRoot(null);
        Assert.Equal(CacheLocationSource.EnvironmentVariable, Resolve().Source);
    }

    [Fact]
    public void The_machine_wide_file_is_the_one_the_environment_names_and_otherwise_the_platform_one()
    {
        using var temp = new TempDirectory();
        Assert.Equal(temp.Combine("m.json"), SettingsStore.ForAllUsers(new FakeEnvironment(temp.Path).With(EnvironmentVariables.MachineConfig, temp.Combine("m.json"))).SettingsFile);
        var bare = new FakeEnvironment(temp.Path).With(EnvironmentVariables.MachineConfig, "relative.json");
        Assert.Equal("/etc/modelcache/config.json", SettingsStore.ForAllUsers(bare).SettingsFile);
        var windows = new FakeEnvironment(temp.Path, isWindows: true).With(EnvironmentVariables.MachineConfig, "").With("ProgramData", @"D:\PD");
        Assert.Equal(Path.Combine(@"D:\PD", "ModelCache", "config.json"), SettingsStore.ForAllUsers(windows).SettingsFile);
        Assert.Equal(SettingsScope.AllUsers, SettingsStore.ForAllUsers(windows).Scope);
    }

    [Fact]
    public void Per_model_locations_come_from_the_highest_scope_and_damaged_ones_are_ignored()
    {
        using var temp = new TempDirectory();
        var environment = new FakeEnvironment(temp.Combine("home"));
        var user = new SettingsStore(temp.Combine("config", "settings.json"));
        var machine = new SettingsStore(temp.Combine("etc", "config.json"), SettingsScope.AllUsers);
        ModelLocationSettings.Write(machine, "A/One", temp.Combine("machine-one"));
        ModelLocationSettings.Write(machine, "B/Two", temp.Combine("machine-two"));
        ModelLocationSettings.Write(user, "A/One", temp.Combine("user-one"));
        ModelLocationSettings.Write(user, "../../etc", temp.Combine("bad-name"));
        ModelLocationSettings.Write(user, "C/Three", "relative/folder");
        var process = new System.Collections.Generic.Dictionary<string, string> { ["B/Two"] = temp.Combine("process-two") };

        var locations = new CacheLocationResolver(environment, user, null, machine, process).ResolveModelLocations();

        Assert.Equal(temp.Combine("user-one"), locations.Find("A", "One")!.Path);
        Assert.Equal(CacheLocationSource.UserSetting, locations.Find("a", "one")!.Source);
        Assert.Equal(temp.Combine("process-two"), locations.Find("B", "Two")!.Path);
        Assert.Equal(CacheLocationSource.ProcessSetting, locations.Find("B", "Two")!.Source);
        Assert.Null(locations.Find("C", "Three"));
        Assert.Equal(new[] { "A/One", "B/Two" }, System.Linq.Enumerable.Select(locations.All, l => l.Model));

        ModelLocationSettings.Write(user, "a/one", null);
        Assert.Equal(temp.Combine("machine-one"), new CacheLocationResolver(environment, user, null, machine).ResolveModelLocations().Find("A", "One")!.Path);
    }

    [Fact]
    public void A_relative_xdg_cache_home_is_ignored_as_the_spec_requires()
    {
        using var temp = new TempDirectory();
        var environment = new FakeEnvironment(temp.Path).With(EnvironmentVariables.XdgCacheHome, "relative/cache");
        var location = new CacheLocationResolver(environment, new SettingsStore(temp.Combine("s.json")), null).Resolve();
        Assert.Equal(CacheLocationSource.PlatformDefault, location.Source);
    }

    [Fact]
    public void Windows_defaults_to_local_app_data()
    {
        using var temp = new TempDirectory();
        var environment = new FakeEnvironment(temp.Path, isWindows: true) { LocalApplicationData = temp.Combine("Local") };
        var location = new CacheLocationResolver(environment, new SettingsStore(temp.Combine("s.json")), null).Resolve();
        Assert.Equal(Path.Combine(temp.Path, "Local", "ModelCache"), location.Path);
    }

    [Fact]
    public void A_tilde_in_modelcache_home_means_the_home_directory()
    {
        using var temp = new TempDirectory();
        var environment = new FakeEnvironment(temp.Path).With(EnvironmentVariables.Home, "~/models");
        var location = new CacheLocationResolver(environment, new SettingsStore(temp.Combine("s.json")), null).Resolve();
        Assert.Equal(temp.Combine("models"), location.Path);
    }

    [Fact]
    public void A_damaged_settings_file_falls_through_to_the_next_level()
    {
        using var temp = new TempDirectory();
        var settingsFile = temp.Combine("settings.json");
        File.WriteAllText(settingsFile, "{ not json");
        var environment = new FakeEnvironment(temp.Path).With(EnvironmentVariables.Home, temp.Combine("env"));
        var location = new CacheLocationResolver(environment, new SettingsStore(settingsFile), null).Resolve();
        Assert.Equal(CacheLocationSource.EnvironmentVariable, location.Source);
    }

    [Fact]
    public void User_settings_live_under_xdg_config_home()
    {
        var environment = new FakeEnvironment("/home/u").With(EnvironmentVariables.XdgConfigHome, "/cfg");
        Assert.Equal(Path.Combine("/cfg", "modelcache", "settings.json"), SettingsStore.ForUser(environment).SettingsFile);
    }

    [Fact]
    public void Environment_options_parse_lists_and_flags()
    {
        var environment = new FakeEnvironment("/home/u")
            .With(EnvironmentVariables.Offline, "TRUE")
            .With(EnvironmentVariables.Mirror, "http://127.0.0.1:1/a; /srv/models ;")
            .With(EnvironmentVariables.Catalog, "/a.json" + Path.PathSeparator + "/b.json");
        var options = ModelCacheOptions.FromEnvironment(environment);
        Assert.True(options.Offline);
        Assert.False(options.MirrorOnly);
        Assert.Equal(new[] { "http://127.0.0.1:1/a", "/srv/models" }, options.Mirrors);
        Assert.Equal(new[] { "/a.json", "/b.json" }, options.CatalogFiles);
        Assert.False(ModelCacheOptions.IsTrue("0"));
    }
}
