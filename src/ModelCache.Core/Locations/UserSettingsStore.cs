using System;
using System.IO;
using System.Threading;
using ModelCache.Configuration;
using ModelCache.Errors;
using ModelCache.Store;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace ModelCache.Locations;

/// <summary>
/// The per-user settings file (<c>settings.json</c> under the user's config directory). Written
/// under a lock file and through temp-then-rename so concurrent writers never corrupt it.
/// </summary>
public sealed class UserSettingsStore : ICacheRootSetting
{
    private const string CacheRootKey = "cacheRoot";

    public UserSettingsStore(string settingsFile)
    {
        SettingsFile = settingsFile;
    }

    public string SettingsFile { get; }

    public string Description => $"Set-ModelCacheLocation -Scope User ({SettingsFile})";

    /// <summary>The user's own ModelCache folder, holding settings.json and what ModelCache keeps outside cache roots.</summary>
    public string UserDirectory => Path.GetDirectoryName(SettingsFile)!;

    /// <summary>
    /// <c>%APPDATA%\ModelCache\settings.json</c> on Windows, <c>$XDG_CONFIG_HOME/modelcache/settings.json</c>
    /// (default <c>~/.config</c>) elsewhere.
    /// </summary>
    public static UserSettingsStore ForEnvironment(IEnvironment environment)
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

        return new UserSettingsStore(Path.Combine(directory, "settings.json"));
    }

    /// <summary>The persisted cache root, or null when none is set or the file is unreadable.</summary>
    public string? ReadCacheRoot()
    {
        try
        {
            if (!File.Exists(SettingsFile))
            {
                return null;
            }

            var value = JObject.Parse(File.ReadAllText(SettingsFile))[CacheRootKey];
            return value?.Type == JTokenType.String ? value.Value<string>() : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            // A damaged settings file must not stop every cmdlet; it falls through to the next level.
            return null;
        }
    }

    /// <summary>Persists <paramref name="cacheRoot"/>; null removes the setting.</summary>
    public void WriteCacheRoot(string? cacheRoot)
    {
        try
        {
            var directory = Path.GetDirectoryName(SettingsFile)!;
            Directory.CreateDirectory(directory);
            using var fileLock = FileLock.Acquire(SettingsFile + ".lock", TimeSpan.FromSeconds(10), CancellationToken.None);
            JObject settings;
            try
            {
                settings = File.Exists(SettingsFile) ? JObject.Parse(File.ReadAllText(SettingsFile)) : new JObject();
            }
            catch (JsonException)
            {
                settings = new JObject();
            }

            if (cacheRoot is null)
            {
                settings.Remove(CacheRootKey);
            }
            else
            {
                settings[CacheRootKey] = cacheRoot;
            }

            AtomicFile.WriteAllText(SettingsFile, settings.ToString(Formatting.Indented));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelCacheException("SettingsNotWritable", ModelCacheErrorKind.WriteError,
                $"Cannot write the ModelCache settings file '{SettingsFile}': {ex.Message}",
                "Check that the directory exists and is writable, or use -Scope Process.", ex);
        }
    }
}
