using System;
using System.IO;
using System.Threading;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.IO;
using ModelCache.Store;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Locations;

/// <summary>
/// A persisted settings file: the user's <c>settings.json</c>, or the machine-wide <c>config.json</c> (AllUsers).
/// One JSON object of independent keys (<c>cacheRoot</c>, and whatever else a feature keeps there); each write
/// changes one key under a lock file and through temp-then-rename, so concurrent writers never corrupt the file or
/// drop each other's keys. A damaged or unreadable file reads as empty: settings must never stop every cmdlet.
/// </summary>
public sealed class SettingsStore : ICacheRootSetting
{
    public const string CacheRootKey = "cacheRoot";

    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(10);

    public SettingsStore(string settingsFile, SettingsScope scope = SettingsScope.CurrentUser)
    {
        SettingsFile = settingsFile;
        Scope = scope;
    }

    public string SettingsFile { get; }

    public SettingsScope Scope { get; }

    public string Description => $"Set-ModelCacheLocation -Scope {Scope} ({SettingsFile})";

    /// <summary>The folder holding the file; for the user, their ModelCache folder, with what ModelCache keeps outside cache roots.</summary>
    public string UserDirectory => Path.GetDirectoryName(SettingsFile)!;

    /// <summary>
    /// <c>%APPDATA%\ModelCache\settings.json</c> on Windows, <c>$XDG_CONFIG_HOME/modelcache/settings.json</c>
    /// (default <c>~/.config</c>) elsewhere.
    /// </summary>
    public static SettingsStore ForUser(IEnvironment environment)
    {
        string directory;
        if (environment.IsWindows)
        {
            directory = Path.Combine(environment.ApplicationData ?? Path.Combine(environment.HomeDirectory, "AppData", "Roaming"), "ModelCache");
        }
        else
        {
            var xdg = environment.GetVariable(EnvironmentVariables.XdgConfigHome);
            var configHome = !string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg) ? xdg! : Path.Combine(environment.HomeDirectory, ".config");
            directory = Path.Combine(configHome, "modelcache");
        }

        return new SettingsStore(Path.Combine(directory, "settings.json"));
    }

    /// <summary>
    /// The machine-wide file: <c>$MODELCACHE_MACHINE_CONFIG</c> when set (so tests, and CI running as root, never touch
    /// the real one), else <c>%ProgramData%\ModelCache\config.json</c> on Windows and <c>/etc/modelcache/config.json</c> elsewhere.
    /// </summary>
    public static SettingsStore ForAllUsers(IEnvironment environment)
    {
        var overridden = environment.GetVariable(EnvironmentVariables.MachineConfig);
        if (!string.IsNullOrWhiteSpace(overridden) && Path.IsPathRooted(overridden))
        {
            return new SettingsStore(overridden!, SettingsScope.AllUsers);
        }

        var file = environment.IsWindows
            ? Path.Combine(environment.GetVariable("ProgramData") is { Length: > 0 } programData ? programData : @"C:\ProgramData", "ModelCache", "config.json")
            : "/etc/modelcache/config.json";
        return new SettingsStore(file, SettingsScope.AllUsers);
    }

    /// <summary>The file of <paramref name="scope"/>.</summary>
    public static SettingsStore For(SettingsScope scope, IEnvironment environment) =>
        scope == SettingsScope.AllUsers ? ForAllUsers(environment) : ForUser(environment);

    /// <summary>The persisted cache root, or null when none is set or the file is unreadable.</summary>
    public string? ReadCacheRoot() => Read(CacheRootKey) is { Type: JTokenType.String } value ? value.Value<string>() : null;

    /// <summary>Persists <paramref name="cacheRoot"/>; null removes the setting.</summary>
    public void WriteCacheRoot(string? cacheRoot) => Write(CacheRootKey, cacheRoot is null ? null : new JValue(cacheRoot));

    /// <summary>The value of <paramref name="key"/>, or null when absent or the file is missing, unreadable or damaged.</summary>
    public JToken? Read(string key)
    {
        try
        {
            return File.Exists(SettingsFile) ? JObject.Parse(RegularFile.ReadAllText(SettingsFile))[key] : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            // A damaged settings file must not stop every cmdlet; it falls through to the next level.
            return null;
        }
    }

    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/> (null removes it), leaving every other key as it was.</summary>
    /// <exception cref="ModelCacheException">SettingsNotWritable.</exception>
    public void Write(string key, JToken? value) => Update(settings =>
    {
        if (value is null)
        {
            settings.Remove(key);
        }
        else
        {
            settings[key] = value;
        }
    });

    /// <summary>Changes the settings object under the file's lock, then replaces the file atomically.</summary>
    /// <exception cref="ModelCacheException">SettingsNotWritable.</exception>
    public void Update(Action<JObject> change)
    {
        try
        {
            Directory.CreateDirectory(UserDirectory);
            using var fileLock = FileLock.Acquire(SettingsFile + ".lock", LockTimeout, CancellationToken.None);
            JObject settings;
            try
            {
                settings = File.Exists(SettingsFile) ? JObject.Parse(RegularFile.ReadAllText(SettingsFile)) : new JObject();
            }
            catch (JsonException)
            {
                settings = new JObject();
            }

            change(settings);
            AtomicFile.WriteAllText(SettingsFile, settings.ToString(Formatting.Indented));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("SettingsNotWritable", ModelCacheErrorKind.WriteError,
                $"Cannot write the ModelCache settings file '{SettingsFile}': {ex.Message}",
                Scope == SettingsScope.AllUsers
                    ? "The machine-wide file is written by administrators: run elevated (sudo / as Administrator), or use -Scope CurrentUser."
                    : "Check that the directory exists and is writable, or use -Scope Process.", ex);
        }
    }
}
