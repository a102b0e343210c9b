using System;
using System.Collections.Generic;
using System.IO;
using ModelCache.Configuration;

namespace ModelCache.Locations;

/// <summary>
/// Decides the cache root with tfimm-style precedence: explicit path &gt; process setting &gt; user
/// setting &gt; machine-wide (AllUsers) setting &gt; MODELCACHE_HOME &gt; $XDG_CACHE_HOME/modelcache &gt; platform default.
/// Settings come before the variable because they are made deliberately with Set-ModelCacheLocation, while the
/// variable is usually a deployment default; the user's own choice comes before the machine's.
/// </summary>
public sealed class CacheLocationResolver
{
    private readonly IEnvironment _environment;
    private readonly SettingsStore _userSettings;
    private readonly SettingsStore _machineSettings;
    private readonly string? _processRoot;
    private readonly IReadOnlyDictionary<string, string> _processModelLocations;

    /// <param name="processModelLocations">Per-model locations set for this process only (Family/Member → folder).</param>
    /// <param name="machineSettings">The AllUsers settings file; the environment's (see <see cref="SettingsStore.ForAllUsers"/>) when null.</param>
    public CacheLocationResolver(IEnvironment environment, SettingsStore userSettings, string? processRoot, SettingsStore? machineSettings = null,
        IReadOnlyDictionary<string, string>? processModelLocations = null)
    {
        _processModelLocations = processModelLocations ?? new Dictionary<string, string>();
        _environment = environment;
        _userSettings = userSettings;
        _processRoot = processRoot;
        _machineSettings = machineSettings ?? SettingsStore.ForAllUsers(environment);
    }

    public CacheLocation Resolve(string? explicitPath = null)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return new CacheLocation(Normalize(explicitPath!), CacheLocationSource.Parameter, "-CachePath parameter");
        }

        if (!string.IsNullOrWhiteSpace(_processRoot))
        {
            return new CacheLocation(Normalize(_processRoot!), CacheLocationSource.ProcessSetting, "Set-ModelCacheLocation -Scope Process");
        }

        var userRoot = _userSettings.ReadCacheRoot();
        if (!string.IsNullOrWhiteSpace(userRoot))
        {
            return new CacheLocation(Normalize(userRoot!), CacheLocationSource.UserSetting, $"Set-ModelCacheLocation -Scope CurrentUser ({_userSettings.SettingsFile})");
        }

        var machineRoot = _machineSettings.ReadCacheRoot();
        if (!string.IsNullOrWhiteSpace(machineRoot))
        {
            return new CacheLocation(Normalize(machineRoot!), CacheLocationSource.AllUsersSetting, $"Set-ModelCacheLocation -Scope AllUsers ({_machineSettings.SettingsFile})");
        }

        var home = _environment.GetVariable(EnvironmentVariables.Home);
        if (!string.IsNullOrWhiteSpace(home))
        {
            return new CacheLocation(Normalize(home!), CacheLocationSource.EnvironmentVariable, "$env:" + EnvironmentVariables.Home);
        }

        // The XDG spec says relative values are invalid and must be ignored.
        var xdg = _environment.GetVariable(EnvironmentVariables.XdgCacheHome);
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg))
        {
            return new CacheLocation(Path.Combine(Normalize(xdg!), "modelcache"), CacheLocationSource.XdgCacheHome, "$env:" + EnvironmentVariables.XdgCacheHome);
        }

        var platformDefault = _environment.IsWindows
            ? Path.Combine(_environment.LocalApplicationData ?? Path.Combine(_environment.HomeDirectory, "AppData", "Local"), "ModelCache")
            : Path.Combine(_environment.HomeDirectory, ".cache", "modelcache");
        return new CacheLocation(platformDefault, CacheLocationSource.PlatformDefault, "platform default");
    }

    /// <summary>
    /// Every model with a location of its own, each from the highest scope that sets it: process, then user, then
    /// machine (AllUsers). An explicit -CachePath overrides them all, so callers given one do not ask.
    /// </summary>
    public ModelLocations ResolveModelLocations()
    {
        var found = new List<CacheLocation>();
        void Add(IReadOnlyDictionary<string, string> map, CacheLocationSource source, string scope)
        {
            foreach (var pair in map)
            {
                if (ModelLocationSettings.IsModelName(pair.Key) && TryNormalize(pair.Value) is { } folder)
                {
                    found.Add(new CacheLocation(folder, source, $"Set-ModelCacheLocation -Name {pair.Key} -Scope {scope}", pair.Key));
                }
            }
        }

        Add(_processModelLocations, CacheLocationSource.ProcessSetting, "Process");
        Add(ModelLocationSettings.Read(_userSettings), CacheLocationSource.UserSetting, $"CurrentUser ({_userSettings.SettingsFile})");
        Add(ModelLocationSettings.Read(_machineSettings), CacheLocationSource.AllUsersSetting, $"AllUsers ({_machineSettings.SettingsFile})");
        return new ModelLocations(found);
    }

    private string? TryNormalize(string path)
    {
        try
        {
            var trimmed = path.Trim();
            return trimmed.Length > 0 && (Path.IsPathRooted(trimmed) || trimmed.StartsWith("~", StringComparison.Ordinal)) ? Normalize(trimmed) : null;
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return null; // A damaged setting falls through, like an unreadable settings file.
        }
    }

    private string Normalize(string path) => Normalize(path, _environment);

    /// <summary>A root as a setting or variable names it (<c>~</c> expanded), made absolute.</summary>
    internal static string Normalize(string path, IEnvironment environment)
    {
        var trimmed = path.Trim();
        if (trimmed == "~" || trimmed.StartsWith("~/", StringComparison.Ordinal) || trimmed.StartsWith("~\\", StringComparison.Ordinal))
        {
            trimmed = Path.Combine(environment.HomeDirectory, trimmed.Length > 2 ? trimmed.Substring(2) : string.Empty);
        }

        return Path.GetFullPath(trimmed);
    }
}
